from datetime import datetime, time, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.credit_installment_plan_check import PLAN_LOCK_KEY
from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestInstallmentPlanCheck(CreditCollectionsCommon):
    """The daily plan check runs on credit.batch.mixin: batches in savepoints,
    a failing plan logged on its chatter and the others checked, progress
    reported, the next call resuming after the last plan done, a failing plan
    taken again at the next run (not in a loop), customers another transaction
    works on passed.

    Three customers each owe 300.00 (due 10 days ago), rescheduled into 3
    monthly installments of 100.00, the first due today; the company defaults
    a plan 15 days after an unpaid due date: on day 16 all three default."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_plan_default_days = 15
        # The batches hold these plans alone (not the demo's running plans).
        cls.env["credit.installment.plan"].search([("state", "in", ("active", "defaulted"))]).write(
            {"state": "cancelled"}
        )
        cls.plans = cls.env["credit.installment.plan"]
        for name in ("Check Debtor A", "Check Debtor B", "Check Debtor C"):
            debtor = cls._create_customer(name)
            invoice = cls._create_invoice(debtor, 300.0, days_overdue=10)
            plan = cls.env["credit.installment.plan"].create(
                {
                    "partner_id": debtor.id,
                    "source_line_ids": [
                        Command.set(
                            invoice.line_ids.filtered(
                                lambda line: line.account_type == "asset_receivable"
                            ).ids
                        )
                    ],
                    "installment_count": 3,
                    "first_due_date": cls.today,
                }
            )
            plan.action_compute_schedule()
            cls.plans |= plan
        cls.plans.action_activate()
        cls.day_16 = datetime.combine(cls.today + timedelta(days=16), time(12))

    def _progress(self):
        cron = self.env.ref("credit_collections.ir_cron_check_installment_plans")
        cron, progress = cron._add_progress()
        return cron.env.context["ir_cron_progress_id"], progress

    def _check(self, limit=None, progress_id=None):
        Plan = self.env["credit.installment.plan"]
        if progress_id:
            Plan = Plan.with_context(ir_cron_progress_id=progress_id)
        return Plan._cron_check_installment_plans(limit=limit)

    def _failing(self, bad):
        """Make the check fail on plan bad (a batch holding it fails as a whole)."""
        Plan = type(self.env["credit.installment.plan"])
        original = Plan._apply_state_changes

        def apply(model, changes, today):
            if bad.id in changes:
                raise ValueError("Broken plan")
            return original(model, changes, today)

        return patch.object(Plan, "_apply_state_changes", apply)

    def test_every_figure_of_the_plans_checked(self):
        self.assertEqual(
            [plan.line_ids.mapped("amount") for plan in self.plans], [[100.0, 100.0, 100.0]] * 3
        )
        with freeze_time(self.day_16):
            batch, remaining = self._check()
        self.assertEqual((batch, remaining), (self.plans, 0))
        self.assertEqual(self.plans.mapped("state"), ["defaulted"] * 3)
        self.assertEqual(self.plans.mapped("amount_residual"), [300.0] * 3)
        self.assertEqual(self.plans.mapped("date_defaulted"), [self.day_16.date()] * 3)

    def test_a_failing_plan_is_logged_and_the_others_are_checked_across_batches(self):
        first, bad, last = self.plans
        progress_id, progress = self._progress()
        with freeze_time(self.day_16), self._failing(bad):
            # Batch 1 (first, bad) fails as a whole, then plan by plan: first
            # defaults, bad is logged on its chatter.
            batch, remaining = self._check(limit=2, progress_id=progress_id)
            self.assertEqual(batch, first | bad)
            self.assertEqual((progress.done, progress.remaining), (2, 1))
            self.assertEqual(self.plans.mapped("state"), ["defaulted", "active", "active"])
            self.assertIn("Broken plan", bad.message_ids[0].body)
            self.assertIn("could not process", bad.message_ids[0].body)
            # Batch 2 resumes after bad, not with it again: last defaults, the run ends.
            batch, remaining = self._check(limit=2, progress_id=progress_id)
            self.assertEqual((batch, remaining), (last, 0))
            self.assertEqual(self.plans.mapped("state"), ["defaulted", "active", "defaulted"])
            self.assertEqual(self.env["credit.installment.plan"]._credit_batch_cursor(), 0)
            # Still failing at the next run: tried once more, and that run ends.
            batch, remaining = self._check(limit=2)
            self.assertEqual((batch, remaining), (bad, 0))
            self.assertEqual(bad.state, "active")
        failures = bad.message_ids.filtered(lambda message: "Broken plan" in message.body)
        self.assertEqual(len(failures), 2, "one message per run that failed on it")
        # Repaired, it is checked at the next run.
        with freeze_time(self.day_16):
            batch, remaining = self._check(limit=2)
        self.assertEqual((batch, remaining), (bad, 0))
        self.assertRecordValues(bad, [{"state": "defaulted", "date_defaulted": self.day_16.date()}])
        self.assertTrue(bad.activity_ids)

    def _queries_to_default(self, plans):
        """Queries of the check defaulting plans alone (rolled back afterwards)."""
        savepoint = self.env.cr.savepoint()
        try:
            # Out of the check without the ORM's side effects (the customer
            # states they would make stale), which are not the check's cost.
            self.env.cr.execute(
                SQL(
                    "UPDATE credit_installment_plan SET state = 'cancelled' WHERE id = ANY(%s)",
                    (self.plans - plans).ids,
                )
            )
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            with freeze_time(self.day_16):
                self._check()
                self.env.flush_all()
            count = self.env.cr.sql_log_count - before
            self.assertEqual(plans.mapped("state"), ["defaulted"] * len(plans))
        finally:
            savepoint.close(rollback=True)
            self.env.invalidate_all()
        return count

    def test_the_check_costs_as_many_queries_for_one_plan_as_for_three(self):
        with freeze_time(self.day_16 - timedelta(days=10)):
            # Nothing to change yet (and the caches warm).
            self.assertEqual(self._check(), (self.plans.browse(), 0))
            # The plans whose state changes today, and the run's cursor.
            with self.assertQueryCount(2):
                self._check()
        # Once for the caches of the registry (activity type, subtypes...), then
        # measured: one plan, then all three.
        self._queries_to_default(self.plans)
        self.assertEqual(
            self._queries_to_default(self.plans[:1]), self._queries_to_default(self.plans)
        )

    def test_the_check_never_commits(self):
        progress_id, _progress = self._progress()
        with freeze_time(self.day_16), patch.object(type(self.env.cr), "commit") as commit:
            self._check(limit=1, progress_id=progress_id)
            self._check(limit=1)
        commit.assert_not_called()

    def test_a_customer_another_transaction_works_on_is_passed_until_the_next_run(self):
        first, second, third = self.plans
        with self.env.registry.cursor() as cr:
            # A payment of the first customer's being booked in another worker.
            cr.execute(
                SQL("SELECT pg_advisory_xact_lock(%s, %s)", PLAN_LOCK_KEY, first.partner_id.id)
            )
            with freeze_time(self.day_16):
                batch, remaining = self._check()
            self.assertEqual((batch, remaining), (self.plans, 0))
            self.assertEqual(self.plans.mapped("state"), ["active", "defaulted", "defaulted"])
        with freeze_time(self.day_16):
            batch, remaining = self._check()
        self.assertEqual((batch, remaining), (first, 0))
        self.assertEqual(first.state, "defaulted")

    def test_default_activities_go_to_each_plans_collector(self):
        first, second, third = self.plans
        (first | second).user_id = self.collector
        third.user_id = self.credit_manager
        with freeze_time(self.day_16):
            self._check()
        for plan, user in (
            (first, self.collector),
            (second, self.collector),
            (third, self.credit_manager),
        ):
            activity = plan.activity_ids
            self.assertRecordValues(
                activity,
                [
                    {
                        "user_id": user.id,
                        "summary": "Installment plan defaulted",
                        "date_deadline": self.day_16.date(),
                        "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                    }
                ],
            )
            self.assertIn("unpaid 15 days after its due date", str(activity.note))
