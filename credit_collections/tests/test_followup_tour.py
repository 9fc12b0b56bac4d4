from datetime import date, timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestFollowupTour(HttpCase):
    def test_collector_sends_reminder_and_records_promise(self):
        company = self.env.ref("base.main_company")
        company.email = company.email or "billing@company.example.com"
        company._credit_create_default_followup_policy()
        first = self.env["credit.followup.policy"]._get_company_default(company)._get_levels()[1]
        self.assertEqual(first.name, "First reminder")
        new_test_user(
            self.env,
            login="tour_collector",
            groups="account.group_account_invoice,credit_collections.group_credit_user",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )
        customer = self.env["res.partner"].create(
            {"name": "Tour Late Payer", "is_company": True, "email": "late.payer@example.com"}
        )
        today = fields.Date.context_today(customer)
        invoice = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_date": today - timedelta(days=35),
                    "invoice_date_due": today - timedelta(days=5),
                    "invoice_payment_term_id": False,
                    "invoice_line_ids": [
                        Command.create(
                            {"name": "Goods", "quantity": 1, "price_unit": 1234.56, "tax_ids": []}
                        )
                    ],
                }
            )
        )
        invoice.action_post()

        self.start_tour(
            f"/odoo/res.partner/{customer.id}",
            "credit_collections_followup_tour",
            login="tour_collector",
        )

        history = self.env["credit.followup.history"].search([("partner_id", "=", customer.id)])
        self.assertEqual(len(history), 1)
        self.assertEqual(
            (history.level_id, history.trigger, history.state), (first, "manual", "done")
        )
        self.assertEqual(history.user_id.login, "tour_collector")
        self.assertTrue(history.mail_message_id)
        self.assertIn(invoice.name, history.mail_message_id.body)
        self.assertEqual(history.move_line_ids.move_id, invoice)
        promise = self.env["credit.promise"].search([("partner_id", "=", customer.id)])
        self.assertEqual((promise.state, promise.amount), ("open", 600.0))
        # "In a week" as the browser counts it: in the machine's time zone, which
        # may be a day away from the user's near midnight.
        self.assertEqual(promise.promised_date, date.today() + timedelta(days=7))
        self.assertEqual(customer.with_company(company).followup_status, "promised")
