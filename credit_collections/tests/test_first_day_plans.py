from datetime import date, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import format_date

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestInterestNothingToCharge(CreditCollectionsCommon):
    """A late interest run with nothing to charge says why, in a notification
    and its chatter, and closes as "Nothing to Charge", never "Invoiced"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": cls.company_data["default_journal_sale"].id,
            }
        )
        cls.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        cls.late_payer = cls._create_customer("Late Payer")
        cls.manager = cls.credit_manager

    def _new_run(self, on=None):
        return (
            self.env["credit.interest.run"]
            .with_user(self.manager)
            .create({"date": on or self.today})
        )

    def _say(self, text):
        return text.replace("DAY", format_date(self.env, self.today))

    def test_stale_preview_invoiced_after_a_later_run_says_every_day_is_charged(self):
        # The demo's stale preview: made yesterday, left, and a run invoiced today.
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        stale = self._new_run(on=self.today - timedelta(days=1))
        stale.action_compute()
        self.assertTrue(stale.accrual_ids)
        self._new_run().action_invoice()

        action = stale.action_invoice()

        expected = self._say(
            "Nothing to charge: every day up to DAY is already charged for these customers."
        )
        self.assertEqual(action["params"]["message"], expected)
        self.assertEqual(action["params"]["title"], "Nothing to charge")
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        self.assertEqual(stale.state, "nothing")
        self.assertEqual(
            dict(stale._fields["state"]._description_selection(self.env))[stale.state],
            "Nothing to Charge",
        )
        self.assertFalse(stale.invoice_ids)
        self.assertFalse(stale.accrual_ids)
        self.assertEqual(stale.nothing_reason, expected)
        self.assertIn(expected, stale.message_ids.mapped("preview")[0])
        self.assertIn("Closed without invoices.", stale.message_ids[0].preview)
        # Closed: it is no longer a preview to invoice.
        with self.assertRaisesRegex(Exception, "closed with nothing to charge"):
            stale.action_compute()

    def test_new_preview_for_today_says_nothing_is_left_to_charge(self):
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self._new_run().action_invoice()
        preview = self._new_run()
        action = preview.action_compute()
        expected = self._say(
            "Nothing to charge: every day up to DAY is already charged for these customers."
        )
        self.assertEqual(action["params"]["message"], expected)
        # Still a preview: the banner and the chatter say why, once.
        self.assertEqual(preview.state, "draft")
        self.assertEqual(preview.nothing_reason, expected)
        preview.action_compute()
        self.assertEqual(
            len(preview.message_ids.filtered(lambda message: expected in message.preview)), 1
        )

    def test_no_overdue_item_says_so(self):
        self._create_invoice(self.late_payer, 1000.0, days_overdue=-10)
        run = self._new_run()
        run.action_invoice()
        self.assertEqual(
            run.nothing_reason,
            self._say("Nothing to charge: no overdue item bears interest on DAY."),
        )
        self.assertEqual(run.state, "nothing")

    def test_grace_days_are_named(self):
        self.company.credit_interest_grace_days = 10
        self._create_invoice(self.late_payer, 1000.0, days_overdue=5)
        run = self._new_run()
        run.action_compute()
        self.assertEqual(
            run.nothing_reason,
            self._say(
                "Nothing to charge: no item is more than 10 days overdue on DAY (the grace "
                "days of the settings)."
            ),
        )

    def test_exempt_customer_and_excluded_item_are_named(self):
        self._create_invoice(self.late_payer, 1000.0, days_overdue=30)
        self.late_payer.with_company(self.company).credit_interest_exempt = True
        run = self._new_run()
        run.action_compute()
        self.assertEqual(
            run.nothing_reason,
            "Nothing to charge: exempt from late interest: Late Payer.",
        )
        self.late_payer.with_company(self.company).credit_interest_exempt = False
        other = self._create_customer("Excluded Payer")
        self._create_invoice(other, 1000.0, days_overdue=30)
        (self.late_payer | other).invoice_ids.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        ).write({"followup_excluded": True, "followup_exclusion_reason": "Disputed"})
        run.action_compute()
        self.assertEqual(
            run.nothing_reason,
            "Nothing to charge: overdue items excluded from follow-ups and interest: 2.",
        )

    def test_minimum_is_named_with_its_customers(self):
        # 1,000.00 x 12 % x 10 / 365 = 3.287... -> 3.29, below a minimum of 5.00.
        self.company.credit_interest_min_amount = 5.0
        self._create_invoice(self.late_payer, 1000.0, days_overdue=10)
        run = self._new_run()
        run.action_compute()
        self.assertEqual(
            run.nothing_reason,
            "Nothing to charge: the interest of Late Payer is below the minimum of $\xa05.00: "
            "their days wait for the next run.",
        )

    def test_a_run_that_charges_clears_the_reason_and_is_invoiced(self):
        run = self._new_run()
        run.action_compute()
        self.assertTrue(run.nothing_reason)
        # 10,000.00 x 12 % x 60 / 365 = 197.260... -> 197.26
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self.assertIs(run.action_invoice(), True)
        self.assertEqual((run.state, run.nothing_reason), ("done", False))
        self.assertEqual(run.invoice_ids.amount_total, 197.26)

    def test_collector_cannot_close_a_run(self):
        run = self._new_run()
        with self.assertRaises(AccessError):
            run.with_user(self.collector).action_invoice()
        self.assertEqual(run.state, "draft")

    def test_scheduled_run_with_nothing_to_charge_closes_once_for_the_month(self):
        self.company.credit_interest_run_day = 1
        cron = self.env.ref("credit_collections.ir_cron_accrue_late_interest")
        with freeze_time(self.today):
            cron.method_direct_trigger()
            cron.method_direct_trigger()
        runs = self.env["credit.interest.run"].search(
            [("company_id", "=", self.company.id), ("scheduled", "=", True)]
        )
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs.state, "nothing")
        self.assertEqual(
            runs.nothing_reason,
            self._say("Nothing to charge: no overdue item bears interest on DAY."),
        )


@tagged("post_install", "-at_install")
class TestPlanActionsAndFollowupStatus(CreditCollectionsCommon):
    """What a collector reads on a plan and on the customer once a plan takes
    the overdue items of a customer at "First reminder"."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor = cls._create_customer("Harbor Debtor")
        cls.invoice = cls._create_invoice(cls.debtor, 1000.0, days_overdue=5)

    def _plan(self, user=None, first_due=None):
        plan = (
            self.env["credit.installment.plan"]
            .with_user(user or self.credit_manager)
            .create(
                {
                    "partner_id": self.debtor.id,
                    "source_line_ids": [
                        Command.set(
                            self.invoice.line_ids.filtered(
                                lambda line: line.account_type == "asset_receivable"
                            ).ids
                        )
                    ],
                    "installment_count": 2,
                    "first_due_date": first_due or self.today + timedelta(days=30),
                }
            )
        )
        plan.action_compute_schedule()
        return plan

    def test_activate_is_offered_to_who_may_activate(self):
        plan = self._plan()
        self.assertTrue(plan.with_user(self.credit_manager).may_activate)
        as_collector = plan.with_user(self.collector)
        self.assertFalse(as_collector.may_activate)
        # The server refuses them too: a hidden button is no permission.
        with self.assertRaisesRegex(AccessError, "Only a credit manager can activate"):
            as_collector.action_activate()
        self.company.credit_plan_collector_max_amount = 1000.0
        plan.invalidate_recordset(["may_activate"])
        self.assertTrue(as_collector.may_activate)
        self.company.credit_plan_collector_max_amount = 999.0
        plan.invalidate_recordset(["may_activate"])
        self.assertFalse(as_collector.may_activate)

    def test_activate_and_cancel_buttons_follow_the_rule_in_the_form(self):
        arch = self.env["credit.installment.plan"].get_view(view_type="form")["arch"]
        self.assertIn("not may_activate", arch)
        self.assertIn("not id or state in ('done', 'cancelled')", arch)

    def test_customer_at_first_reminder_reads_nothing_due_once_rescheduled(self):
        self._run_followup_cron()
        partner = self.debtor.with_company(self.company)
        self.env.invalidate_all()
        self.assertEqual(partner.followup_level_id.name, "First reminder")
        self.assertEqual(partner.followup_status, "waiting")

        plan = self._plan()
        plan.action_activate()
        self.env.invalidate_all()

        # What the Follow-up tab reads: nothing due, no level, and the next
        # follow-up when the reminder before the first installment falls due.
        first_due = self.today + timedelta(days=30)
        self.assertEqual(partner.followup_status, "no_action")
        self.assertFalse(partner.followup_level_id)
        self.assertEqual(partner.followup_next_action_date, first_due - timedelta(days=3))
        self.assertEqual(partner.credit_overdue_amount, 0.0)
        listed = self.env["res.partner"].search(
            [("id", "=", self.debtor.id), ("followup_status", "=", "no_action")]
        )
        self.assertEqual(listed, self.debtor)
        # The follow-up run sends nothing more for the old episode...
        self._run_followup_cron()
        histories = self.env["credit.followup.history"].search(
            [("partner_id", "=", self.debtor.id)]
        )
        self.assertEqual(histories.level_id.mapped("name"), ["First reminder"])
        # ...and the installment gets its own ladder, from the reminder before
        # its due date.
        with freeze_time(first_due - timedelta(days=3)):
            self._run_followup_cron()
        histories = self.env["credit.followup.history"].search(
            [("partner_id", "=", self.debtor.id)], order="id"
        )
        self.assertEqual(
            histories.level_id.mapped("name"), ["First reminder", "Reminder before due date"]
        )

    def test_cancelled_plan_brings_the_overdue_back(self):
        self._run_followup_cron()
        plan = self._plan()
        plan.action_activate()
        plan.action_cancel()
        self.env.invalidate_all()
        partner = self.debtor.with_company(self.company)
        self.assertEqual(partner.credit_overdue_amount, 1000.0)
        self.assertNotEqual(partner.followup_status, "no_action")

    def test_next_follow_up_is_the_promise_date_while_a_promise_runs(self):
        promised = self.today + timedelta(days=7)
        self.env["credit.promise"].with_user(self.collector).create(
            {"partner_id": self.debtor.id, "amount": 1000.0, "promised_date": promised}
        )
        self.env.invalidate_all()
        partner = self.debtor.with_company(self.company)
        self.assertEqual(partner.followup_status, "promised")
        self.assertEqual(partner.followup_next_action_date, promised)
