from datetime import date, datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestLateInterestMoves(CreditCollectionsCommon):
    """A day of an amount owed is charged once, whatever entries it moves
    through: an installment plan's entry and its cancellation, the reversal of
    either, a payment unreconciled. Worked out by hand at 12 % a year,
    actual/365, no grace days, on 10,000.00 due on day 0; "day n" is the n-th
    day after the due date."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": cls.company_data["default_journal_sale"].id,
                "credit_interest_grace_days": 0,
                "credit_interest_margin": 0.0,
                "credit_interest_reference": False,
            }
        )
        cls.rate = cls.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        cls.late_payer = cls._create_customer("Moving Late Payer")

    def _on(self, day):
        return freeze_time(datetime.combine(day, time(12)))

    def _run(self, on):
        run = self.env["credit.interest.run"].create({"date": on})
        run.action_invoice()
        return run

    def _charges(self, run):
        return sorted(
            (accrual.move_line_id.move_id.name, accrual.days, accrual.amount)
            for accrual in run.accrual_ids
        )

    def _receivable(self, move):
        return move.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def _activate_plan(self, invoice, on):
        with self._on(on):
            plan = self.env["credit.installment.plan"].create(
                {
                    "partner_id": self.late_payer.id,
                    "source_line_ids": [Command.set(self._receivable(invoice).ids)],
                    "installment_count": 3,
                    "first_due_date": on + timedelta(days=30),
                }
            )
            plan.action_compute_schedule()
            plan.action_activate()
        return plan

    def _cancel_plan(self, plan, on):
        with self._on(on):
            plan.action_cancel()
        return plan.cancel_move_id.line_ids.filtered(lambda line: line.debit)

    def _reverse(self, move, on):
        with self._on(on):
            self.env["account.move.reversal"].with_context(
                active_model="account.move", active_ids=move.ids
            ).create({"date": on, "journal_id": move.journal_id.id}).reverse_moves()

    def test_plan_activated_and_cancelled_the_day_of_a_run(self):
        # The figures, at 10.15 % (ECB 2.15 + 8): day 60, 60 days charged
        # on 10,000.00: 10,000 x 10.15 % x 60 / 365 = 166.849 -> 166.85. The same
        # day the plan is activated then cancelled: the restored item keeps the
        # due date of day 0 but its amount was charged up to day 60 on the
        # invoice. Ten days later 10 days are due: 10,000 x 10.15 % x 10 / 365 =
        # 27.808 -> 27.81 (it charged 70 days, 194.66, before).
        self.rate.rate = 10.15
        day0 = self.today - timedelta(days=70)
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=70)
        self.assertEqual(
            self._charges(self._run(day0 + timedelta(days=60))), [(invoice.name, 60, 166.85)]
        )
        plan = self._activate_plan(invoice, day0 + timedelta(days=60))
        restored = self._cancel_plan(plan, day0 + timedelta(days=60))
        self.assertEqual(restored.date_maturity, invoice.invoice_date_due)
        run = self._run(self.today)
        self.assertRecordValues(
            run.accrual_ids,
            [
                {
                    "move_line_id": restored.id,
                    "date_from": day0 + timedelta(days=61),
                    "days": 10,
                    "amount": 27.81,
                }
            ],
        )

    def test_plan_activated_then_cancelled_with_an_installment_overdue(self):
        # Day 60: 60 days on the invoice, 10,000 x 12 % x 60 / 365 = 197.260 -> 197.26.
        # Day 70: plan of 3 installments (3,333.33, 3,333.33, 3,333.34), the first
        #   due on day 100; the plan's entry settles the invoice on day 70.
        # Day 105: the invoice, settled on day 70, owes days 61-70:
        #   10,000 x 12 % x 10 / 365 = 32.876 -> 32.88; the first installment days
        #   101-105: 3,333.33 x 12 % x 5 / 365 = 5.479 -> 5.48.
        # Day 110: plan cancelled, 10,000.00 back on an item due on day 0.
        # Day 120: the first installment, settled on day 110 by the cancellation,
        #   owes days 106-110 (5.48); the restored item days 111-120 (32.88), not
        #   120 days (394.52): days 1-70 were the invoice's, 71-110 the plan's.
        day0 = self.today - timedelta(days=120)
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=120)
        self.assertEqual(
            self._charges(self._run(day0 + timedelta(days=60))), [(invoice.name, 60, 197.26)]
        )
        plan = self._activate_plan(invoice, day0 + timedelta(days=70))
        first = plan.line_ids.sorted("date_due")[0].move_line_id
        self.assertEqual(first.amount_residual, 3333.33)
        entry = plan.move_id.name
        self.assertEqual(
            self._charges(self._run(day0 + timedelta(days=105))),
            sorted([(invoice.name, 10, 32.88), (entry, 5, 5.48)]),
        )
        restored = self._cancel_plan(plan, day0 + timedelta(days=110))
        last = self._run(self.today)
        self.assertEqual(
            self._charges(last),
            sorted([(entry, 5, 5.48), (plan.cancel_move_id.name, 10, 32.88)]),
        )
        self.assertEqual(
            last.accrual_ids.filtered(lambda a: a.move_line_id == restored).date_from,
            day0 + timedelta(days=111),
        )
        self.assertFalse(self._run(self.today).accrual_ids, "nothing twice")

    def test_payment_unreconciled_charges_only_the_days_not_charged(self):
        # 10,000.00 paid in full on day 30. Day 60: 30 days, 10,000 x 12 % x 30 /
        # 365 = 98.630 -> 98.63 (days 31-60 owed nothing). The payment is then
        # unreconciled (it was another customer's) and taken off this customer
        # (cancelled here; left open, it would be an unapplied payment netted
        # against the invoice, which then owes nothing): the invoice is owed again.
        # Day 70: days 31-70, 40 days, 10,000 x 12 % x 40 / 365 = 131.506 ->
        # 131.51; days 1-30 are not charged again (70 days would be 230.14).
        day0 = self.today - timedelta(days=70)
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=70)
        payment = (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": 10000.0, "payment_date": day0 + timedelta(days=30)})
            ._create_payments()
        )
        self.assertEqual(
            self._charges(self._run(day0 + timedelta(days=60))), [(invoice.name, 30, 98.63)]
        )
        self._receivable(invoice).remove_move_reconcile()
        payment.action_draft()
        payment.action_cancel()
        self.assertEqual(invoice.amount_residual, 10000.0)
        run = self._run(self.today)
        self.assertRecordValues(
            run.accrual_ids,
            [{"date_from": day0 + timedelta(days=31), "days": 40, "amount": 131.51}],
        )
        self.assertFalse(self._run(self.today).accrual_ids)

    def test_reversed_plan_entry_gives_the_invoice_back_its_own_days(self):
        # Day 60: 60 days, 197.26; the plan is activated the same day. Day 70:
        # its entry is reversed (Odoo's Reverse, instead of cancelling the plan):
        # the invoice is open again, charged up to day 60; the installments
        # never held the amount. Day 80: the invoice owes days 61-80, 10,000 x
        # 12 % x 20 / 365 = 65.753 -> 65.75, and nothing else is charged.
        day0 = self.today - timedelta(days=80)
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=80)
        self._run(day0 + timedelta(days=60))
        plan = self._activate_plan(invoice, day0 + timedelta(days=60))
        self._reverse(plan.move_id, day0 + timedelta(days=70))
        self.assertEqual(invoice.amount_residual, 10000.0)
        self.assertEqual(self._charges(self._run(self.today)), [(invoice.name, 20, 65.75)])

    def test_reversed_cancellation_voids_the_restored_item(self):
        # Day 60: 60 days, 197.26; plan activated, first installment due day 90.
        # Day 65: plan cancelled, the restored item bears interest from day 66.
        # Day 70: it owes days 66-70, 10,000 x 12 % x 5 / 365 = 16.438 -> 16.44.
        # Day 72: the cancellation is reversed: the installments are owed again
        # (not yet due) and the restored item never was. Day 80: nothing (the
        # restored item settled by the reversal on day 72 would owe days 71-72,
        # 6.58, had it held the amount).
        day0 = self.today - timedelta(days=80)
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=80)
        self._run(day0 + timedelta(days=60))
        plan = self._activate_plan(invoice, day0 + timedelta(days=60))
        restored = self._cancel_plan(plan, day0 + timedelta(days=65))
        self.assertRecordValues(
            self._run(day0 + timedelta(days=70)).accrual_ids,
            [{"move_line_id": restored.id, "days": 5, "amount": 16.44}],
        )
        self._reverse(plan.cancel_move_id, day0 + timedelta(days=72))
        self.assertFalse(any(plan.line_ids.move_line_id.mapped("reconciled")))
        self.assertFalse(self._run(self.today).accrual_ids)
