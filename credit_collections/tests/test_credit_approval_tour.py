from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCreditApprovalTour(HttpCase):
    def test_salesperson_gets_blocked_order_approved_and_confirms_it(self):
        company = self.env.ref("base.main_company")
        company.write({"account_use_credit_limit": True, "credit_check_over_limit": True})
        salesperson = new_test_user(
            self.env, login="tour_salesperson", groups="sales_team.group_sale_salesman"
        )
        manager = new_test_user(
            self.env,
            login="tour_credit_manager",
            groups="sales_team.group_sale_salesman_all_leads,credit_collections.group_credit_manager",
        )
        company.credit_approver_id = manager
        customer = self.env["res.partner"].create({"name": "Tour Customer", "is_company": True})
        customer.write({"credit_limit": 1000.0, "use_partner_credit_limit": True})
        product = self.env["product.product"].create({"name": "Tour product", "taxes_id": []})
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "user_id": salesperson.id,
                "order_line": [
                    Command.create(
                        {
                            "product_id": product.id,
                            "price_unit": 1500.0,
                            "tax_id": [Command.clear()],
                        }
                    )
                ],
            }
        )
        url = f"/odoo/sale.order/{order.id}"

        self.start_tour(url, "credit_collections_blocked_order_tour", login="tour_salesperson")
        self.assertEqual(order.state, "draft")
        self.assertEqual(order.credit_approval_ids.state, "pending")
        self.assertEqual(
            order.credit_approval_ids.request_note, "Customer for ten years, pays on time"
        )

        self.start_tour(url, "credit_collections_approve_tour", login="tour_credit_manager")
        self.assertEqual(order.credit_approval_ids.state, "approved")

        self.start_tour(url, "credit_collections_confirm_approved_tour", login="tour_salesperson")
        self.assertEqual(order.state, "sale")
        self.assertIn("Credit exception approved", customer.message_ids.mapped("body")[0])

    def test_salesperson_first_day_with_a_held_order(self):
        """Issue 20 points 10 and 12, as the salesperson: Request Credit Approval
        asks why, the request shows the manager's fields read-only, and the
        customer's Overdue figure opens the items making it up."""
        company = self.env.ref("base.main_company")
        company.write({"account_use_credit_limit": True, "credit_check_over_limit": True})
        tz = self.env.user.tz or "UTC"
        salesperson = new_test_user(
            self.env,
            login="tour_first_day_salesperson",
            groups="sales_team.group_sale_salesman",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
            tz=tz,
        )
        manager = new_test_user(
            self.env,
            login="tour_first_day_manager",
            groups="credit_collections.group_credit_manager",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
            tz=tz,
        )
        company.credit_approver_id = manager
        customer = self.env["res.partner"].create(
            {"name": "First Day Customer", "is_company": True, "user_id": salesperson.id}
        )
        customer.write({"credit_limit": 1000.0, "use_partner_credit_limit": True})
        tax = self.env["account.tax"].create(
            {
                "name": "First Day VAT 15%",
                "amount": 15.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "company_id": company.id,
            }
        )
        today = fields.Date.context_today(salesperson)

        def invoice(untaxed, days_overdue):
            due = today - timedelta(days=days_overdue)
            move = self.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "company_id": company.id,
                    "invoice_date": min(due, today),
                    "invoice_date_due": due,
                    "invoice_payment_term_id": False,
                    "invoice_user_id": salesperson.id,
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "name": "Goods",
                                "price_unit": untaxed,
                                "tax_ids": [Command.set(tax.ids)],
                            }
                        )
                    ],
                }
            )
            move.action_post()
            return move

        # 4,000.00 + 15 % = 4,600.00, 1,000.00 paid: 3,600.00 left, 20 days overdue;
        # 1,000.00 + 15 % = 1,150.00, 10 days overdue; 575.00 not yet due.
        # Overdue 4,750.00 (the untaxed totals of the overdue invoices: 5,000.00).
        partly_paid = invoice(4000.0, 20)
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=partly_paid.ids
        ).create({"amount": 1000.0, "payment_date": today})._create_payments()
        invoice(1000.0, 10)
        invoice(500.0, -10)
        product = self.env["product.product"].create({"name": "Tour product", "taxes_id": []})
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "user_id": salesperson.id,
                "company_id": company.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 1500.0, "tax_id": []})
                ],
            }
        )
        self.start_tour(
            f"/odoo/sale.order/{order.id}",
            "credit_collections_approval_salesperson_tour",
            login="tour_first_day_salesperson",
        )
        self.assertRecordValues(
            order.credit_approval_ids,
            [
                {
                    "state": "pending",
                    "amount": 1500.0,
                    "requested_by_id": salesperson.id,
                    "request_note": "Ordered from us for ten years, always paid",
                }
            ],
        )
