"""What someone trying the addon meets in the first hour: the demo database and
its team, and promises to pay recorded with a date that makes sense."""

from datetime import timedelta

from freezegun import freeze_time

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import TransactionCase, tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestDemoTeam(TransactionCase):
    """The demo data gives the customers a collector and a salesperson, so that
    follow-up activities do not all land on the administrator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.admin = cls.env.ref("base.user_admin")
        cls.collector = cls.env.ref("credit_collections.demo_user_collector")
        cls.engine = cls.env["credit.followup.engine"]
        cls.today = fields.Date.context_today(cls.admin)
        cls.levels = (
            cls.env["credit.followup.policy"]._get_company_default(cls.company)._get_levels()
        )

    def _demo_customers_with_overdue_items(self):
        xmlids = self.env["ir.model.data"].search(
            [
                ("module", "=", "credit_collections"),
                ("model", "=", "res.partner"),
                ("name", "=like", "demo_partner_%"),
            ]
        )
        customers = (
            self.env["res.partner"]
            .browse(xmlids.mapped("res_id"))
            .filtered("is_company")
            .with_company(self.company)
        )
        states = self.engine._get_states(customers, self.company)
        return customers.filtered(
            lambda customer: (
                states[customer.id]["oldest_due"] and states[customer.id]["oldest_due"] < self.today
            )
        )

    def test_demo_customers_with_overdue_items_have_a_collector_and_a_salesperson(self):
        customers = self._demo_customers_with_overdue_items()
        self.assertGreaterEqual(len(customers), 10, "the demo has a dozen late payers")
        for customer in customers:
            collector = customer.followup_responsible_id
            salesperson = customer.user_id
            self.assertTrue(collector, f"{customer.name} has no collector")
            self.assertTrue(salesperson, f"{customer.name} has no salesperson")
            self.assertNotEqual(collector, self.admin, customer.name)
            self.assertNotEqual(salesperson, self.admin, customer.name)
            self.assertTrue(collector.has_group("credit_collections.group_credit_user"))
            self.assertTrue(salesperson.has_group("sales_team.group_sale_salesman"))
            self.assertEqual(customer._get_followup_collector(), collector)

    def test_demo_collector_gets_the_activity_of_the_scheduled_action(self):
        # The scheduled action's batch, starting at the level of the oldest item:
        # Northwind owes an invoice 130 days overdue, past the manual collection
        # level, so the run stops there and asks its collector to act.
        self.company.credit_followup_start_mode = "oldest_item"
        northwind = self.env.ref("credit_collections.demo_partner_northwind")
        History = self.env["credit.followup.history"]
        before = History.search([("partner_id", "=", northwind.id)])
        self.engine.sudo()._run_batch(northwind, self.company)
        history = History.search([("partner_id", "=", northwind.id)]) - before
        self.assertEqual(history.mapped("state"), ["manual"])
        self.assertEqual(history.level_id.name, "Collection action")
        self.assertEqual(history.activity_id.user_id, self.collector)
        self.assertEqual(history.activity_id.res_id, northwind.id)

    def test_demo_collector_gets_the_activity_when_the_administrator_sends_by_hand(self):
        # Sent by the administrator: were the activity given to whoever sends,
        # it would be the administrator's.
        lakeside = self.env.ref("credit_collections.demo_partner_lakeside")
        level = self.levels.filtered("create_activity")[-1:]
        Activity = self.env["mail.activity"]
        domain = [("res_model", "=", "res.partner"), ("res_id", "=", lakeside.id)]
        before = Activity.search(domain)
        result = (
            lakeside.with_user(self.admin)
            .with_company(self.company)
            ._followup_send_manually(level=level, send_email=False, send_letter=False)
        )
        self.assertFalse(result["failed"])
        self.assertEqual(result["done"].activity_id.user_id, self.collector)
        new_activities = Activity.search(domain) - before
        self.assertEqual(new_activities, result["done"].activity_id)


@tagged("post_install", "-at_install")
class TestPromiseDate(CreditCollectionsCommon):
    """A promise to pay is for today or later, wherever it is entered; a promise
    whose date has since passed keeps its outcome."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls._create_invoice(cls.customer, 400.0, days_overdue=10)
        cls.yesterday = cls.today - timedelta(days=1)

    def _promise_vals(self, promised_date):
        return {
            "partner_id": self.customer.id,
            "company_id": self.company.id,
            "amount": 400.0,
            "promised_date": promised_date,
        }

    def _promises(self):
        return self.env["credit.promise"].search([("partner_id", "=", self.customer.id)])

    def _as_collector(self):
        return self.env["credit.promise"].with_user(self.collector).with_company(self.company)

    def test_collector_cannot_record_a_promise_dated_yesterday(self):
        # assertRaises (not assertRaisesRegex) rolls back what the refused call wrote.
        with self.assertRaises(ValidationError) as refused:
            self._as_collector().create(self._promise_vals(self.yesterday))
        self.assertRegex(str(refused.exception), "Promised Date: .* is in the past")
        self.assertFalse(self._promises())
        promise = self._as_collector().create(self._promise_vals(self.today))
        self.assertEqual((promise.state, promise.promised_date), ("open", self.today))

    def test_collector_cannot_move_a_promise_into_the_past(self):
        promise = self._as_collector().create(self._promise_vals(self.today + timedelta(days=7)))
        with self.assertRaises(ValidationError) as refused:
            promise.write({"promised_date": self.yesterday})
        self.assertIn("today or later", str(refused.exception))
        self.assertEqual(promise.promised_date, self.today + timedelta(days=7))
        promise.write({"promised_date": self.today + timedelta(days=14)})
        self.assertEqual(promise.promised_date, self.today + timedelta(days=14))

    def test_promise_whose_date_passed_is_broken_by_the_scheduled_action(self):
        promise = self._as_collector().create(self._promise_vals(self.today + timedelta(days=5)))
        with freeze_time(self.today + timedelta(days=6)):
            # Its date has passed: what the customer said can still be noted.
            promise.with_user(self.collector).note = "Says the payment left on Friday"
            self.env["credit.promise"]._update_promises(self.company)
            self.assertEqual(promise.state, "broken")
            self.assertEqual(promise.note, "Says the payment left on Friday")

    def test_promise_whose_date_passed_can_still_be_marked_by_hand(self):
        promise = self._as_collector().create(self._promise_vals(self.today + timedelta(days=5)))
        with freeze_time(self.today + timedelta(days=6)):
            promise.with_user(self.collector).action_mark_broken()
            self.assertEqual(promise.state, "broken")

    def test_call_log_still_refuses_a_past_date(self):
        wizard = (
            self.env["credit.followup.call.wizard"]
            .with_user(self.collector)
            .with_company(self.company)
            .create(
                {
                    "partner_id": self.customer.id,
                    "outcome": "promised",
                    "amount": 100.0,
                    "promised_date": self.yesterday,
                }
            )
        )
        with self.assertRaises(ValidationError) as refused:
            wizard.action_log()
        self.assertIn("cannot be in the past", str(refused.exception))
        self.assertFalse(self._promises())
