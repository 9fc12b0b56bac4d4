from contextlib import contextmanager
from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestInstallmentPlanItems(CreditCollectionsCommon):
    """The items a plan reschedules are open items its customer owes in the
    plan's company and currency: the form offers those (a computed field built
    on account.move.line's owner of "open receivable item"), and an XML-RPC
    caller (record.with_user) is held to the same on create and on write.

    The customer owes 400.00 (due 20 days ago) and 100.00 (due in 10 days); a
    50.00 invoice is paid, a 70.00 one is a draft, a 30.00 one is disputed, a
    20.00 credit note is open; another customer owes 300.00 and the customer
    owes 200.00 in a second company."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor = cls._create_customer("Items Plan Debtor")
        cls.invoice = cls._create_invoice(cls.debtor, 400.0, days_overdue=20)
        cls.not_due = cls._create_invoice(cls.debtor, 100.0, days_overdue=-10)
        cls.paid = cls._create_invoice(cls.debtor, 50.0, days_overdue=5)
        cls._pay(cls.paid, 50.0)
        cls.draft = cls._create_invoice(cls.debtor, 70.0, days_overdue=5, post=False)
        cls.disputed = cls._create_invoice(cls.debtor, 30.0, days_overdue=5)
        cls._item(cls.disputed)._followup_exclude("Disputed by the customer")
        cls.refund = cls._create_invoice(cls.debtor, 20.0, move_type="out_refund")
        cls.other = cls._create_customer("Items Someone Else")
        cls.other_invoice = cls._create_invoice(cls.other, 300.0, days_overdue=20)
        cls.company_b = cls.setup_other_company(name="Plan Items Company B")["company"]
        cls.b_invoice = cls._create_invoice(
            cls.debtor, 200.0, days_overdue=20, company=cls.company_b
        )
        # A collector of both companies (who can read the second company's
        # items) and one of the first company alone.
        cls.collector.write({"company_ids": [Command.link(cls.company_b.id)]})
        cls.collector_a = cls._create_user(
            "items_collector_a", "credit_collections.group_credit_user"
        )

    @classmethod
    def _item(cls, move):
        return move.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def _plans(self, user=None):
        return (
            self.env["credit.installment.plan"]
            .with_user(user or self.collector)
            .with_company(self.company)
        )

    def _vals(self, items, **vals):
        return {
            "partner_id": self.debtor.id,
            "company_id": self.company.id,
            "source_line_ids": [Command.set(items.ids)],
            "installment_count": 3,
            "first_due_date": self.today + timedelta(days=30),
            **vals,
        }

    @contextmanager
    def _refused(self, exception, regex):
        """An RPC call refused: its transaction is rolled back (here, a savepoint),
        so what is read afterwards is what is stored."""
        with self.assertRaisesRegex(exception, regex), self.env.cr.savepoint():
            yield

    def _draft(self):
        return self._plans().create(self._vals(self._item(self.invoice)))

    # ------------------------------------------------------------------
    # What the form offers
    # ------------------------------------------------------------------

    def test_form_offers_the_open_items_the_customer_owes_in_the_plans_company(self):
        plan = self._plans().new(self._vals(self.env["account.move.line"]))
        # Not the paid, draft, disputed, credit note, other customer's nor other
        # company's items: 400.00 and 100.00.
        self.assertEqual(
            plan.allowed_source_line_ids._origin,
            self._item(self.invoice) | self._item(self.not_due),
        )
        self.assertEqual(
            plan.allowed_source_line_ids._origin.mapped("amount_residual"), [400.0, 100.0]
        )
        plan.disputed_confirmed = True
        self.assertEqual(
            plan.allowed_source_line_ids._origin,
            self._item(self.invoice) | self._item(self.disputed) | self._item(self.not_due),
        )

    def test_form_offers_only_items_in_the_plans_currency(self):
        currency = self.setup_other_currency("EUR")
        foreign = self._create_invoice(self.debtor, 90.0, days_overdue=5, currency=currency)
        plan = self._plans().new(self._vals(self.env["account.move.line"]))
        self.assertNotIn(self._item(foreign), plan.allowed_source_line_ids._origin)
        plan.currency_id = currency
        self.assertEqual(plan.allowed_source_line_ids._origin, self._item(foreign))

    def test_a_plan_no_longer_draft_offers_nothing(self):
        plan = self._draft()
        plan.action_compute_schedule()
        self.assertTrue(plan.allowed_source_line_ids)
        plan.action_propose()
        self.assertFalse(plan.allowed_source_line_ids)

    def test_the_form_offers_what_the_check_accepts(self):
        plan = self._plans().new(self._vals(self.env["account.move.line"]))
        offered = plan.allowed_source_line_ids._origin
        created = self._plans().create(self._vals(offered))
        self.assertEqual(created.source_line_ids, offered)
        created.action_compute_schedule()
        self.assertEqual(created.source_amount, 500.0)

    # ------------------------------------------------------------------
    # What an RPC call may put in a plan
    # ------------------------------------------------------------------

    def test_collector_cannot_put_another_customers_item_in_a_plan(self):
        with self._refused(ValidationError, "cannot mix customers"):
            self._plans().create(self._vals(self._item(self.other_invoice)))
        plan = self._draft()
        with self._refused(ValidationError, "cannot mix customers"):
            plan.write({"source_line_ids": [Command.link(self._item(self.other_invoice).id)]})
        # Nor by moving the plan to the other customer once its items are chosen.
        with self._refused(ValidationError, "cannot mix customers"):
            plan.write({"partner_id": self.other.id})
        self.assertRecordValues(
            plan, [{"partner_id": self.debtor.id, "source_line_ids": self._item(self.invoice).ids}]
        )

    def test_collector_cannot_put_a_paid_draft_or_income_line_in_a_plan(self):
        income = self.invoice.line_ids - self._item(self.invoice)
        refused = (self._item(self.paid), self._item(self.draft), income, self._item(self.refund))
        for lines in refused:
            with (
                self.subTest(lines=lines.ids),
                self._refused(ValidationError, "only open receivable amounts"),
            ):
                self._plans().create(self._vals(lines))
        plan = self._draft()
        for lines in refused:
            with (
                self.subTest(lines=lines.ids),
                self._refused(ValidationError, "only open receivable amounts"),
            ):
                plan.write({"source_line_ids": [Command.link(lines.id)]})
        self.assertEqual(plan.source_line_ids, self._item(self.invoice))

    def test_an_item_paid_after_it_was_chosen_cannot_be_scheduled(self):
        plan = self._draft()
        self._pay(self.invoice, 400.0)
        with self._refused(UserError, "only open receivable amounts"):
            plan.action_compute_schedule()

    def test_collector_cannot_put_another_companys_item_in_a_plan(self):
        item = self._item(self.b_invoice)
        for user in (self.collector, self.collector_a):
            with self.subTest(user=user.login):
                # Judged whatever the collector may read of the item.
                with self._refused(ValidationError, "cannot mix companies"):
                    self._plans(user).create(self._vals(item))
                plan = self._plans(user).create(self._vals(self._item(self.invoice)))
                with self._refused(ValidationError, "cannot mix companies"):
                    plan.write({"source_line_ids": [Command.link(item.id)]})
                self.assertEqual(plan.source_line_ids, self._item(self.invoice))

    def test_collector_cannot_put_a_disputed_item_in_a_plan_without_saying_so(self):
        with self._refused(ValidationError, "disputed"):
            self._plans().create(self._vals(self._item(self.disputed)))
        plan = self._draft()
        with self._refused(ValidationError, "disputed"):
            plan.write({"source_line_ids": [Command.link(self._item(self.disputed).id)]})
        plan.write(
            {
                "disputed_confirmed": True,
                "source_line_ids": [Command.link(self._item(self.disputed).id)],
            }
        )
        self.assertEqual(plan.source_line_ids, self._item(self.invoice) | self._item(self.disputed))
        # Untick it again and the disputed item has to go.
        with self._refused(ValidationError, "disputed"):
            plan.write({"disputed_confirmed": False})

    def test_salesperson_cannot_put_any_item_in_a_plan(self):
        with self.assertRaises(AccessError):
            self._plans(self.salesperson).create(self._vals(self._item(self.invoice)))
        plan = self._draft()
        with self.assertRaises(AccessError):
            plan.with_user(self.salesperson).write(
                {"source_line_ids": [Command.link(self._item(self.not_due).id)]}
            )
        self.assertEqual(plan.source_line_ids, self._item(self.invoice))
