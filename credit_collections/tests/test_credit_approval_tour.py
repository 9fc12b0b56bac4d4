from odoo import Command
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

        self.start_tour(url, "credit_collections_approve_tour", login="tour_credit_manager")
        self.assertEqual(order.credit_approval_ids.state, "approved")

        self.start_tour(url, "credit_collections_confirm_approved_tour", login="tour_salesperson")
        self.assertEqual(order.state, "sale")
        self.assertIn("Credit exception approved", customer.message_ids.mapped("body")[0])
