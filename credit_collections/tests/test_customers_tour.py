from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCustomersTour(HttpCase):
    """Issue 20 points 13, 14 and 16 as the users see them: the credit manager's
    settings and Preview the Next Run; the collector's customers by overdue."""

    def _overdue_invoice(self, partner, amount, days):
        today = fields.Date.context_today(partner)
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": today - timedelta(days=days + 30),
                "invoice_date_due": today - timedelta(days=days),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Goods", "price_unit": amount, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        return invoice

    def test_manager_previews_and_starts_the_run_collector_sorts_by_overdue(self):
        company = self.env.ref("base.main_company")
        company.email = company.email or "billing@company.example.com"
        company._credit_create_default_followup_policy()
        company.credit_followup_paused = True

        def user(login, groups):
            return new_test_user(
                self.env,
                login=login,
                groups=groups,
                company_id=company.id,
                company_ids=[Command.set(company.ids)],
                tz=self.env.user.tz or "UTC",
            )

        manager = user(
            "tour_preview_manager",
            "base.group_system,account.group_account_manager,"
            "credit_collections.group_credit_manager",
        )
        collector = user(
            "tour_worklist_collector",
            "account.group_account_invoice,credit_collections.group_credit_user",
        )
        # Largest of the demo's overdue amounts: the first row of the preview.
        debtor = self.env["res.partner"].create(
            {"name": "Tour Preview Debtor", "is_company": True, "email": "debtor@example.com"}
        )
        self._overdue_invoice(debtor, 98765.43, 10)
        mine = {"followup_responsible_id": collector.id}
        big = self.env["res.partner"].create({"name": "Tour Big Debtor", "is_company": True})
        late = self.env["res.partner"].create({"name": "Tour Late Debtor", "is_company": True})
        other = self.env["res.partner"].create({"name": "Tour Other Debtor", "is_company": True})
        (big | late).with_company(company).write(mine)
        other.with_company(company).followup_responsible_id = manager
        self._overdue_invoice(big, 5000.0, 10)
        self._overdue_invoice(late, 800.0, 60)
        self._overdue_invoice(other, 9000.0, 30)

        histories = self.env["credit.followup.history"].search_count([])
        self.start_tour(
            "/odoo/action-credit_collections.action_credit_collections_config_settings",
            "credit_collections_preview_tour",
            login=manager.login,
        )
        self.assertFalse(company.credit_followup_paused)
        self.assertIn("Automatic follow-ups started by", company.partner_id.message_ids[0].body)
        # Nothing was sent by looking.
        self.assertEqual(self.env["credit.followup.history"].search_count([]), histories)

        self.start_tour(
            "/odoo/action-credit_collections.action_credit_my_customers",
            "credit_collections_my_customers_tour",
            login=collector.login,
        )
