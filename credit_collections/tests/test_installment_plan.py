from datetime import date, datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestInstallmentPlan(CreditCollectionsCommon):
    """A customer owes 600.00 (due 40 days ago) and 400.00 (due 20 days ago):
    1,000.00 rescheduled into 3 monthly installments of 333.33, 333.33 and
    333.34 (the rounding remainder on the last)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor = cls._create_customer("Plan Debtor")
        cls.older = cls._create_invoice(cls.debtor, 600.0, days_overdue=40)
        cls.newer = cls._create_invoice(cls.debtor, 400.0, days_overdue=20)

    def _receivable(self, moves):
        return moves.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def _plan(self, moves=None, user=None, **vals):
        moves = moves or (self.older | self.newer)
        plan = (
            self.env["credit.installment.plan"]
            .with_user(user or self.env.user)
            .create(
                {
                    "partner_id": self.debtor.id,
                    "source_line_ids": [Command.set(self._receivable(moves).ids)],
                    "installment_count": 3,
                    "first_due_date": self.today + timedelta(days=30),
                }
                | vals
            )
        )
        plan.action_compute_schedule()
        return plan

    def _active_plan(self, **vals):
        plan = self._plan(**vals)
        plan.action_activate()
        return plan

    def _pay_items(self, items, amount, on=None):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move.line", active_ids=items.ids)
            .create({"amount": amount, "payment_date": on or self.today, "group_payment": True})
            ._create_payments()
        )

    def _run_check(self):
        self.env["credit.installment.plan"]._cron_check_installment_plans()

    # ------------------------------------------------------------------
    # Schedule
    # ------------------------------------------------------------------

    def test_equal_installments_with_the_remainder_on_the_last(self):
        plan = self._plan()
        self.assertTrue(plan.name.startswith("PLAN/"))
        self.assertEqual(plan.amount_total, 1000.0)
        first = self.today + timedelta(days=30)
        self.assertEqual(plan.line_ids.mapped("amount"), [333.33, 333.33, 333.34])
        self.assertEqual(
            plan.line_ids.mapped("date_due"), plan._get_due_dates(3), "monthly from the first"
        )
        self.assertEqual(plan.line_ids[0].date_due, first)
        # A down payment of 100.00 due today, then 900.00 in 3 x 300.00.
        plan.down_payment_amount = 100.0
        plan.action_compute_schedule()
        self.assertEqual(plan.line_ids.mapped("amount"), [100.0, 300.0, 300.0, 300.0])
        self.assertEqual(plan.line_ids[0].date_due, self.today)

    @freeze_time("2026-01-10 12:00:00")
    def test_fee_and_interest_on_the_declining_balance(self):
        # 1,000.00 at 12 % a year over 10 Feb, 10 Mar and 10 Apr 2026, equal
        # parts of 333.33..., interest from today to each due date:
        #   1,000.00   x 12 % x 31 / 365 = 10.191781
        #     666.67   x 12 % x 28 / 365 =  6.137169
        #     333.33   x 12 % x 31 / 365 =  3.397260
        # 19.726210 -> 19.73; with a 30.00 fee the total is 1,049.73: 3 x 349.91.
        today = date(2026, 1, 10)
        debtor = self._create_customer("Plan Debtor 2026")
        invoices = self.env["account.move"]
        for amount, days in ((600.0, 40), (400.0, 20)):
            invoice = self.env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": debtor.id,
                    "invoice_date": today - timedelta(days=days),
                    "invoice_date_due": today - timedelta(days=days),
                    "invoice_payment_term_id": False,
                    "invoice_line_ids": [
                        Command.create({"name": "Goods", "price_unit": amount, "tax_ids": []})
                    ],
                }
            )
            invoice.action_post()
            invoices |= invoice
        self.debtor = debtor
        plan = self._plan(
            moves=invoices, first_due_date=date(2026, 2, 10), interest_rate=12.0, fee_amount=30.0
        )
        self.assertEqual(plan.interest_amount, 19.73)
        self.assertEqual(plan.amount_total, 1049.73)
        self.assertEqual(plan.line_ids.mapped("amount"), [349.91, 349.91, 349.91])
        self.assertEqual(
            plan.line_ids.mapped("date_due"),
            [date(2026, 2, 10), date(2026, 3, 10), date(2026, 4, 10)],
        )
        balance = self.debtor.credit
        plan.action_activate()
        charge = plan.charge_move_id
        self.assertRecordValues(
            charge, [{"amount_total": 49.73, "credit_charge_type": "plan", "state": "posted"}]
        )
        self.assertEqual(charge.payment_state, "paid", "rescheduled into the plan")
        self.debtor.invalidate_recordset()
        # The fee and interest are owed now, in the installments.
        self.assertAlmostEqual(self.debtor.credit, balance + 49.73, places=2)
        self.assertEqual(sum(plan.line_ids.move_line_id.mapped("amount_residual")), 1049.73)

    # ------------------------------------------------------------------
    # Accounting
    # ------------------------------------------------------------------

    def test_activation_clears_the_items_into_installments(self):
        balance = self.debtor.credit
        self.assertEqual(balance, 1000.0)
        plan = self._active_plan()
        move = plan.move_id
        self.assertRecordValues(plan, [{"state": "active", "date_activated": self.today}])
        self.assertEqual(move.state, "posted")
        self.assertEqual(move.journal_id.type, "general")
        self.assertEqual(sum(move.line_ids.mapped("debit")), 1000.0)
        self.assertEqual(sum(move.line_ids.mapped("credit")), 1000.0)
        self.debtor.invalidate_recordset()
        self.assertEqual(self.debtor.credit, balance, "the customer's balance is unchanged")
        for invoice in self.older | self.newer:
            self.assertTrue(self._receivable(invoice).reconciled)
            self.assertEqual(invoice.credit_rescheduled_plan_id, plan)
            self.assertIn(plan.name, invoice.message_ids[0].body)
        items = plan.line_ids.move_line_id
        self.assertRecordValues(
            items,
            [
                {
                    "name": f"Installment {index}/3 of {plan.name}",
                    "date_maturity": due,
                    "amount_residual": amount,
                    "account_id": self.debtor.property_account_receivable_id.id,
                    "partner_id": self.debtor.id,
                }
                for index, (due, amount) in enumerate(
                    zip(plan._get_due_dates(3), [333.33, 333.33, 333.34], strict=True), 1
                )
            ],
        )
        self.assertEqual(plan.line_ids.mapped("state"), ["open"] * 3)
        # Open receivable items like any other: the overdue hold sees none.
        self.assertEqual(self._credit(self.debtor).credit_overdue_amount, 0.0)

    def test_plans_activated_together_get_their_own_entries(self):
        other = self._create_customer("Second Plan Debtor")
        invoice = self._create_invoice(other, 500.0, days_overdue=10)
        first = self._plan()
        second = self._plan(moves=invoice, partner_id=other.id, installment_count=2)
        (first | second).action_activate()
        self.assertEqual((first | second).mapped("state"), ["active", "active"])
        self.assertNotEqual(first.move_id, second.move_id)
        self.assertEqual(second.move_id.line_ids.partner_id, other)
        self.assertEqual(second.line_ids.move_line_id.mapped("amount_residual"), [250.0, 250.0])
        self.assertTrue(self._receivable(invoice).reconciled)
        self.assertEqual(invoice.credit_rescheduled_plan_id, second)

    def test_foreign_currency_entry_is_exact_in_both_currencies(self):
        # 1,000.00 EUR at 2 EUR for 1 USD is 500.00 USD; the installments share
        # it: 166.66 + 166.66 + 166.68 USD (333.33 / 1,000 x 500 = 166.665 ->
        # 166.66 twice, the rest on the last).
        eur = self.setup_other_currency("EUR")
        older = self._create_invoice(self.debtor, 600.0, days_overdue=40, currency=eur)
        newer = self._create_invoice(self.debtor, 400.0, days_overdue=20, currency=eur)
        balance = self.debtor.credit
        plan = self._active_plan(moves=older | newer, currency_id=eur.id)
        self.assertEqual(plan.move_id.currency_id, eur)
        items = plan.line_ids.move_line_id
        self.assertEqual(items.mapped("amount_currency"), [333.33, 333.33, 333.34])
        self.assertEqual(items.mapped("balance"), [166.67, 166.67, 166.66])
        self.assertAlmostEqual(sum(plan.move_id.line_ids.mapped("balance")), 0.0, places=2)
        self.assertAlmostEqual(sum(plan.move_id.line_ids.mapped("amount_currency")), 0.0, places=2)
        self.assertTrue(all(self._receivable(older | newer).mapped("reconciled")))
        self.debtor.invalidate_recordset()
        self.assertEqual(self.debtor.credit, balance)

    def test_payments_in_order_partial_and_over_an_installment(self):
        plan = self._active_plan()
        first, second, third = plan.line_ids
        items = plan.line_ids.move_line_id
        # 100.00: the oldest installment first.
        self._pay_items(items, 100.0)
        self.assertEqual(first.amount_residual, 233.33)
        self.assertEqual(second.amount_residual, 333.33)
        # 400.00: the rest of the first (233.33), 166.67 of the second.
        self._pay_items(items.filtered(lambda item: not item.reconciled), 400.0)
        self.assertEqual((first.state, first.amount_residual), ("paid", 0.0))
        self.assertEqual(first.paid_date, self.today)
        self.assertEqual(second.amount_residual, 166.66)
        # Out of order: the third paid on its own.
        self._pay_items(third.move_line_id, 333.34)
        self.assertEqual(third.state, "paid")
        self._run_check()
        self.assertEqual(plan.state, "active")
        self._pay_items(second.move_line_id, 166.66)
        self._run_check()
        self.assertEqual(plan.state, "done")

    def test_a_payment_registered_on_the_plan_settles_the_oldest_installment_first(self):
        plan = self._active_plan()
        action = plan.action_register_payment()
        wizard = (
            self.env[action["res_model"]]
            .with_context(**action["context"])
            .create({"amount": 400.0, "payment_date": self.today, "group_payment": True})
        )
        wizard._create_payments()
        # 333.33 on the first, 66.67 on the second.
        self.assertEqual(plan.line_ids.mapped("amount_residual"), [0.0, 266.66, 333.34])
        self.assertEqual(plan.line_ids[0].state, "paid")

    def test_an_unpaid_installment_defaults_the_plan_and_holds_orders(self):
        self.company.credit_plan_default_days = 15
        plan = self._active_plan(first_due_date=self.today)
        later = self.today + timedelta(days=16)
        with freeze_time(datetime.combine(self.today + timedelta(days=15), time(12))):
            self._run_check()
        self.assertEqual(plan.state, "active", "15 days unpaid: not yet")
        with freeze_time(datetime.combine(later, time(12))):
            self._run_check()
            self.assertRecordValues(plan, [{"state": "defaulted", "date_defaulted": later}])
            self.assertTrue(plan.activity_ids)
            self.assertEqual(plan.activity_ids.user_id, plan.user_id)
            self.assertIn(plan.name, self.debtor.message_ids[0].body)
            # Without acceleration, the later installments keep their dates.
            self.assertEqual(plan.line_ids[1].move_line_id.date_maturity, plan.line_ids[1].date_due)
            order = self._create_order(self.debtor, 10.0)
            with self.assertRaises(UserError) as refusal:
                order.action_confirm()
            self.assertIn("Defaulted installment plan", str(refusal.exception))

    def test_acceleration_makes_everything_left_due_on_default(self):
        self.company.write({"credit_plan_default_days": 15, "credit_plan_acceleration": True})
        plan = self._active_plan(first_due_date=self.today)
        later = self.today + timedelta(days=16)
        with freeze_time(datetime.combine(later, time(12))):
            self._run_check()
        self.assertEqual(plan.state, "defaulted")
        self.assertEqual(
            plan.line_ids.move_line_id.mapped("date_maturity"), [self.today, later, later]
        )

    def test_cancelling_brings_the_unpaid_part_back_on_the_original_items(self):
        # 333.33 paid; 666.67 unpaid comes back against the newest sources first:
        # the 400.00 invoice in full (due 20 days ago), 266.67 of the 600.00 one
        # (due 40 days ago).
        self.assertEqual(self.debtor.credit, 1000.0)
        plan = self._active_plan()
        self._pay_items(plan.line_ids[0].move_line_id, 333.33)
        self.debtor.invalidate_recordset()
        after_payment = self.debtor.credit
        self.assertAlmostEqual(after_payment, 666.67, places=2)
        plan.action_cancel()
        self.assertEqual(plan.state, "cancelled")
        self.assertTrue(all(plan.line_ids.move_line_id.mapped("reconciled")))
        restored = plan.cancel_move_id.line_ids.filtered(lambda line: line.debit)
        self.assertRecordValues(
            restored.sorted("date_maturity"),
            [
                {"date_maturity": self.older.invoice_date_due, "amount_residual": 266.67},
                {"date_maturity": self.newer.invoice_date_due, "amount_residual": 400.0},
            ],
        )
        self.assertIn(self.older.name, restored.sorted("date_maturity")[0].name)
        logged = plan.message_ids.filtered(lambda message: "Cancelled:" in str(message.body))
        self.assertIn("666.67", str(logged.body), "the unpaid part, before the entry cleared it")
        self.debtor.invalidate_recordset()
        self.assertAlmostEqual(self.debtor.credit, after_payment, places=2)
        self.assertAlmostEqual(self._credit(self.debtor).credit_overdue_amount, 666.67, places=2)

    def test_cancelling_without_payments_brings_everything_back(self):
        plan = self._active_plan()
        plan.action_cancel()
        restored = plan.cancel_move_id.line_ids.filtered(lambda line: line.debit)
        self.assertEqual(sorted(restored.mapped("amount_residual")), [400.0, 600.0])
        with self.assertRaises(UserError):
            plan.action_cancel()

    def test_installments_count_in_the_exposure_unless_the_company_says_not(self):
        self._active_plan()
        self.assertEqual(self._credit(self.debtor).credit_exposure, 1000.0)
        self.company.credit_plan_count_in_exposure = False
        self.assertEqual(self._credit(self.debtor).credit_exposure, 0.0)

    def test_followups_remind_before_an_installment_and_chase_it_when_overdue(self):
        # The first installment due in 2 days: the reminder (3 days before) lists
        # it by its label; 10 days later it is 8 days overdue: the first reminder
        # (1 day after), on it alone, the later installments not due.
        self.company.email = self.company.email or "accounts@company.example.com"
        plan = self._active_plan(first_due_date=self.today + timedelta(days=2))
        first = plan.line_ids[0].move_line_id
        with freeze_time(datetime.combine(self.today, time(12))):
            self._run_followup_cron()
        history = self.env["credit.followup.history"].search([("partner_id", "=", self.debtor.id)])
        self.assertEqual(history.level_id.delay, -3)
        self.assertEqual(history.move_line_ids, first)
        self.assertIn(f"Installment 1/3 of {plan.name}", history.mail_message_id.body)
        with freeze_time(datetime.combine(self.today + timedelta(days=10), time(12))):
            self._run_followup_cron()
        history = self.env["credit.followup.history"].search(
            [("partner_id", "=", self.debtor.id)], order="id desc", limit=1
        )
        self.assertEqual(history.level_id.delay, 1)
        self.assertEqual(history.move_line_ids, first)

    def test_a_defaulted_plan_sends_its_customer_to_the_next_level_once(self):
        # Installment 1 due today. Day 16: 16 days overdue, the 15-day level.
        # Day 17: the plan defaults (16 days); with the option the 30-day level
        # is due at once, and only once: nothing more on day 18.
        self.company.write(
            {
                "email": self.company.email or "accounts@company.example.com",
                "credit_plan_default_days": 16,
                "credit_plan_default_escalates": True,
                # The level of the oldest item at once, so that day 16 is the
                # 15-day level.
                "credit_followup_start_mode": "oldest_item",
            }
        )
        plan = self._active_plan(first_due_date=self.today)
        Histories = self.env["credit.followup.history"]
        mine = [("partner_id", "=", self.debtor.id)]

        def run_on(day):
            with freeze_time(datetime.combine(self.today + timedelta(days=day), time(12))):
                self._run_check()
                self._run_followup_cron()

        run_on(16)
        self.assertEqual(Histories.search(mine, order="id desc", limit=1).level_id.delay, 15)
        self.assertEqual(plan.state, "active")
        run_on(17)
        self.assertEqual(plan.state, "defaulted")
        self.assertEqual(Histories.search(mine, order="id desc", limit=1).level_id.delay, 30)
        count = Histories.search_count(mine)
        run_on(18)
        self.assertEqual(Histories.search_count(mine), count)

    def test_late_interest_runs_on_an_overdue_installment(self):
        # Installment 1 (333.33) due today, unpaid 60 days later at 12 % a year:
        # 333.33 x 12 % x 60 / 365 = 6.575... -> 6.58. The invoices bear interest
        # until the plan settled them (today), not after.
        self.company.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": self.company_data["default_journal_sale"].id,
                "credit_interest_margin": 0.0,
            }
        )
        self.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        plan = self._active_plan(first_due_date=self.today)
        later = self.today + timedelta(days=60)
        with freeze_time(datetime.combine(later, time(12))):
            run = self.env["credit.interest.run"].create({"date": later})
            run.action_compute()
        on_installment = run.accrual_ids.filtered(
            lambda accrual: accrual.move_line_id == plan.line_ids[0].move_line_id
        )
        self.assertRecordValues(on_installment, [{"days": 60, "amount": 6.58}])
        on_invoices = run.accrual_ids.filtered(
            lambda accrual: accrual.move_id in self.older | self.newer
        )
        self.assertEqual(max(on_invoices.mapped("date_to")), self.today)

    # ------------------------------------------------------------------
    # Who may do what
    # ------------------------------------------------------------------

    def test_salespeople_see_no_plan(self):
        plan = self._plan()
        with self.assertRaises(AccessError):
            self.env["credit.installment.plan"].with_user(self.salesperson).search([])
        with self.assertRaises(AccessError):
            plan.with_user(self.salesperson).read(["name"])

    def test_collectors_draft_and_propose_credit_managers_activate(self):
        plan = self._plan(user=self.collector)
        plan.action_propose()
        self.assertEqual(plan.state, "proposed")
        with self.assertRaises(AccessError):
            plan.with_user(self.collector).action_activate()
        for field_name, value in (
            ("state", "active"),
            ("move_id", self.older.id),
            ("amount_total", 2000.0),
            ("source_amount", 2000.0),
            ("interest_amount", 5.0),
            ("signed_by", "Somebody"),
        ):
            with self.assertRaises(AccessError):
                plan.with_user(self.collector).write({field_name: value})
        plan.with_user(self.credit_manager).action_activate()
        self.assertEqual(plan.state, "active")
        with self.assertRaises(UserError):
            plan.with_user(self.collector).write({"installment_count": 4})
        # Nor its installments, whatever the call.
        installment = plan.line_ids[0].with_user(self.collector)
        with self.assertRaises(UserError):
            installment.write({"amount": 1.0})
        with self.assertRaises(UserError):
            installment.unlink()
        with self.assertRaises(UserError):
            installment.create({"plan_id": plan.id, "date_due": self.today, "amount": 5.0})
        with self.assertRaises(AccessError):
            plan.line_ids[1].with_user(self.credit_manager).write(
                {"move_line_id": self._receivable(self.older).id}
            )
        with self.assertRaises(UserError):
            plan.with_user(self.credit_manager).unlink()

    def test_collectors_activate_up_to_the_company_amount(self):
        self.company.credit_plan_collector_max_amount = 999.0
        plan = self._plan(user=self.collector)
        with self.assertRaises(AccessError):
            plan.with_user(self.collector).action_activate()
        self.company.credit_plan_collector_max_amount = 1000.0
        plan.with_user(self.collector).action_activate()
        self.assertEqual(plan.state, "active")

    # ------------------------------------------------------------------
    # Bad input
    # ------------------------------------------------------------------

    def test_bad_input_is_refused_and_nothing_is_posted(self):
        Plan = self.env["credit.installment.plan"]
        with self.assertRaisesRegex(ValidationError, "Installments"):
            self._plan(installment_count=0)
        with self.assertRaisesRegex(ValidationError, "Installments"):
            self._plan(installment_count=121)
        plan = Plan.create({"partner_id": self.debtor.id, "installment_count": 3})
        with self.assertRaisesRegex(UserError, "Rescheduled Items"):
            plan.action_compute_schedule()
        with self.assertRaisesRegex(UserError, "First Due Date"):
            self._plan(first_due_date=self.today - timedelta(days=1))
        with self.assertRaisesRegex(ValidationError, "Down Payment"):
            self._plan(down_payment_amount=1000.0)
        with self.assertRaisesRegex(ValidationError, "negative"):
            self._plan(fee_amount=-1.0)
        other = self._create_customer("Other Debtor")
        with self.assertRaisesRegex(ValidationError, "cannot mix customers"):
            self._plan(moves=self.older | self._create_invoice(other, 10.0, days_overdue=5))
        # Amounts edited by hand must add up.
        plan = self._plan()
        plan.line_ids[0].amount = 300.0
        with self.assertRaisesRegex(UserError, "add up to .*966.67"):
            plan.action_activate()
        self.assertFalse(plan.move_id)
        plan.action_compute_schedule()
        plan.action_activate()
        with self.assertRaisesRegex(UserError, "already activated"):
            plan.action_activate()
        with self.assertRaisesRegex(ValidationError, "already in plan"):
            self._plan()
        disputed = self._create_invoice(self.debtor, 50.0, days_overdue=5)
        self._receivable(disputed)._followup_exclude("Disputed by the customer")
        with self.assertRaisesRegex(ValidationError, "disputed"):
            self._plan(moves=disputed)
        self.assertEqual(self._plan(moves=disputed, disputed_confirmed=True).amount_total, 50.0)

    def test_a_paid_plan_cannot_be_cancelled(self):
        plan = self._active_plan()
        self._pay_items(plan.line_ids.move_line_id, 1000.0)
        self._run_check()
        self.assertEqual(plan.state, "done")
        with self.assertRaisesRegex(UserError, "cannot be cancelled"):
            plan.action_cancel()

    def test_started_from_an_invoice_or_the_customer(self):
        action = self.older.action_credit_installment_plan()
        self.assertEqual(action["res_model"], "credit.installment.plan")
        self.assertEqual(action["context"]["default_partner_id"], self.debtor.id)
        action = self.debtor.action_credit_installment_plan()
        sources = self.env["account.move.line"].browse(
            action["context"]["default_source_line_ids"][0][2]
        )
        self.assertEqual(sources.move_id, self.older | self.newer)
        with self.assertRaises(UserError):
            (
                self.older | self._create_invoice(self._create_customer("X"), 5.0, 5)
            ).action_credit_installment_plan()
