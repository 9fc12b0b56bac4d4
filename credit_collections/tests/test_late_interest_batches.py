from datetime import date, datetime, time, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestLateInterestBatches(CreditCollectionsCommon):
    """The scheduled interest run on the batch runner (credit.batch.mixin): a
    batch of customers per call, a failing customer logged and skipped, a
    crashed call retried, a company set up wrong stopped alone. 12 % a year,
    actual/365, no grace: 10,000.00 due 60 days ago is 10,000.00 x 12 % x 60 /
    365 = 197.260... -> 197.26."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": cls.company_data["default_journal_sale"].id,
                "credit_interest_run_day": 1,
            }
        )
        cls.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        # The demo company may charge interest too: only this one here.
        cls.env["res.company"].search([("id", "!=", cls.company.id)]).write(
            {"credit_interest_enabled": False}
        )
        cls.payers = cls.env["res.partner"]
        for index in range(4):
            cls.payers |= cls._create_customer(f"Batch Late Payer {index}")
            cls._create_invoice(cls.payers[-1], 10000.0, days_overdue=60)
        cls.cron = cls.env.ref("credit_collections.ir_cron_accrue_late_interest")

    def _call(self, limit=2):
        """One call of the scheduled action, as the scheduler makes it.

        :return: its progress (done, remaining)
        """
        progress = self.cron._add_progress()[1]
        self.env["credit.interest.run"].with_context(
            ir_cron_progress_id=progress.id
        )._cron_accrue_late_interest(limit=limit)
        return progress.done, progress.remaining

    def _charged(self, run):
        return {
            invoice.partner_id: invoice.amount_total
            for invoice in run.invoice_ids.sorted(lambda invoice: invoice.partner_id.id)
        }

    def test_two_batches_a_failing_customer_and_a_crash_in_the_middle(self):
        first, failing, third, fourth = self.payers
        run_class = type(self.env["credit.interest.run"])
        prepare = run_class._prepare_invoice_vals

        def failing_for_one(run, partner, *args):
            if partner == failing:
                raise ValueError("No invoice address")
            return prepare(run, partner, *args)

        Run = self.env["credit.interest.run"]
        with freeze_time(datetime.combine(self.today, time(12))):
            # First batch (two customers): the second one fails alone, the batch
            # is charged one by one, the first charged, the failure on its chatter.
            with (
                patch.object(run_class, "_prepare_invoice_vals", failing_for_one),
                mute_logger("odoo.addons.credit_collections.models.credit_interest_run_schedule"),
            ):
                self.assertEqual(self._call(), (2, 1))
            run = Run.search([("company_id", "=", self.company.id)])
            self.assertEqual((run.state, run.cursor_partner_id), ("draft", failing.id))
            self.assertEqual(self._charged(run), {first: 197.26})
            self.assertIn("could not be charged", failing.message_ids[0].body)
            self.assertIn("No invoice address", failing.message_ids[0].body)
            # Second batch: the worker dies after charging (its transaction rolled
            # back): nothing of it kept, the run's cursor where it was.
            with (
                patch.object(
                    type(self.env["ir.cron"]),
                    "_notify_progress",
                    side_effect=RuntimeError("worker killed"),
                ),
                self.assertRaises(RuntimeError),
                self.env.cr.savepoint(),
            ):
                self._call()
            self.env.invalidate_all()
            self.assertEqual((run.state, run.cursor_partner_id), ("draft", failing.id))
            self.assertEqual(self._charged(run), {first: 197.26})
            # The next call retries that batch, and ends the run.
            self.assertEqual(self._call(), (2, 0))
            self.assertEqual(run.state, "done")
            self.assertEqual(self._charged(run), {first: 197.26, third: 197.26, fourth: 197.26})
            self.assertEqual(len(run.accrual_ids), 3, "each day once")
            # Nothing left this month: the scheduler stops calling.
            self.assertEqual(self._call(), (0, 0))
            # The failed customer's days waited: the next run charges them.
            rerun = Run.create({"date": self.today})
            rerun.action_invoice()
        self.assertEqual(self._charged(rerun), {failing: 197.26})

    def test_a_company_whose_setup_raises_anything_does_not_stop_the_next(self):
        # Company A's settings check fails with an error of no known kind (a
        # broken customization, a record deleted under a setting): A's run is
        # stopped for the day with the reason, B's run charges 10,000.00 x 6 % x
        # 60 / 365 = 98.630... -> 98.63 in the same calls.
        company_b = self.setup_other_company(name="Interest Batch Company B")["company"]
        self.env["credit.interest.rate"].create(
            {"name": "B rate", "company_id": company_b.id, "date_from": date(2000, 1, 1), "rate": 6}
        )
        company_b.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_run_day": 1,
                "credit_interest_journal_id": self.env["account.journal"]
                .search([("company_id", "=", company_b.id), ("type", "=", "sale")], limit=1)
                .id,
            }
        )
        self.env.user.company_ids |= company_b
        customer_b = self._create_customer("Company B Late Payer", company=company_b)
        self._create_invoice(customer_b, 10000.0, days_overdue=60, company=company_b)
        self.assertLess(self.company.id, company_b.id)
        company_class = type(self.env["res.company"])
        check = company_class._credit_interest_check_settings

        def broken_for_a(companies):
            if self.company in companies:
                raise KeyError("credit_interest_product_id")
            return check(companies)

        Run = self.env["credit.interest.run"]
        with (
            patch.object(company_class, "_credit_interest_check_settings", broken_for_a),
            freeze_time(datetime.combine(self.today, time(12))),
            mute_logger(
                "odoo.addons.credit_collections.models.credit_interest_run",
                "odoo.addons.credit_collections.models.credit_interest_run_schedule",
            ),
        ):
            self.assertEqual(self._call(limit=10), (0, 1), "A stopped, B still due")
            self.assertEqual(self._call(limit=10), (1, 0))
            self.assertEqual(self._call(limit=10), (0, 0), "A is not retried the same day")
        run_a = Run.search([("company_id", "=", self.company.id)])
        run_b = Run.search([("company_id", "=", company_b.id)])
        self.assertEqual((run_a.state, run_a.stopped_date), ("draft", self.today))
        self.assertIn("credit_interest_product_id", run_a.stop_reason)
        self.assertFalse(run_a.accrual_ids)
        self.assertEqual(run_b.state, "done")
        self.assertEqual(run_b.invoice_ids.amount_total, 98.63)
        # The next day, A's setup fixed, its run goes on from where it was.
        tomorrow = self.today + timedelta(days=1)
        if tomorrow.month == self.today.month:
            with freeze_time(datetime.combine(tomorrow, time(12))):
                self.assertEqual(self._call(limit=10), (4, 0))
            self.assertEqual(run_a.state, "done")
            self.assertEqual(len(run_a.invoice_ids), 4)

    def test_a_manual_run_leaves_nothing_half_done_while_another_charges(self):
        # Another transaction holds the lock of a customer of the run (another run
        # charging it now): the manual run refuses to invoice, asks to try again,
        # and invoices nothing.
        run = self.env["credit.interest.run"].create({"date": self.today})
        mixin_class = type(self.env["credit.batch.mixin"])
        lock = mixin_class._credit_try_lock_customers

        def held_by_another(mixin, partners, key):
            return lock(mixin, partners, key=key) - self.payers[0]

        with (
            patch.object(mixin_class, "_credit_try_lock_customers", held_by_another),
            self.assertRaisesRegex(UserError, "Another run is charging Batch Late Payer 0"),
        ):
            run.action_invoice()
        self.assertEqual(run.state, "draft")
        self.assertFalse(run.invoice_ids)
        # Held by no one: the run invoices every customer.
        run.action_invoice()
        self.assertEqual(run.state, "done")
        self.assertEqual(run.invoice_ids.partner_id, self.payers)
        self.assertEqual(set(run.accrual_ids.mapped("state")), {"invoiced"})

    def test_an_old_debt_booked_today_is_charged_from_its_due_date(self):
        # An opening balance imported today with its original due date, 60 days
        # ago: each item is valued at the end of its last day charged, but never
        # before the day it was booked, so it is charged as an invoice due then
        # would be: 10,000.00 x 12 % x 60 / 365 = 197.26; a second run the same
        # day charges nothing.
        customer = self._create_customer("Imported Late Payer")
        entry = self.env["account.move"].create(
            {
                "move_type": "entry",
                "date": self.today,
                "journal_id": self.company_data["default_journal_misc"].id,
                "line_ids": [
                    Command.create(
                        {
                            "name": "Opening balance",
                            "account_id": customer.property_account_receivable_id.id,
                            "partner_id": customer.id,
                            "debit": 10000.0,
                            "date_maturity": self.today - timedelta(days=60),
                        }
                    ),
                    Command.create(
                        {
                            "name": "Opening balance",
                            "account_id": self.company_data["default_account_revenue"].id,
                            "credit": 10000.0,
                        }
                    ),
                ],
            }
        )
        entry.action_post()
        Run = self.env["credit.interest.run"]
        run = Run.create({"date": self.today})
        run.action_invoice()
        self.assertRecordValues(
            run.accrual_ids.filtered(lambda accrual: accrual.partner_id == customer),
            [{"move_id": entry.id, "days": 60, "amount": 197.26}],
        )
        rerun = Run.create({"date": self.today})
        rerun.action_invoice()
        self.assertFalse(rerun.accrual_ids)
