from datetime import timedelta

from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestPromiseItems(CreditCollectionsCommon):
    """The items a promise to pay names are open items of its customer in its
    company: the form offers those (a computed field, from the owner of "open
    receivable item"), and a collector calling over RPC is held to the same."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls._create_invoice(cls.customer, 400.0, days_overdue=20)
        cls.not_due = cls._create_invoice(cls.customer, 100.0, days_overdue=-10)
        cls.paid = cls._create_invoice(cls.customer, 50.0, days_overdue=5)
        cls._pay(cls.paid, 50.0)
        cls.draft = cls._create_invoice(cls.customer, 70.0, days_overdue=5, post=False)
        cls.other = cls._create_customer("Someone Else")
        cls.other_invoice = cls._create_invoice(cls.other, 300.0, days_overdue=20)
        cls.company_b = cls.setup_other_company(name="Promise Company B")["company"]
        cls.collector.write({"company_ids": [Command.link(cls.company_b.id)]})
        cls.b_invoice = cls._create_invoice(
            cls.customer, 200.0, days_overdue=20, company=cls.company_b
        )

    def _item(self, move):
        return move.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def _promises(self):
        return self.env["credit.promise"].with_user(self.collector).with_company(self.company)

    def _vals(self, items=None, **vals):
        return {
            "partner_id": self.customer.id,
            "company_id": self.company.id,
            "amount": 100.0,
            "promised_date": self.today + timedelta(days=7),
            "move_line_ids": [Command.set(items.ids if items else [])],
            **vals,
        }

    def test_form_offers_the_chased_open_items_of_the_customer_in_its_company(self):
        promise = self._promises().new(self._vals())
        self.assertEqual(
            promise.allowed_move_line_ids._origin,
            self._item(self.invoice) | self._item(self.not_due),
        )

    def test_collector_records_a_promise_on_open_items(self):
        items = self._item(self.invoice) | self._item(self.not_due)
        promise = self._promises().create(self._vals(items))
        self.assertEqual(promise.move_line_ids, items)
        self.assertEqual(promise.residual_at_promise, 500.0)

    def test_collector_cannot_attach_another_customers_item_over_rpc(self):
        with self.assertRaisesRegex(ValidationError, "not an open item of Credit Customer"):
            self._promises().create(self._vals(self._item(self.other_invoice)))
        promise = self._promises().create(self._vals(self._item(self.invoice)))
        with self.assertRaisesRegex(ValidationError, "not an open item"):
            promise.write({"move_line_ids": [Command.link(self._item(self.other_invoice).id)]})
        # (An RPC call that fails rolls its whole transaction back.)

    def test_collector_cannot_attach_an_item_of_another_company_over_rpc(self):
        with self.assertRaises(UserError):  # ValidationError, or the company check
            self._promises().create(self._vals(self._item(self.b_invoice)))
        promise = self._promises().create(self._vals(self._item(self.invoice)))
        with self.assertRaises(UserError):  # ValidationError, or the company check
            promise.write({"move_line_ids": [Command.link(self._item(self.b_invoice).id)]})

    def test_paid_draft_and_income_lines_are_refused(self):
        income = self.invoice.line_ids - self._item(self.invoice)
        for lines in (self._item(self.paid), self._item(self.draft), income):
            with self.subTest(lines=lines.ids), self.assertRaises(ValidationError):
                self._promises().create(self._vals(lines))

    def test_an_item_paid_since_does_not_block_later_edits(self):
        promise = self._promises().create(self._vals(self._item(self.invoice)))
        self._pay(self.invoice, 400.0)
        promise.write({"note": "Paid, it seems", "amount": 150.0})
        promise.write({"move_line_ids": [Command.link(self._item(self.not_due).id)]})
        self.assertEqual(promise.move_line_ids, self._item(self.invoice) | self._item(self.not_due))

    def test_without_items_the_promise_counts_the_overdue_chased_items(self):
        # Overdue chased items of the customer: 400.00 due 20 days ago; the 100.00
        # not yet due and the 50.00 paid do not count.
        promise = self._promises().create(self._vals())
        self.assertEqual(promise.residual_at_promise, 400.0)
