from datetime import date, timedelta

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestInputBounds(CreditCollectionsCommon):
    """Every number and date a person types in the settings, on customers, levels,
    promises and pauses is bounded where it is typed, with a message saying what
    is allowed: out-of-range values were accepted and broke later (every credit
    figure raised OverflowError, the follow-up run failed for every company)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._credit_create_default_followup_policy()
        cls.policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.far = date(9999, 12, 31)

    def _assert_refused(self, record, vals, *fragments):
        with self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
            record.write(vals)
            record.flush_recordset()
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))

    def test_company_day_counts_are_bounded_with_what_is_allowed(self):
        cases = [
            ("credit_hold_overdue_days", 1_000_000, "Hold After Overdue Days", "0 and 3650"),
            ("credit_hold_overdue_days", -1, "Hold After Overdue Days", None),
            ("credit_approval_validity_days", 1000, "Approval Validity (Days)", "0 and 366"),
            ("credit_review_notice_days", 10**7, "Credit Review Notice (Days)", "0 and 366"),
            ("credit_plan_default_days", 10**7, "Days Before Default", "0 and 366"),
        ]
        for field_name, value, label, allowed in cases:
            with self.subTest(field=field_name, value=value):
                fragments = [label, allowed] if allowed else [label]
                self._assert_refused(self.company, {field_name: value}, *fragments)
        # The bounds themselves are allowed.
        self.company.write(
            {
                "credit_hold_overdue_days": 3650,
                "credit_approval_validity_days": 366,
                "credit_review_notice_days": 366,
                "credit_plan_default_days": 0,
            }
        )
        # ... and every credit figure is computed with them.
        self._create_invoice(self.customer, 300.0, days_overdue=10)
        self.assertEqual(self._credit(self.customer).credit_overdue_amount, 300.0)

    def test_settings_warn_as_typed_and_refuse_on_save(self):
        Settings = self.env["res.config.settings"]
        typed = Settings.new({"credit_approval_validity_days": 1000})
        result = typed._onchange_credit_day_bounds()
        self.assertIn(
            "Approval Validity (Days) must be between 0 and 366", result["warning"]["message"]
        )
        self.assertIsNone(
            Settings.new({"credit_approval_validity_days": 30})._onchange_credit_day_bounds()
        )
        with self.assertRaises(ValidationError) as caught:
            Settings.create({"credit_approval_validity_days": 1000}).execute()
        self.assertIn("between 0 and 366", str(caught.exception))
        self.assertEqual(self.company.credit_approval_validity_days, 7)

    def test_customer_rules_and_dates_are_bounded(self):
        partner = self.customer.with_company(self.company)
        self._assert_refused(
            partner,
            {"credit_partner_overdue_days": 1_000_000},
            "Hold After Overdue Days (Customer) must be between 0 and 3650 days",
            "customer Credit Customer",
        )
        self._assert_refused(
            partner, {"credit_partner_limit_tolerance": 1000.0}, "between 0 and 100"
        )
        self._assert_refused(partner, {"credit_partner_overdue_limit": -1.0}, "cannot be negative")
        latest = self.today + timedelta(days=366)
        self._assert_refused(
            partner.sudo(),
            {"followup_paused_until": self.far},
            "Follow-ups Paused Until",
            "366 days",
        )
        self._assert_refused(
            partner, {"credit_review_date": self.far}, "Credit Review Date", "3650"
        )
        partner.sudo().followup_paused_until = latest
        partner.credit_review_date = self.today + timedelta(days=3650)

    def test_pause_until_year_9999_is_refused_with_the_latest_date(self):
        wizard = (
            self.env["credit.followup.pause.wizard"]
            .with_user(self.collector)
            .create({"partner_id": self.customer.id, "paused_until": self.far})
        )
        warning = wizard._onchange_paused_until()["warning"]["message"]
        self.assertIn("366 days at most", warning)
        with self.assertRaises(ValidationError) as caught:
            wizard.action_pause()
        self.assertIn("Follow-ups Paused Until", str(caught.exception))
        self.assertFalse(self.customer.with_company(self.company).followup_paused_until)

    def test_promise_until_year_9999_is_refused(self):
        Promise = self.env["credit.promise"].with_user(self.collector)
        with self.assertRaises(ValidationError) as caught:
            Promise.create(
                {"partner_id": self.customer.id, "amount": 100.0, "promised_date": self.far}
            )
        self.assertIn("too far ahead", str(caught.exception))
        self.assertIn("installment plan", str(caught.exception))
        promise = Promise.create(
            {
                "partner_id": self.customer.id,
                "amount": 100.0,
                "promised_date": self.today + timedelta(days=366),
            }
        )
        self._assert_refused(promise, {"promised_date": self.far}, "too far ahead")

    def test_level_delay_is_bounded_in_every_policy(self):
        unused = self.env["credit.followup.policy"].create(
            {"name": "Unused policy", "company_id": self.company.id}
        )
        Level = self.env["credit.followup.level"].with_user(self.credit_manager)
        for delay in (10**7, -(10**7), 3651, -367):
            with self.subTest(delay=delay), self.assertRaises(ValidationError) as caught:
                with self.env.cr.savepoint():
                    Level.create({"policy_id": unused.id, "name": "Far", "delay": delay})
            self.assertIn("between -366 days (before the due date) and 3650", str(caught.exception))
        level = Level.create({"policy_id": unused.id, "name": "Last", "delay": 3650})
        self.assertIn(
            "between -366", level.new({"delay": 10**7})._onchange_delay()["warning"]["message"]
        )

    def test_fee_products_cannot_be_removed_while_levels_and_plans_charge_fees(self):
        level = self.policy._get_levels()[1]
        level.fee_amount = 10.0
        self._assert_refused(
            self.company,
            {"credit_followup_fee_product_id": False},
            "Dunning Fee Product",
            f"{self.policy.name} / {level.name}",
        )
        level.fee_amount = 0.0
        self.company.credit_followup_fee_product_id = False

        invoice = self._create_invoice(self.customer, 600.0, days_overdue=40)
        plan = self.env["credit.installment.plan"].create(
            {
                "partner_id": self.customer.id,
                "source_line_ids": [
                    Command.set(
                        invoice.line_ids.filtered(
                            lambda line: line.account_type == "asset_receivable"
                        ).ids
                    )
                ],
                "installment_count": 3,
                "first_due_date": self.today + timedelta(days=30),
                "fee_amount": 25.0,
            }
        )
        self._assert_refused(
            self.company,
            {"credit_plan_fee_product_id": False},
            "Plan Fee Product",
            "for Credit Customer",
        )
        self.assertTrue(plan.fee_amount)
        plan.action_cancel()
        self.company.credit_plan_fee_product_id = False

    def test_follow_up_run_goes_on_after_a_company_whose_run_fails(self):
        """A level saved before the bounds (here written in SQL) with a delay of
        -10^7 days breaks its company's run: the companies after it are followed up."""
        main = self.env.ref("base.main_company")
        self.assertLess(main.id, self.company.id)
        # sudo: the main company is not one of the test user's.
        broken = (
            self.env["credit.followup.level"]
            .sudo()
            .create(
                {
                    "policy_id": self.env["credit.followup.policy"]
                    .sudo()
                    .create({"name": "Saved before the bounds", "company_id": main.id})
                    .id,
                    "name": "Far away",
                    "delay": 10,
                }
            )
        )
        self.env.cr.execute(
            "UPDATE credit_followup_level SET delay = -10000000 WHERE id = %s", [broken.id]
        )
        self.env.invalidate_all()
        self.customer.with_company(self.company).followup_responsible_id = self.collector
        self._create_invoice(self.customer, 500.0, days_overdue=20)
        with self.assertLogs(
            "odoo.addons.credit_collections.models.credit_batch_company_mixin"
        ) as logs:
            self._run_followup_cron()
        self.assertIn(
            f"credit.followup.engine: company {main.name} (id {main.id}) skipped until the "
            "next run",
            "\n".join(logs.output),
        )
        history = self.env["credit.followup.history"].search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertTrue(history, "The company after the broken one was followed up.")
