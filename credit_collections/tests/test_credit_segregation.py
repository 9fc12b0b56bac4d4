"""Segregation of duties rests on what the system recorded of the order (every
salesperson it has had, who created it, who asked for an approval), which the
interested credit manager cannot rewrite; and a credit manager without Sales
rights can still decide."""

from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditSegregation(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = cls._create_user("cc_sod_salesperson", "sales_team.group_sale_salesman")
        # A credit manager who also sells (Sales: all documents).
        cls.selling_manager = cls._create_user(
            "cc_sod_selling_manager",
            "sales_team.group_sale_salesman_all_leads,credit_collections.group_credit_manager",
        )
        cls.bare_manager = cls._create_user(
            "cc_sod_bare_manager", "credit_collections.group_credit_manager"
        )
        cls.company.credit_approver_id = cls.bare_manager
        # 800.00 open + a 500.00 order = 1,300.00 > 1,000.00: blocked.
        cls._create_invoice(cls.customer, 800.0)

    def _own_order_reassigned(self):
        """The selling manager's own order, handed to another salesperson."""
        order = self._create_order(self.customer, 500.0, user=self.selling_manager)
        order = order.with_user(self.selling_manager)
        order.write({"user_id": self.seller.id})
        self.assertEqual(order.user_id, self.seller)
        return order

    def test_reassigning_an_own_order_does_not_allow_overriding_it(self):
        order = self._own_order_reassigned()
        with self.assertRaisesRegex(UserError, "Segregation of duties"):
            order._credit_override_and_confirm("My customer, I know them")
        with self.assertRaisesRegex(UserError, "Segregation of duties"):
            wizard = Form(
                self.env["credit.override.wizard"]
                .with_user(self.selling_manager)
                .with_context(default_order_id=order.id)
            )
            wizard.reason = "Through the button"
            wizard.save().action_confirm()
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.sudo().credit_approval_ids)

    def test_reassigning_an_own_order_does_not_allow_approving_it(self):
        order = self._own_order_reassigned()
        # The new salesperson asks; the former one may not decide.
        order.with_user(self.seller).action_request_credit_approval()
        request = order.sudo().credit_approval_ids
        with self.assertRaisesRegex(UserError, "Segregation of duties"):
            request.with_user(self.selling_manager).action_approve()
        self.assertEqual(request.state, "pending")
        request.with_user(self.bare_manager).action_approve()
        self.assertEqual(request.approver_id, self.bare_manager)

    def test_manager_who_created_an_order_for_another_salesperson_cannot_override_it(self):
        order = (
            self.env["sale.order"]
            .with_user(self.selling_manager)
            .create({"partner_id": self.customer.id, "user_id": self.seller.id})
        )
        order.write(
            {
                "order_line": [
                    (0, 0, {"product_id": self.product.id, "price_unit": 500.0, "tax_id": [(5,)]})
                ]
            }
        )
        with self.assertRaisesRegex(UserError, "Segregation of duties"):
            order._credit_override_and_confirm("Created it for a colleague")

    def test_bare_credit_manager_confirms_despite_hold_through_the_salesperson(self):
        # The Credit Manager group alone: Odoo's read-only accounting role lets them
        # read the order, not confirm it.
        order = self._create_order(self.customer, 500.0, user=self.seller)
        wizard = Form(
            self.env["credit.override.wizard"]
            .with_user(self.bare_manager)
            .with_context(default_order_id=order.id)
        )
        self.assertIn("Over credit limit", wizard.credit_status_reasons)
        wizard.reason = "Parent company guarantee"
        result = wizard.save().action_confirm()
        self.assertEqual(result["tag"], "display_notification")
        self.assertIn("needs Sales rights", result["params"]["message"])
        self.assertIn(self.seller.name, result["params"]["message"])
        self.assertEqual(order.state, "draft")
        request = order.sudo().credit_approval_ids
        self.assertRecordValues(
            request,
            [
                {
                    "state": "approved",
                    "is_override": True,
                    "approver_id": self.bare_manager.id,
                    "amount": 500.0,
                }
            ],
        )
        activity = order.sudo().activity_ids.filtered(lambda a: a.user_id == self.seller)
        self.assertIn("overrode the credit hold", activity.note)
        # The salesperson confirms, up to the amount overridden.
        order.with_user(self.seller).action_confirm()
        self.assertEqual(order.state, "sale")
