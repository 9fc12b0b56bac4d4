from datetime import timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from odoo.addons.credit_collections.tests.common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestDeliveryCreditHold(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse_user = cls._create_user(
            "cc_warehouse", "stock.group_stock_user,sales_team.group_sale_salesman"
        )
        cls.stock_credit_manager = cls._create_user(
            "cc_stock_credit_manager",
            "stock.group_stock_user,credit_collections.group_credit_manager",
        )
        cls.company.credit_approver_id = cls.credit_manager
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )

    def _delivery(self, amount=500.0, customer=None):
        """A delivery of a sales order confirmed while its customer was in good standing."""
        order = self._create_order(customer or self.customer, amount, user=self.salesperson)
        order.with_user(self.salesperson).action_confirm()
        self.assertEqual(order.state, "sale")
        return order, order.picking_ids

    def _put_on_hold(self, customer=None):
        """An invoice 40 days overdue: over the limit and overdue for more than 30 days."""
        self._create_invoice(customer or self.customer, 800.0, days_overdue=40)

    def _order_refusal(self, customer=None):
        order = self._create_order(customer or self.customer, 10.0, user=self.salesperson)
        with self.assertRaises(UserError) as refusal:
            order.with_user(self.salesperson).action_confirm()
        return str(refusal.exception)

    def _validate(self, picking, user=None):
        return picking.with_user(user or self.warehouse_user).button_validate()

    def test_delivery_to_customer_on_hold_is_refused_with_the_order_reasons(self):
        _order, picking = self._delivery()
        self._put_on_hold()
        with self.assertRaises(UserError) as refusal:
            self._validate(picking)
        message = str(refusal.exception)
        self.assertIn(f"Delivery {picking.name} cannot be validated", message)
        self.assertIn("Credit Customer is blocked for credit", message)
        self.assertIn("Over credit limit", message)
        self.assertIn("Validate Despite Hold", message)
        # The overdue reason is the very one the confirmation of an order gives.
        overdue_reason = next(
            line for line in self._order_refusal().splitlines() if "Overdue:" in line
        )
        self.assertIn(overdue_reason, message.splitlines())
        self.assertNotEqual(picking.state, "done")
        picking.invalidate_recordset()
        self.assertTrue(picking.with_user(self.warehouse_user).credit_hold_blocked)
        self.assertIn(
            "Over credit limit", picking.with_user(self.warehouse_user).credit_hold_reasons
        )

    def test_delivery_refusal_names_only_actions_a_delivery_has(self):
        """A delivery has no "Request Credit Approval" and its order is confirmed
        already: its advice is to collect, and a credit manager's override."""
        _order, picking = self._delivery()
        self._put_on_hold()
        with self.assertRaises(UserError) as refusal:
            self._validate(picking)
        advice = str(refusal.exception).splitlines()[-1]
        # Over the limit and overdue: the advice of both rules, then the way out.
        self.assertEqual(
            advice,
            "What to do: get open invoices paid to free credit; collect the overdue "
            'invoices, or ask a credit manager to validate the delivery with "Validate '
            'Despite Hold".',
        )
        self.assertNotIn("Request Credit Approval", str(refusal.exception))
        self.assertNotIn("reduce the order", str(refusal.exception))
        # The order's own refusal still offers its approval.
        self.assertIn("Request Credit Approval", self._order_refusal())

    def test_manual_hold_blocks_delivery_with_its_reason(self):
        _order, picking = self._delivery(100.0)
        self.customer.with_user(self.credit_manager).write(
            {"credit_hold": True, "credit_hold_reason": "Bankruptcy filed"}
        )
        with self.assertRaisesRegex(UserError, "On credit hold: Bankruptcy filed"):
            self._validate(picking)
        self.customer.with_user(self.credit_manager).credit_hold = False
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_customer_in_good_standing_is_delivered(self):
        _order, picking = self._delivery(300.0)
        self.assertFalse(picking.with_user(self.warehouse_user).credit_hold_blocked)
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_delivery_of_approved_order_passes_while_the_approval_is_valid(self):
        self._put_on_hold()
        order = self._create_order(self.customer, 500.0, user=self.salesperson)
        order.with_user(self.salesperson).action_request_credit_approval()
        order.credit_approval_ids.with_user(self.credit_manager).action_approve()
        order.with_user(self.salesperson).action_confirm()
        picking = order.picking_ids
        # Ten days later the seven-day approval no longer covers the order.
        with freeze_time(self.today + timedelta(days=10)):
            with self.assertRaisesRegex(UserError, "cannot be validated"):
                self._validate(picking)
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_order_paid_online_in_full_is_held_by_a_manual_hold_only(self):
        order, picking = self._delivery()
        self._put_on_hold()
        provider = self.env["payment.provider"].search(
            [("code", "=", "none"), ("company_id", "=", self.company.id)], limit=1
        ) or self.env["payment.provider"].create({"name": "Test", "company_id": self.company.id})
        self.env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "amount": order.amount_total,
                "currency_id": order.currency_id.id,
                "partner_id": self.customer.id,
                "reference": f"CC-STOCK-{order.id}",
                "sale_order_ids": [Command.set(order.ids)],
                "state": "done",
            }
        )
        self.customer.with_user(self.credit_manager).write(
            {"credit_hold": True, "credit_hold_reason": "Bankruptcy filed"}
        )
        with self.assertRaises(UserError) as refusal:
            self._validate(picking)
        self.assertIn("On credit hold: Bankruptcy filed", str(refusal.exception))
        self.assertNotIn("Over credit limit", str(refusal.exception))
        self.customer.with_user(self.credit_manager).credit_hold = False
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_credit_manager_override_validates_and_is_logged(self):
        order, picking = self._delivery()
        self._put_on_hold()
        action = picking.with_user(self.stock_credit_manager).action_open_credit_override()
        wizard_form = Form(
            self.env[action["res_model"]]
            .with_user(self.stock_credit_manager)
            .with_context(**action["context"])
        )
        self.assertIn("Over credit limit", wizard_form.credit_hold_reasons)
        wizard_form.reason = "Paid by wire transfer this morning"
        wizard_form.save().action_validate()
        self.assertEqual(picking.state, "done")
        self.assertRecordValues(
            picking,
            [
                {
                    "credit_override_user_id": self.stock_credit_manager.id,
                    "credit_override_reason": "Paid by wire transfer this morning",
                }
            ],
        )
        for document in (picking, order, self.customer):
            self.assertTrue(
                any(
                    "Credit hold overridden by cc_stock_credit_manager" in message.body
                    and "Paid by wire transfer this morning" in message.body
                    for message in document.message_ids
                ),
                document,
            )

    def test_override_by_credit_manager_without_stock_rights_lets_warehouse_validate(self):
        _order, picking = self._delivery()
        self._put_on_hold()
        picking.with_user(self.credit_manager)._credit_override_and_validate("Guarantee received")
        self.assertNotEqual(picking.state, "done")
        self.assertFalse(picking.with_user(self.warehouse_user).credit_hold_blocked)
        self._validate(picking)
        self.assertEqual(picking.state, "done")

    def test_override_of_own_order_is_refused_under_segregation_of_duties(self):
        self.company.credit_segregation_of_duties = True
        order = self._create_order(self.customer, 500.0)
        order.write({"user_id": self.stock_credit_manager.id})
        order.action_confirm()
        self._put_on_hold()
        with self.assertRaisesRegex(UserError, "Segregation of duties"):
            order.picking_ids.with_user(self.stock_credit_manager)._credit_override_and_validate(
                "My own customer"
            )

    def test_warehouse_user_cannot_override(self):
        _order, picking = self._delivery()
        self._put_on_hold()
        with self.assertRaises(AccessError):
            picking.with_user(self.warehouse_user)._credit_override_and_validate("Trust me")
        with self.assertRaises(AccessError):
            self.env["credit.delivery.override.wizard"].with_user(self.warehouse_user).create(
                {"picking_id": picking.id, "reason": "Trust me"}
            )
        self.assertNotEqual(picking.state, "done")

    def test_hold_cannot_be_bypassed_over_rpc(self):
        _order, picking = self._delivery()
        self._put_on_hold()
        as_user = picking.with_user(self.warehouse_user)
        with self.assertRaises(UserError):
            as_user.with_context(
                bypass_risk=True,
                credit_delivery_check=True,
                skip_backorder=True,
                skip_sanity_check=True,
            ).button_validate()
        for field, value in (
            ("credit_override_user_id", self.warehouse_user.id),
            ("credit_override_reason", "Trust me"),
        ):
            with self.assertRaises(AccessError):
                as_user.write({field: value})
        with self.assertRaises(UserError):
            as_user.write({"state": "done"})
        with self.assertRaises(UserError):
            as_user.move_ids.write({"state": "done"})
        with self.assertRaises(UserError):
            self.env["stock.move"].with_user(self.warehouse_user).create(
                {
                    "name": "Extra",
                    "picking_id": picking.id,
                    "product_id": self.product.id,
                    "product_uom_qty": 1,
                    "location_id": picking.location_id.id,
                    "location_dest_id": picking.location_dest_id.id,
                    "state": "done",
                }
            )
        with self.assertRaises(AccessError):
            self.env["stock.picking"].with_user(self.warehouse_user).create(
                {
                    "picking_type_id": picking.picking_type_id.id,
                    "partner_id": self.customer.id,
                    "credit_override_user_id": self.warehouse_user.id,
                }
            )
        # A move line's status follows its move, never the other way round.
        as_user.move_ids.move_line_ids.write({"state": "done"})
        self.env.invalidate_all()
        self.assertNotEqual(picking.state, "done")
        self.assertTrue(all(move.state != "done" for move in picking.move_ids))

    def test_returns_and_internal_transfers_are_never_held(self):
        _order, picking = self._delivery()
        self._validate(picking)
        self._put_on_hold()
        return_wizard = Form(
            self.env["stock.return.picking"]
            .with_user(self.warehouse_user)
            .with_context(active_id=picking.id, active_model="stock.picking")
        ).save()
        return_wizard.product_return_moves.quantity = 1
        returned = return_wizard._create_return()
        self._validate(returned)
        self.assertEqual(returned.state, "done")
        internal = (
            self.env["stock.picking"]
            .with_user(self.warehouse_user)
            .create(
                {
                    "picking_type_id": self.warehouse.int_type_id.id,
                    "partner_id": self.customer.id,
                    "location_id": self.warehouse.lot_stock_id.id,
                    "location_dest_id": self.warehouse.lot_stock_id.id,
                    "move_ids": [
                        Command.create(
                            {
                                "name": "Move",
                                "product_id": self.product.id,
                                "product_uom_qty": 1,
                                "location_id": self.warehouse.lot_stock_id.id,
                                "location_dest_id": self.warehouse.lot_stock_id.id,
                            }
                        )
                    ],
                }
            )
        )
        internal.action_confirm()
        internal.move_ids.quantity = 1
        self._validate(internal)
        self.assertEqual(internal.state, "done")

    def test_hold_in_another_company_does_not_block(self):
        other_company = self.setup_other_company()["company"]
        self.customer.with_company(other_company).sudo().write(
            {"credit_hold": True, "credit_hold_reason": "Other company only"}
        )
        _order, picking = self._delivery(100.0)
        self._validate(picking)
        self.assertEqual(picking.state, "done")
