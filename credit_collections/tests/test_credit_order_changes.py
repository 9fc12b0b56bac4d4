"""A confirmed order engages the customer's credit as long as it lives: created
confirmed, or grown after its confirmation, it is checked as a confirmation is,
whatever the path (values, default_* keys, lines, the form), as the salesperson
who wants around the hold would call it over XML-RPC."""

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditOrderChanges(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.seller = cls._create_user("cc_changes_salesperson", "sales_team.group_sale_salesman")
        cls.manager = cls._create_user(
            "cc_changes_manager", "credit_collections.group_credit_manager"
        )
        cls.company.credit_approver_id = cls.manager
        # Credit Customer: 1,000.00 limit, nothing open.

    def _confirmed(self, amount, partner=None):
        order = self._create_order(partner or self.customer, amount, user=self.seller)
        order = order.with_user(self.seller)
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        return order

    def _refused(self, change, regex="cannot be changed"):
        """The change is refused, and nothing of it stays (an RPC call's transaction
        is rolled back on the refusal; a test's savepoint does the same)."""
        with self.assertRaisesRegex(UserError, regex), self.env.cr.savepoint():
            change()
        self.env.invalidate_all()

    def _line_vals(self, order, price, qty=1.0):
        return {
            "order_id": order.id,
            "product_id": self.product.id,
            "product_uom_qty": qty,
            "price_unit": price,
            "tax_id": [Command.clear()],
        }

    # Created confirmed
    def test_order_created_confirmed_is_checked(self):
        # 1,000,010.00 against a 1,000.00 limit, confirmed at creation.
        orders = self.env["sale.order"].with_user(self.seller)
        vals = {
            "partner_id": self.customer.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": self.product.id,
                        "price_unit": 1000010.0,
                        "tax_id": [Command.clear()],
                    }
                )
            ],
        }
        self._refused(lambda: orders.create(dict(vals, state="sale")), "cannot be confirmed")
        self._refused(
            lambda: orders.with_context(default_state="sale").create(vals), "cannot be confirmed"
        )
        self.assertFalse(orders.search([("partner_id", "=", self.customer.id)]))
        # Within the limit it is created confirmed as Odoo allows.
        small = dict(vals, order_line=[Command.create(self._line_vals(orders, 10.0))])
        small["order_line"][0][2].pop("order_id")
        order = orders.create(dict(small, state="sale"))
        self.assertEqual((order.state, order.amount_total), ("sale", 10.0))

    # Grown after confirmation
    def test_confirmed_order_raised_past_the_limit_is_refused_by_every_path(self):
        # Confirmed at 10.00 (exposure 10.00 <= 1,000.00); each change below makes
        # it 1,000,010.00, exposure 1,000,010.00 > 1,000.00: refused, unchanged.
        order = self._confirmed(10.0)
        line = order.order_line
        changes = {
            "price": lambda: line.write({"price_unit": 1000010.0}),
            "quantity": lambda: line.write({"product_uom_qty": 100001.0}),
            "order line command": lambda: order.write(
                {"order_line": [Command.create(self._line_vals(order, 1000000.0))]}
            ),
            "line create": lambda: (
                self.env["sale.order.line"]
                .with_user(self.seller)
                .create(self._line_vals(order, 1000000.0))
            ),
            "line create with default_order_id": lambda: (
                self.env["sale.order.line"]
                .with_user(self.seller)
                .with_context(default_order_id=order.id)
                .create(
                    {k: v for k, v in self._line_vals(order, 1000000.0).items() if k != "order_id"}
                )
            ),
        }
        for name, change in changes.items():
            with self.subTest(path=name):
                self._refused(change)
                self.assertEqual(order.amount_total, 10.0)

        # The form a salesperson edits.
        def edit_in_form():
            with Form(order) as form, form.order_line.edit(0) as edited:
                edited.price_unit = 1000010.0

        self._refused(edit_in_form, "Over credit limit")
        self.assertEqual(order.amount_total, 10.0)
        # Lowering it, or raising it within the limit (990.00), is fine.
        line.write({"price_unit": 990.0})
        self.assertEqual(order.amount_total, 990.0)

    def test_zeroing_a_negative_line_is_an_increase(self):
        # 1,000,010.00 - 1,000,000.00 = 10.00 confirmed; setting the credit line's
        # quantity to 0 (Odoo's way to remove a confirmed line) leaves 1,000,010.00.
        order = self._create_order(self.customer, 1000010.0, user=self.seller)
        order.write({"order_line": [Command.create(self._line_vals(order, -1000000.0))]})
        order = order.with_user(self.seller)
        order.action_confirm()
        credit_line = order.order_line.filtered(lambda line: line.price_unit < 0)
        self._refused(lambda: credit_line.write({"product_uom_qty": 0.0}))
        self.assertEqual(order.amount_total, 10.0)

    def test_approval_covers_a_confirmed_order_up_to_its_amount(self):
        # 800.00 open + 500.00 = 1,300.00 > 1,000.00: approved for 500.00.
        self._create_invoice(self.customer, 800.0)
        order = self._create_order(self.customer, 500.0, user=self.seller).with_user(self.seller)
        order.action_request_credit_approval()
        order.credit_approval_ids.with_user(self.manager).action_approve()
        order.action_confirm()
        # Raised to 10,000.00: 800.00 + 10,000.00 = 10,800.00, over the approved 500.00.
        self._refused(lambda: order.order_line.write({"price_unit": 10000.0}))
        self.assertEqual(order.amount_total, 500.0)
        # Lowered to 400.00 and back to 500.00: within the approval.
        order.order_line.write({"price_unit": 400.0})
        order.order_line.write({"price_unit": 500.0})
        # The approval path of a confirmed order: the salesperson asks, the credit
        # manager approves up to the new amount, the order grows up to it.
        order.invalidate_recordset()
        self.assertEqual(order.credit_status, "warning")
        order.action_request_credit_approval(note="The customer adds 9,500.00 of goods")
        request = order.credit_approval_ids.filtered(lambda r: r.state == "pending")
        self.assertEqual(request.amount, 500.0)
        request.with_user(self.manager).write({"amount": 10000.0})
        request.with_user(self.manager).action_approve()
        order.order_line.write({"price_unit": 10000.0})
        self.assertEqual(order.amount_total, 10000.0)
        self._refused(lambda: order.order_line.write({"price_unit": 10000.01}))

    def test_only_what_is_left_to_invoice_counts_for_a_confirmed_order(self):
        # 900.00 confirmed and invoiced: 900.00 receivable, 0.00 left to invoice.
        order = self._confirmed(900.0)
        order.sudo()._create_invoices().action_post()
        # A 50.00 line: 900.00 + 50.00 left to invoice = 950.00 <= 1,000.00.
        order.write({"order_line": [Command.create(self._line_vals(order, 50.0))]})
        self.assertEqual(order.amount_total, 950.0)
        # 60.00 more: 900.00 + 110.00 = 1,010.00 > 1,000.00, by 10.00.
        self._refused(
            lambda: order.write({"order_line": [Command.create(self._line_vals(order, 60.0))]}),
            r"exposure \$\s1,010\.00 exceeds the limit of \$\s1,000\.00",
        )

    def test_reassigning_a_confirmed_order_to_a_blocked_customer_is_checked(self):
        held = self._create_customer("Held Buyer", limit=100000.0)
        held.with_company(self.company).sudo().write({"credit_hold": True})
        order = self._confirmed(10.0)
        self._refused(lambda: order.write({"partner_invoice_id": held.id}), "Held Buyer is blocked")

    def test_currency_change_cancels_the_approval_for_good(self):
        gbp = self.setup_other_currency("GBP")
        self._create_invoice(self.customer, 800.0)
        order = self._create_order(self.customer, 500.0, user=self.seller).with_user(self.seller)
        usd_pricelist = order.pricelist_id
        order.action_request_credit_approval()
        request = order.credit_approval_ids
        request.with_user(self.manager).action_approve()
        gbp_pricelist = self.env["product.pricelist"].create({"name": "GBP", "currency_id": gbp.id})
        order.write({"pricelist_id": gbp_pricelist.id})
        self.assertEqual(order.currency_id, gbp)
        self.assertEqual(request.state, "cancelled")
        self.assertIn("currency", order.sudo().message_ids[0].body)
        self.assertIn("cancelled", request.sudo().message_ids[0].body)
        # Back in the approved currency: the approval does not come back.
        order.write({"pricelist_id": usd_pricelist.id})
        self.assertEqual(request.state, "cancelled")
        self._refused(order.action_confirm, "cannot be confirmed")

    # What the refusal says
    def test_refusal_names_the_ordering_customer_that_blocks(self):
        held = self._create_customer("Held Orderer", limit=100000.0)
        held.with_company(self.company).sudo().write({"credit_hold": True})
        payer = self._create_customer("Good Payer", limit=100000.0)
        order = self._create_order(held, 10.0, user=self.seller).with_user(self.seller)
        order.partner_invoice_id = payer
        with self.assertRaises(UserError) as refusal:
            order.action_confirm()
        headline = str(refusal.exception).splitlines()[0]
        self.assertIn("customer Held Orderer is blocked", headline)
        self.assertNotIn("Good Payer", headline)

    def test_request_works_with_a_validity_setting_beyond_the_bound(self):
        # A company validity of 1,000 days (typed before the settings were bounded):
        # the request is made, for the longest validity allowed (366 days).
        self.env.cr.execute(
            "UPDATE res_company SET credit_approval_validity_days = 1000 WHERE id = %s",
            [self.company.id],
        )
        self.company.invalidate_recordset()
        self._create_invoice(self.customer, 800.0)
        order = self._create_order(self.customer, 500.0, user=self.seller).with_user(self.seller)
        order.action_request_credit_approval()
        self.assertEqual(order.credit_approval_ids.validity_days, 366)

    # The salespeople an order has had
    def test_salespeople_so_far_are_the_systems_record(self):
        other = self._create_user("cc_changes_other", "sales_team.group_sale_salesman")
        orders = self.env["sale.order"].with_user(self.seller)
        # A forged list of salespeople in the context is refused by the guard of
        # system fields, like any other path.
        with self.assertRaises(AccessError):
            orders.with_context(default_credit_salesperson_ids=[Command.set(other.ids)]).create(
                {"partner_id": self.customer.id, "user_id": self.seller.id}
            )
        order = orders.create({"partner_id": self.customer.id, "user_id": self.seller.id})
        self.assertEqual(order.credit_salesperson_ids, self.seller)
        order.write({"user_id": other.id})
        order = order.with_user(other)
        self.assertEqual(order.credit_salesperson_ids, self.seller | other)
        with self.assertRaises(AccessError):
            order.write({"credit_salesperson_ids": [Command.unlink(self.seller.id)]})
        self.assertEqual(order.credit_salesperson_ids, self.seller | other)
        duplicate = order.copy()
        self.assertEqual(duplicate.credit_salesperson_ids, other)
