"""The demo database as a new user meets it: its plans, promises and their
activities are the demo collector's, the defaulted plan's dates tell one story,
and late interest has no stale preview (the test database is installed with
the demo data; the dates are checked against each other, not against the day
the tests run)."""

from dateutil.relativedelta import relativedelta

from odoo import fields
from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestDemoData(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.ref("base.main_company")
        cls.admin = cls.env.ref("base.user_admin")
        cls.collector = cls.env.ref("credit_collections.demo_user_collector")
        cls.customers = {
            key: cls.env.ref(f"credit_collections.demo_partner_{key}")
            for key in ("oakridge", "willow", "quarry", "ironbridge")
        }
        cls.plans = {
            key: cls.env["credit.installment.plan"].search([("partner_id", "=", partner.id)])
            for key, partner in cls.customers.items()
            if key != "ironbridge"
        }

    def _field_label(self, record, field_name):
        """The label a user reads for record's selection field_name."""
        selection = record._fields[field_name]._description_selection(self.env)
        return dict(selection)[record[field_name]]

    def test_demo_plans_are_the_collectors_and_activated_by_a_credit_manager(self):
        states = {key: self._field_label(plan, "state") for key, plan in self.plans.items()}
        self.assertEqual(
            states, {"oakridge": "Active", "willow": "Proposed", "quarry": "Defaulted"}
        )
        for key, plan in self.plans.items():
            self.assertEqual(plan.user_id, self.collector, f"collector of the {key} plan")
            self.assertEqual(plan.create_uid, self.collector, f"who drafted the {key} plan")
        self.assertEqual(self.plans["willow"].proposed_by_id, self.collector)
        for key in ("oakridge", "quarry"):
            self.assertEqual(
                self.plans[key].move_id.create_uid, self.admin, f"who activated the {key} plan"
            )
        # Oakridge's first installment, paid: the payment booked by the administrator.
        first = self.plans["oakridge"].line_ids.sorted("sequence")[0]
        self.assertEqual(self._field_label(first, "state"), "Paid")
        payments = first.move_line_id.matched_credit_ids.credit_move_id.move_id
        self.assertEqual(payments.create_uid, self.admin)

    def test_defaulted_plan_dates_agree_with_its_items_and_the_days_before_default(self):
        plan = self.plans["quarry"]
        grace = self.company.credit_plan_default_days
        self.assertEqual(grace, 15, "the demo company keeps the default Days Before Default")
        installments = plan.line_ids.sorted("sequence")
        self.assertEqual(installments.mapped("sequence"), [1, 2, 3])
        first_due = plan.first_due_date
        # Each installment is due a month after the one before, as its item is.
        for months, installment in enumerate(installments):
            self.assertEqual(installment.date_due, first_due + relativedelta(months=months))
            self.assertEqual(installment.move_line_id.date_maturity, installment.date_due)
        # Agreed a month before the first installment fell due; the entry is of that day.
        self.assertEqual(plan.date_activated, first_due - relativedelta(months=1))
        self.assertEqual(plan.move_id.date, plan.date_activated)
        self.assertEqual(plan.move_id.state, "posted")
        # Defaulted on the first day installment 1 was unpaid for more than 15
        # days: due on day D, still open on D + 16.
        self.assertEqual((plan.date_defaulted - first_due).days, grace + 1)
        item = installments[0].move_line_id
        self.assertFalse(item.reconciled)
        self.assertTrue(item._credit_is_overdue(plan.date_defaulted))
        self.assertFalse(item._credit_is_overdue(first_due))
        # The daily check, run that day, agrees: nothing to change on the plan.
        Plan = self.env["credit.installment.plan"].sudo()
        changes, _more = Plan._get_plans_to_update(plan.date_defaulted, 10, plan.ids)
        self.assertEqual(changes, {})
        self.assertEqual(
            Plan._get_plans_to_update(first_due + relativedelta(days=grace), 10, plan.ids)[0],
            {},
            "the day before, it was not yet defaulted",
        )
        with self.subTest("the plan's page reads the same"):
            labels = [self._field_label(line, "state") for line in installments]
            if fields.Date.context_today(plan) < installments[1].date_due:
                self.assertEqual(labels, ["Overdue", "Open", "Open"])

    def test_defaulted_plan_activity_is_the_collectors(self):
        plan = self.plans["quarry"]
        activity = plan.activity_ids
        self.assertEqual(activity.mapped("summary"), ["Installment plan defaulted"])
        self.assertEqual(activity.user_id, self.collector)
        self.assertEqual(activity.date_deadline, plan.date_defaulted)
        self.assertIn("unpaid 15 days after its due date", str(activity.note))

    def test_demo_promise_is_recorded_by_the_collector_on_a_call(self):
        promise = self.env["credit.promise"].search(
            [("partner_id", "=", self.customers["ironbridge"].id)]
        )
        self.assertEqual(len(promise), 1)
        self.assertEqual(promise.user_id, self.collector)
        self.assertEqual(promise.create_uid, self.collector)
        self.assertEqual(self._field_label(promise, "state"), "Open")
        invoice = self.env.ref("credit_collections.demo_invoice_ironbridge_1")
        # 2 x 2,100.00, no tax on the demo product: what is overdue is promised.
        self.assertEqual(promise.amount, 4200.0)
        self.assertEqual(invoice.amount_residual, 4200.0)
        self.assertEqual((promise.promised_date - promise.create_date.date()).days, 7)

    def test_addon_activities_on_demo_records_are_the_collectors(self):
        """No activity of the demo goes to OdooBot, nor one about a stale setup."""
        Activity = self.env["mail.activity"]
        demo_customers = self.env["res.partner"].browse(
            self.env["ir.model.data"]
            .search(
                [
                    ("module", "=", "credit_collections"),
                    ("model", "=", "res.partner"),
                    ("name", "=like", "demo_partner_%"),
                ]
            )
            .mapped("res_id")
        )
        promises = self.env["credit.promise"].search([("partner_id", "in", demo_customers.ids)])
        activities = Activity.search(
            [
                "|",
                "|",
                "&",
                ("res_model", "=", "credit.installment.plan"),
                ("res_id", "in", [plan.id for plan in self.plans.values()]),
                "&",
                ("res_model", "=", "credit.promise"),
                ("res_id", "in", promises.ids),
                "&",
                ("res_model", "=", "res.partner"),
                ("res_id", "in", demo_customers.ids),
            ]
        )
        self.assertTrue(activities)
        self.assertEqual(activities.user_id, self.collector)
        root = self.env.ref("base.user_root")
        self.assertFalse(
            Activity.search([("res_model", "like", "credit.%"), ("user_id", "=", root.id)])
        )
        self.assertFalse(Activity.search([("res_model", "=", "credit.interest.run")]))

    def test_demo_interest_is_invoiced_to_last_month_by_the_administrator_no_preview(self):
        runs = self.env["credit.interest.run"].search([("company_id", "=", self.company.id)])
        demo_run = self.env.ref("credit_collections.demo_credit_interest_run")
        self.assertEqual(runs, demo_run)
        self.assertEqual(self._field_label(demo_run, "state"), "Invoiced")
        self.assertEqual(demo_run.user_id, self.admin)
        self.assertFalse(demo_run.stop_reason)
        self.assertTrue(demo_run.accrual_ids, "the demo run charged the late payers")
        self.assertEqual(demo_run.accrual_ids.partner_id, demo_run.invoice_ids.partner_id)
        self.assertEqual(set(demo_run.invoice_ids.mapped("state")), {"posted"})
        # Up to the end of the month before the install: this month's days are
        # the scheduled action's.
        installed = demo_run.create_date.date()
        self.assertEqual(demo_run.date, installed.replace(day=1) - relativedelta(days=1))
        # The defaulted plan's overdue installment is charged too.
        self.assertIn(self.customers["quarry"], demo_run.accrual_ids.partner_id)
        # 1.5 % a month from a rate of the company's own: a preview of any later
        # day has its rate, it never stops for a reference rate nobody entered.
        today = fields.Date.context_today(demo_run)
        self.assertIsNone(self.company._credit_interest_missing_rate(today))
        self.assertEqual(
            self.env["credit.interest.rate"]
            .search([("company_id", "=", self.company.id), ("partner_id", "=", False)])
            .mapped("rate"),
            [18.0],
        )
        # The scheduled action finds last month done, and charges this month.
        Run = self.env["credit.interest.run"]
        self.assertNotIn(self.company, Run._get_due_companies(demo_run.date)[0])
        self.assertIn(self.company, Run._get_due_companies(installed)[0])
