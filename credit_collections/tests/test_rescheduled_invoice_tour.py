from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestRescheduledInvoiceTour(HttpCase):
    def test_customer_sees_a_rescheduled_invoice_and_its_plan_not_a_paid_one(self):
        # 900.00 due 30 days ago, rescheduled into 3 installments of 300.00.
        debtor = self.env["res.partner"].create(
            {"name": "Rescheduled Tour Debtor", "is_company": True, "email": "r@example.com"}
        )
        user = new_test_user(
            self.env,
            login="tour_rescheduled_customer",
            groups="base.group_portal",
            partner_id=self.env["res.partner"]
            .create(
                {"name": "Rescheduled Clerk", "parent_id": debtor.id, "email": "rc@example.com"}
            )
            .id,
        )
        user.tz = self.env.user.tz or "UTC"
        today = fields.Date.context_today(debtor)
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": debtor.id,
                "invoice_date": today - timedelta(days=30),
                "invoice_date_due": today - timedelta(days=30),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Goods", "price_unit": 900.0, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        plan = self.env["credit.installment.plan"].create(
            {
                "partner_id": debtor.id,
                "source_line_ids": [
                    Command.set(
                        invoice.line_ids.filtered(
                            lambda line: line.account_type == "asset_receivable"
                        ).ids
                    )
                ],
                "installment_count": 3,
                "first_due_date": today + timedelta(days=10),
            }
        )
        plan.action_compute_schedule()
        plan.action_activate()
        self.assertEqual(invoice.payment_state, "paid", "settled by the plan's entry")
        self.start_tour(
            "/my/invoices",
            "credit_collections_rescheduled_invoice_tour",
            login="tour_rescheduled_customer",
        )
        # The invoice the portal shows in its frame: rescheduled, not paid.
        self.authenticate("tour_rescheduled_customer", "tour_rescheduled_customer")
        document = self.url_open(invoice.get_portal_url(report_type="html")).text
        self.assertIn(f"Rescheduled into {plan.name} on", document)
        self.assertNotIn("Paid on", document)
