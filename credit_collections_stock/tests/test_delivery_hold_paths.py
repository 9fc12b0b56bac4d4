from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import Form, tagged

from odoo.addons.credit_collections.tests.common import CreditCollectionsCommon
from odoo.addons.credit_collections.tests.contact_screens import ContactScreensMixin


@tagged("post_install", "-at_install")
class TestDeliveryHoldPaths(ContactScreensMixin, CreditCollectionsCommon):
    """A held delivery leaves by no path an Inventory user has: the check rests on
    the sales order's customers, whatever the picking says. Every attempt is made
    as a bare Inventory user (stock.group_stock_user only), as over RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.stock_user = cls._create_user("cc_stock_user", "stock.group_stock_user")
        cls.warehouse = cls.env["stock.warehouse"].search(
            [("company_id", "=", cls.company.id)], limit=1
        )
        cls.transit = cls.env["stock.location"].create(
            {"name": "Transit", "usage": "transit", "company_id": cls.company.id}
        )
        cls.product.is_storable = True
        cls.env["stock.quant"]._update_available_quantity(
            cls.product, cls.warehouse.lot_stock_id, 100.0
        )

    def setUp(self):
        super().setUp()
        self.order = self._create_order(self.customer, 100.0, user=self.salesperson)
        self.order.order_line.product_uom_qty = 5
        self.order.with_user(self.salesperson).action_confirm()
        self.picking = self.order.picking_ids.with_user(self.stock_user)
        self.picking.action_assign()
        self.picking.move_ids.picked = True
        # Then the customer is put on hold: an invoice 40 days overdue, over the limit.
        self.overdue = self._create_invoice(self.customer, 800.0, days_overdue=40)

    def _assert_not_delivered(self):
        self.env.invalidate_all()
        self.assertTrue(all(move.state != "done" for move in self.order.picking_ids.move_ids))
        self.assertEqual(self.order.order_line.qty_delivered, 0.0)

    def _assert_refused(self, picking=None):
        with self.assertRaisesRegex(UserError, "cannot be validated"):
            (picking or self.picking).button_validate()
        self._assert_not_delivered()

    def test_clearing_the_partner_does_not_release_the_delivery(self):
        self.picking.partner_id = False
        self.assertTrue(self.picking.credit_hold_blocked)
        self._assert_refused()

    def test_destination_moved_to_transit_does_not_release_the_delivery(self):
        self.picking.write({"location_dest_id": self.transit.id, "partner_id": False})
        self.picking.move_ids.location_dest_id = self.transit
        self.picking.move_line_ids.location_dest_id = self.transit
        self._assert_refused()

    def test_changing_the_picking_type_does_not_release_the_delivery(self):
        self.picking.picking_type_id = self.warehouse.int_type_id
        self.picking.location_dest_id = self.env.ref("stock.stock_location_customers")
        self._assert_refused()

    def test_moves_moved_to_another_picking_stay_held(self):
        other = (
            self.env["stock.picking"]
            .with_user(self.stock_user)
            .create(
                {
                    "picking_type_id": self.warehouse.int_type_id.id,
                    "location_id": self.warehouse.lot_stock_id.id,
                    "location_dest_id": self.transit.id,
                }
            )
        )
        self.picking.move_ids.write({"picking_id": other.id})
        self.picking.move_line_ids.write({"picking_id": other.id})
        self.assertFalse(other.partner_id)
        self._assert_refused(other)

    def test_split_and_backorder_wizard_are_refused(self):
        self.picking.move_ids.quantity = 2
        with self.assertRaisesRegex(UserError, "cannot be validated"):
            self.picking.action_split_transfer()
            for picking in self.order.picking_ids.with_user(self.stock_user):
                picking.button_validate()
        self._assert_not_delivered()
        wizard = Form(
            self.env["stock.backorder.confirmation"]
            .with_user(self.stock_user)
            .with_context(
                button_validate_picking_ids=self.picking.ids,
                default_pick_ids=[Command.set(self.picking.ids)],
            )
        ).save()
        for process in (wizard.process, wizard.process_cancel_backorder):
            with self.assertRaisesRegex(UserError, "cannot be validated"):
                process()
        self._assert_not_delivered()

    def test_writing_state_or_date_done_is_refused(self):
        for vals in ({"state": "done"}, {"date_done": "2026-12-01 10:00:00"}):
            with self.assertRaisesRegex(UserError, "cannot be validated"):
                self.picking.write(vals)
        with self.assertRaisesRegex(UserError, "cannot be validated"):
            self.picking.move_ids.write({"state": "done"})
        self._assert_not_delivered()

    def test_detaching_the_moves_from_their_order_is_refused(self):
        with self.assertRaisesRegex(UserError, "cannot be validated"):
            self.picking.move_ids.write({"sale_line_id": False})
        self.assertEqual(self.picking.move_ids.sale_line_id, self.order.order_line)

    def test_delivery_passes_once_the_customer_is_in_good_standing(self):
        # The same bare Inventory user validates once nothing holds the customer.
        self.picking.partner_id = False
        self._pay(self.overdue, 800.0)
        self.assertFalse(self.picking.credit_hold_blocked)
        self.picking.button_validate()
        self.assertEqual(self.picking.state, "done")
        self.assertEqual(self.order.order_line.qty_delivered, 5.0)

    def test_delivery_from_the_vendor_of_the_order_is_not_held(self):
        # A dropshipment: goods the company never had in stock.
        supplier = self.env.ref("stock.stock_location_suppliers")
        customers = self.env.ref("stock.stock_location_customers")
        dropship = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "location_id": supplier.id,
                "location_dest_id": customers.id,
                "move_ids": [
                    Command.create(
                        {
                            "name": "Dropship",
                            "product_id": self.product.id,
                            "product_uom_qty": 1,
                            "location_id": supplier.id,
                            "location_dest_id": customers.id,
                            "sale_line_id": self.order.order_line.id,
                        }
                    )
                ],
            }
        )
        dropship.action_confirm()
        dropship.move_ids.write({"quantity": 1, "picked": True})
        self.assertFalse(dropship.with_user(self.stock_user).credit_hold_blocked)
        dropship.with_user(self.stock_user).button_validate()
        self.assertEqual(dropship.state, "done")
        self.assertTrue(self.picking.credit_hold_blocked, "the delivery from stock still is")

    def test_inventory_user_opens_the_customer_contact(self):
        arches, _toolbar = self._open_contact(self.customer, self.stock_user)
        self.assertIn("credit_status", self._addon_names_in(arches["form"]))
        self.assertNotIn("credit_approval_ids", self._addon_names_in(arches["form"]))
