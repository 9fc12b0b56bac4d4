from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestInstallmentPlanTour(HttpCase):
    def _overdue_invoice(self, partner, amount):
        today = fields.Date.context_today(partner)
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": today - timedelta(days=40),
                "invoice_date_due": today - timedelta(days=10),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Goods", "price_unit": amount, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        return invoice

    def test_credit_manager_turns_an_overdue_invoice_into_an_active_plan(self):
        company = self.env.ref("base.main_company")
        new_test_user(
            self.env,
            login="tour_plan_manager",
            groups="account.group_account_invoice,credit_collections.group_credit_manager",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )
        customer = self.env["res.partner"].create({"name": "Tour Plan Debtor", "is_company": True})
        invoice = self._overdue_invoice(customer, 1200.0)
        self.start_tour(
            f"/odoo/action-account.action_move_out_invoice_type/{invoice.id}",
            "credit_collections_plan_tour",
            login="tour_plan_manager",
        )
        plan = self.env["credit.installment.plan"].search([("partner_id", "=", customer.id)])
        self.assertEqual(plan.state, "active")
        self.assertEqual(plan.line_ids.mapped("amount"), [400.0, 400.0, 400.0])
        self.assertEqual(invoice.credit_rescheduled_plan_id, plan)
        self.assertEqual(plan.user_id.login, "tour_plan_manager")

    def test_customer_accepts_a_proposed_plan_in_the_portal(self):
        debtor = self.env["res.partner"].create(
            {"name": "Portal Tour Debtor", "is_company": True, "email": "d@example.com"}
        )
        new_test_user(
            self.env,
            login="tour_plan_customer",
            groups="base.group_portal",
            partner_id=self.env["res.partner"]
            .create({"name": "Debtor Clerk", "parent_id": debtor.id, "email": "dc@example.com"})
            .id,
        )
        invoice = self._overdue_invoice(debtor, 900.0)
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
                "first_due_date": fields.Date.context_today(debtor) + timedelta(days=10),
            }
        )
        plan.action_compute_schedule()
        plan.action_propose()
        self.start_tour(
            plan.get_portal_url(), "credit_collections_plan_portal_tour", login="tour_plan_customer"
        )
        self.assertRecordValues(plan, [{"state": "active", "signed_by": "Debtor Clerk"}])
