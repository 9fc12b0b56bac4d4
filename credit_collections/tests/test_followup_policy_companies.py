from odoo.tests import TransactionCase, new_test_user, tagged
from odoo.tools import convert_file


@tagged("post_install", "-at_install")
class TestFollowupPolicyCompanies(TransactionCase):
    """Every company has the default follow-up ladder, from the install on: the
    companies of the database when the addon is installed, and those created later,
    whoever creates them."""

    def _policies(self, companies):
        return (
            self.env["credit.followup.policy"]
            .with_context(active_test=False)
            .search([("company_id", "in", companies.ids)])
        )

    def _assert_default_policy(self, company):
        policy = self._policies(company)
        self.assertEqual(len(policy), 1, company.name)
        self.assertTrue(policy.is_default)
        self.assertEqual(
            policy.level_ids.mapped("delay"), [-3, 1, 15, 30, 60], "the five default levels"
        )

    def test_every_company_of_the_installed_database_has_a_default_policy(self):
        # bin/test installs on Odoo's demo data: two companies, San Francisco (the
        # main one, holding the demo customers) and Chicago.
        companies = self.env["res.company"].with_context(active_test=False).search([])
        for company in companies:
            self._assert_default_policy(company)
        main = self.env.ref("base.main_company")
        self.assertTrue(
            self.env["credit.followup.policy"]._get_company_default(main),
            "the main company follows up its customers",
        )

    def test_install_data_gives_a_policy_to_each_company_without_one(self):
        first = self.env["res.company"].create({"name": "Policy Co One"})
        second = self.env["res.company"].create({"name": "Policy Co Two"})
        kept = self.env["res.company"].create({"name": "Policy Co Kept"})
        # Two companies as an install before this fix left them; a third whose
        # credit manager archived its policy, a decision the install keeps.
        self._policies(first | second).unlink()
        archived = self._policies(kept)
        archived.active = False
        self.assertFalse(self._policies(first | second))
        # The data file of the install, loaded as at install: every company gets one
        # (the search value it had gave the first company only).
        convert_file(
            self.env,
            "credit_collections",
            "data/credit_followup_policy_data.xml",
            {},
            mode="init",
            noupdate=True,
        )
        self._assert_default_policy(first)
        self._assert_default_policy(second)
        self.assertEqual(self._policies(kept), archived, "no second policy for an archived one")

    def test_company_created_later_by_a_settings_manager_gets_a_default_policy(self):
        # An administrator of settings may create companies without any right on
        # follow-up policies: the ladder comes with the company all the same.
        admin = new_test_user(
            self.env,
            login="cc_settings_admin",
            groups="base.group_system,base.group_partner_manager",
        )
        company = self.env["res.company"].with_user(admin).create({"name": "Policy Co Later"})
        self._assert_default_policy(company)
        # Creating it again is idempotent.
        company._credit_create_default_followup_policy()
        self._assert_default_policy(company)
