from datetime import datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CreditCollectionsCommon

ACTIVATION = "credit_collections.mail_activity_credit_plan_activation"


@tagged("post_install", "-at_install")
class TestInstallmentPlanRoles(CreditCollectionsCommon):
    """Installment plans as each shipped role would use them, with only the
    groups the addon ships for that role, over the calls an XML-RPC client
    makes (record.with_user(user)).

    The customer owes 600.00 (due 40 days ago) and 400.00 (due 20 days ago):
    1,000.00 in 3 monthly installments of 333.33, 333.33 and 333.34."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.plan_collector = cls._create_user(
            "plan_collector", "credit_collections.group_credit_user"
        )
        cls.plan_billing = cls._create_user("plan_billing", "account.group_account_invoice")
        cls.plan_salesperson = cls._create_user(
            "plan_salesperson", "sales_team.group_sale_salesman"
        )
        cls.plan_manager = cls._create_user(
            "plan_credit_manager", "credit_collections.group_credit_manager"
        )
        cls.company.credit_approver_id = cls.plan_manager
        cls.debtor = cls._create_customer("Roles Plan Debtor")
        cls.older = cls._create_invoice(cls.debtor, 600.0, days_overdue=40)
        cls.newer = cls._create_invoice(cls.debtor, 400.0, days_overdue=20)

    def _receivable(self, moves):
        return moves.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def _plan(self, user=None, moves=None, **vals):
        plan = (
            self.env["credit.installment.plan"]
            .with_user(user or self.plan_collector)
            .create(
                {
                    "partner_id": self.debtor.id,
                    "source_line_ids": [
                        Command.set(self._receivable(moves or self.older | self.newer).ids)
                    ],
                    "installment_count": 3,
                    "first_due_date": self.today + timedelta(days=30),
                }
                | vals
            )
        )
        plan.action_compute_schedule()
        return plan

    def _pay_items(self, items, amount, on=None, user=None):
        return (
            self.env["account.payment.register"]
            .with_user(user or self.env.user)
            .with_context(active_model="account.move.line", active_ids=items.ids)
            .create({"amount": amount, "payment_date": on or self.today, "group_payment": True})
            ._create_payments()
        )

    def _activation_activities(self, plan):
        activity_type = self.env.ref(ACTIVATION)
        return plan.activity_ids.filtered(
            lambda activity: activity.activity_type_id == activity_type
        )

    # ------------------------------------------------------------------
    # Who may call what
    # ------------------------------------------------------------------

    def test_billing_user_reads_a_proposed_plan_but_cannot_draft_cancel_or_activate_it(self):
        plan = self._plan()
        plan.action_propose()
        as_billing = plan.with_user(self.plan_billing)
        self.assertEqual(as_billing.read(["state"])[0]["state"], "proposed", "read-only on plans")
        for action in ("action_draft", "action_cancel", "action_activate", "action_propose"):
            with self.subTest(action=action), self.assertRaises(AccessError):
                getattr(as_billing, action)()
        draft = self._plan()
        with self.assertRaises(AccessError):
            draft.with_user(self.plan_billing).action_compute_schedule()
        plan.invalidate_recordset()
        self.assertRecordValues(plan, [{"state": "proposed", "signed_by": False, "move_id": False}])
        self.assertTrue(plan.access_token, "the proposal emailed still stands")

    def test_salesperson_can_call_no_plan_action(self):
        plan = self._plan()
        as_salesperson = plan.with_user(self.plan_salesperson)
        for action in (
            "action_compute_schedule",
            "action_propose",
            "action_activate",
            "action_register_payment",
            "action_cancel",
        ):
            with self.subTest(action=action), self.assertRaises(AccessError):
                getattr(as_salesperson, action)()
        plan.action_propose()
        with self.assertRaises(AccessError):
            plan.with_user(self.plan_salesperson).action_draft()
        self.assertEqual(plan.state, "proposed")

    def test_cancelling_a_running_plan_over_the_cap_is_refused_as_a_cancellation(self):
        # Collectors activate (and so cancel) plans up to 500.00; this one is 1,000.00.
        self.company.credit_plan_collector_max_amount = 500.0
        plan = self._plan()
        plan.with_user(self.plan_manager).action_activate()
        with self.assertRaises(AccessError) as refusal:
            plan.with_user(self.plan_collector).action_cancel()
        message = str(refusal.exception)
        self.assertIn(f"cancel running plan {plan.name}", message)
        self.assertIn("Collectors may cancel running plans up to", message)
        self.assertIn("500.00", message)
        self.assertNotIn("activate", message)
        self.assertRecordValues(plan, [{"state": "active", "cancel_move_id": False}])
        # A bare credit manager cancels it: 1,000.00 is owed again on the invoices.
        plan.with_user(self.plan_manager).action_cancel()
        self.assertEqual(plan.state, "cancelled")
        self.assertEqual(
            sorted(plan.cancel_move_id.line_ids.filtered("debit").mapped("debit")), [400.0, 600.0]
        )

    def test_collector_cancels_a_proposal_and_activation_is_refused_saying_activate(self):
        plan = self._plan()
        with self.assertRaisesRegex(AccessError, "Only a credit manager can activate plan"):
            plan.action_activate()
        plan.action_propose()
        plan.action_cancel()
        self.assertEqual(plan.state, "cancelled")
        self.assertFalse(plan.move_id)

    def test_only_invoicing_users_register_a_payment_and_a_collector_is_told_who_can(self):
        plan = self._plan(user=self.plan_manager)
        plan.action_activate()
        with self.assertRaises(AccessError) as refusal:
            plan.with_user(self.plan_collector).action_register_payment()
        self.assertIn("needs Invoicing rights", str(refusal.exception))
        self.assertIn("paid online", str(refusal.exception))
        # A billing user, read-only on plans, books it: 400.00 settles the first
        # installment (333.33) and 66.67 of the second (333.33 -> 266.66).
        as_billing = plan.with_user(self.plan_billing)
        action = as_billing.action_register_payment()
        (
            self.env[action["res_model"]]
            .with_user(self.plan_billing)
            .with_context(**action["context"])
            .create({"amount": 400.0, "payment_date": self.today, "group_payment": True})
            ._create_payments()
        )
        self.assertEqual(plan.line_ids.mapped("amount_residual"), [0.0, 266.66, 333.34])

    # ------------------------------------------------------------------
    # A proposal is what the customer signs
    # ------------------------------------------------------------------

    def test_a_proposed_plan_schedule_is_frozen_until_back_to_draft(self):
        plan = self._plan()
        plan.action_propose()
        self.assertEqual(plan.proposed_by_id, self.plan_collector)
        token = plan.access_token
        for vals in (
            {"fee_amount": 50.0},
            {"installment_count": 4},
            {"first_due_date": self.today + timedelta(days=60)},
            {"down_payment_amount": 100.0},
            {"interest_rate": 5.0},
            {"frequency": "weekly"},
            {"line_ids": [Command.update(plan.line_ids[0].id, {"amount": 1.0})]},
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(UserError, "back to draft"):
                plan.write(vals)
        first = plan.line_ids[0]
        for change in (
            lambda: first.write({"amount": 1.0}),
            lambda: first.write({"date_due": self.today + timedelta(days=90)}),
            lambda: first.unlink(),
            lambda: first.create({"plan_id": plan.id, "date_due": self.today, "amount": 5.0}),
        ):
            # assertRaises (not ...Regex) rolls the refused call back, as RPC does.
            with self.assertRaises(UserError) as refusal:
                change()
            self.assertIn("back to draft", str(refusal.exception))
        with self.assertRaisesRegex(UserError, "only a draft plan's schedule"):
            plan.action_compute_schedule()
        self.assertEqual(plan.line_ids.mapped("amount"), [333.33, 333.33, 333.34])
        # What the customer does not sign still changes.
        plan.write({"note": "<p>Agreed by phone</p>", "user_id": self.plan_manager.id})
        # Back to draft: the proposal is void, its link opens nothing.
        plan.action_draft()
        self.assertRecordValues(plan, [{"state": "draft", "proposed_by_id": False}])
        self.assertNotEqual(plan.access_token, token)
        self.assertIn("void", plan.message_ids[0].body)
        plan.write({"fee_amount": 30.0})
        plan.action_compute_schedule()
        # 1,030.00 in 3: 343.33, 343.33 and 343.34.
        self.assertEqual(plan.line_ids.mapped("amount"), [343.33, 343.33, 343.34])

    def test_a_new_proposal_clears_the_previous_acceptance(self):
        # Accepted too late: a payment of 100.00 since the proposal, the
        # activation fails, the plan stays proposed with the customer's name.
        plan = self._plan(user=self.plan_manager)
        plan.action_propose()
        self._pay_items(self._receivable(self.newer), 100.0)
        self.assertFalse(plan.sudo()._action_customer_accept("Debtor Clerk", "10.0.0.1"))
        self.assertRecordValues(plan, [{"state": "proposed", "signed_by": "Debtor Clerk"}])
        with self.assertRaisesRegex(UserError, "already accepted"):
            plan.sudo()._action_customer_accept("Somebody Else", "10.0.0.2")
        plan.action_draft()
        self.assertRecordValues(
            plan, [{"signed_by": False, "signed_on": False, "signature_ip": False}]
        )
        plan.action_compute_schedule()
        plan.action_propose()
        # 900.00 in 3 x 300.00, unsigned: the customer accepts the new schedule.
        self.assertRecordValues(plan, [{"state": "proposed", "signed_by": False}])
        self.assertEqual(plan.line_ids.mapped("amount"), [300.0, 300.0, 300.0])
        self.assertTrue(plan.sudo()._action_customer_accept("Debtor Clerk", "10.0.0.1"))
        self.assertEqual(plan.state, "active")

    # ------------------------------------------------------------------
    # An acceptance activates only what its proposer could have activated
    # ------------------------------------------------------------------

    def test_acceptance_of_a_plan_over_the_proposers_cap_waits_for_a_credit_manager(self):
        # Collectors activate plans up to 3,000.00; the collector proposes
        # 3,900.00 (3 x 1,300.00) and the customer signs: nothing is posted.
        self.company.credit_plan_collector_max_amount = 3000.0
        invoice = self._create_invoice(self.debtor, 3900.0, days_overdue=10)
        plan = self._plan(moves=invoice)
        self.assertEqual(plan.line_ids.mapped("amount"), [1300.0, 1300.0, 1300.0])
        with self.assertRaises(AccessError):
            plan.action_activate()
        plan.action_propose()
        self.assertFalse(plan.sudo()._action_customer_accept("Debtor Clerk", "10.0.0.1"))
        self.assertRecordValues(
            plan, [{"state": "proposed", "signed_by": "Debtor Clerk", "move_id": False}]
        )
        self.assertFalse(self._receivable(invoice).reconciled)
        activity = self._activation_activities(plan)
        self.assertEqual(activity.user_id, self.plan_manager, "the company's credit approver")
        self.assertIn("may not activate a plan of", activity.note)
        self.assertIn("3,900.00", plan.message_ids[0].body)
        # The credit manager activates it; the activity is done.
        plan.with_user(self.plan_manager).action_activate()
        self.assertEqual(plan.state, "active")
        self.assertFalse(self._activation_activities(plan))

    def test_acceptance_activates_what_the_proposer_could_activate(self):
        # 1,000.00 under the collector's 3,000.00: active at once.
        self.company.credit_plan_collector_max_amount = 3000.0
        plan = self._plan()
        plan.action_propose()
        self.assertTrue(plan.sudo()._action_customer_accept("Debtor Clerk", "10.0.0.1"))
        self.assertEqual(plan.state, "active")
        # 3,900.00 proposed by a credit manager: active at once too.
        invoice = self._create_invoice(self.debtor, 3900.0, days_overdue=10)
        managed = self._plan(user=self.plan_manager, moves=invoice)
        managed.action_propose()
        self.assertTrue(managed.sudo()._action_customer_accept("Debtor Clerk", "10.0.0.1"))
        self.assertEqual(managed.state, "active")

    def test_a_collector_naming_a_manager_as_the_plans_collector_still_proposes_as_himself(self):
        # Without a collectors' amount only credit managers activate: the plan's
        # Collector field set to the credit manager changes nothing.
        plan = self._plan(user_id=self.plan_manager.id)
        plan.action_propose()
        self.assertEqual(plan.proposed_by_id, self.plan_collector)
        with self.assertRaises(AccessError):
            plan.write({"proposed_by_id": self.plan_manager.id})
        self.assertFalse(plan.sudo()._action_customer_accept("Debtor Clerk", "10.0.0.1"))
        self.assertEqual(plan.state, "proposed")
        self.assertTrue(self._activation_activities(plan))
        plan.action_draft()
        self.assertFalse(self._activation_activities(plan), "no acceptance left to activate")

    # ------------------------------------------------------------------
    # A defaulted plan back on schedule
    # ------------------------------------------------------------------

    def _defaulted_plan(self):
        # First installment (333.33) due today, defaulted 16 days later.
        self.company.credit_plan_default_days = 15
        plan = self._plan(user=self.plan_manager, first_due_date=self.today)
        plan.action_activate()
        with freeze_time(datetime.combine(self.today + timedelta(days=16), time(12))):
            self.env["credit.installment.plan"]._cron_check_installment_plans()
        self.assertEqual(plan.state, "defaulted")
        return plan

    def test_a_defaulted_plan_is_active_again_once_the_installment_due_is_paid(self):
        plan = self._defaulted_plan()
        day_20 = self.today + timedelta(days=20)
        with freeze_time(datetime.combine(day_20, time(12))):
            order = self._create_order(self.debtor, 10.0)
            with self.assertRaisesRegex(UserError, "Defaulted installment plan"):
                order.action_confirm()
            # 200.00 of the 333.33 due: still behind.
            first = plan.line_ids[0].move_line_id
            self._pay_items(first, 200.0, on=day_20)
            self.assertEqual(plan.state, "defaulted")
            # The remaining 133.33 by a billing user: back on schedule at once,
            # the next installments (due in a month and two) not yet due.
            self._pay_items(first, 133.33, on=day_20, user=self.plan_billing)
            self.assertRecordValues(plan, [{"state": "active", "date_defaulted": False}])
            self.assertIn("Back on schedule", plan.message_ids[0].body)
            self.assertIn(plan.name, self.debtor.message_ids[0].body)
            self.assertIn("back on schedule", self.debtor.message_ids[0].body)
            order.action_confirm()
            self.assertEqual(order.state, "sale")
            # The daily check leaves it active.
            self.env["credit.installment.plan"]._cron_check_installment_plans()
            self.assertEqual(plan.state, "active")

    def test_the_daily_check_returns_a_defaulted_plan_with_nothing_due(self):
        # Defaulted before anything was late (as an earlier version could leave
        # it, or a payment booked around the ORM): the daily check puts it back.
        plan = self._plan(user=self.plan_manager)
        plan.action_activate()
        plan.sudo()._set_defaulted(self.today)
        self.assertEqual(plan.state, "defaulted")
        self.env["credit.installment.plan"]._cron_check_installment_plans()
        self.assertEqual(plan.state, "active")
        self.assertIn("Back on schedule", plan.message_ids[0].body)

    def test_paying_everything_left_on_a_defaulted_plan_closes_it(self):
        plan = self._defaulted_plan()
        self._pay_items(plan.line_ids.move_line_id, 1000.0)
        self.assertEqual(plan.state, "done")

    def test_cancelling_a_defaulted_plan_is_a_cancellation_not_a_payment(self):
        plan = self._defaulted_plan()
        plan.with_user(self.plan_manager).action_cancel()
        self.assertEqual(plan.state, "cancelled")
        bodies = " ".join(plan.message_ids.mapped("body"))
        self.assertNotIn("Back on schedule", bodies)
        self.assertNotIn("Paid in full", bodies)
