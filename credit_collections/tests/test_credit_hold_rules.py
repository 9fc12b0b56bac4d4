from datetime import timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditHoldRules(CreditCollectionsCommon):
    def _status(self, order):
        order.invalidate_recordset(["credit_status", "credit_status_reasons"])
        return order.credit_status

    def test_order_within_limit_is_confirmed(self):
        self._create_invoice(self.customer, 300.0)
        order = self._create_order(self.customer, 500.0)
        self.assertEqual(self._status(order), "ok")
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_order_over_limit_is_blocked_for_salesperson(self):
        self._create_invoice(self.customer, 600.0)
        order = self._create_order(self.customer, 500.0, user=self.salesperson)
        self.assertEqual(self._status(order), "blocked")
        with self.assertRaises(UserError) as error:
            order.with_user(self.salesperson).action_confirm()
        message = str(error.exception)
        self.assertIn(order.name, message)
        self.assertIn("Over credit limit", message)
        self.assertIn("$\xa01,000.00", message)  # limit
        self.assertIn("$\xa01,100.00", message)  # exposure with the order
        self.assertIn("$\xa0500.00", message)  # the order
        self.assertIn("Request Credit Approval", message)
        self.assertEqual(order.state, "draft")

    def test_holds_only_warn_until_a_credit_manager_enables_them(self):
        company = self.setup_other_company(name="Fresh company")["company"]
        self.assertFalse(company.credit_check_over_limit)
        self.assertFalse(company.credit_check_overdue)
        company.account_use_credit_limit = True
        self.customer.with_company(company).write(
            {"credit_limit": 100.0, "use_partner_credit_limit": True}
        )
        self._create_invoice(self.customer, 50.0, days_overdue=60, company=company)
        order = self._create_order(self.customer, 500.0, company=company)
        self.assertEqual(self._status(order), "warning")
        reasons = order.credit_status_reasons
        self.assertIn("Over credit limit", reasons)
        self.assertIn("Overdue", reasons)
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_tolerance_allows_exceeding_the_limit_by_a_percentage(self):
        self.company.credit_limit_tolerance = 10.0
        order = self._create_order(self.customer, 1100.0)
        self.assertNotEqual(self._status(order), "blocked")
        order.order_line.price_unit = 1100.01
        self.assertEqual(self._status(order), "blocked")

    def test_warning_from_threshold_does_not_block(self):
        order = self._create_order(self.customer, 900.0)
        self.assertEqual(self._status(order), "warning")
        self.assertIn("90%", order.credit_status_reasons)
        order.action_confirm()
        self.assertEqual(order.state, "sale")
        self.assertEqual(self._status(self._create_order(self.customer, 10.0)), "warning")
        self.company.credit_warning_percent = 100.0
        self.assertEqual(self._status(self._create_order(self.customer, 10.0)), "ok")

    def test_overdue_older_than_days_blocks(self):
        customer = self._create_customer("Late payer", limit=100000.0)
        self._create_invoice(customer, 80.0, days_overdue=30)
        order = self._create_order(customer, 10.0)
        self.assertEqual(self._status(order), "ok")
        self._create_invoice(customer, 50.0, days_overdue=31)
        self.assertEqual(self._status(order), "blocked")
        self.assertIn(
            "Overdue: $\xa050.00 overdue for more than 30 days", order.credit_status_reasons
        )

    def test_overdue_threshold_lets_small_amounts_pass(self):
        customer = self._create_customer("Small debts", limit=100000.0)
        self._create_invoice(customer, 50.0, days_overdue=60)
        self.company.credit_overdue_threshold = 50.0
        order = self._create_order(customer, 10.0)
        self.assertEqual(self._status(order), "ok")
        self.company.credit_overdue_threshold = 49.99
        self.assertEqual(self._status(order), "blocked")

    def test_overdue_rule_switched_off_only_warns(self):
        customer = self._create_customer("Tolerated", limit=100000.0)
        self._create_invoice(customer, 50.0, days_overdue=60)
        self.company.credit_check_overdue = False
        order = self._create_order(customer, 10.0)
        self.assertEqual(self._status(order), "warning")
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_overdue_sub_limit_blocks_independently_of_total_limit(self):
        customer = self._create_customer("Big but late", limit=100000.0)
        self.company.write({"credit_check_overdue": False, "credit_overdue_limit": 2000.0})
        self._create_invoice(customer, 2000.0, days_overdue=3)
        order = self._create_order(customer, 10.0)
        self.assertEqual(self._status(order), "ok")
        self._create_invoice(customer, 1.0, days_overdue=3)
        self.assertEqual(self._status(order), "blocked")
        self.assertIn("Overdue sub-limit", order.credit_status_reasons)

    def test_manual_hold_blocks_and_only_managers_set_it(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesperson).credit_hold = True
        self.customer.with_user(self.credit_manager).write(
            {"credit_hold": True, "credit_hold_reason": "Bankruptcy filed"}
        )
        order = self._create_order(self.customer, 1.0)
        self.assertEqual(self._status(order), "blocked")
        self.assertIn("On credit hold: Bankruptcy filed", order.credit_status_reasons)
        self.customer.with_user(self.credit_manager).credit_hold = False
        self.assertEqual(self._status(order), "ok")

    def test_cash_only_customer_must_pay_first(self):
        self.customer.with_company(self.company).credit_cash_only = True
        order = self._create_order(self.customer, 10.0)
        self.assertEqual(self._status(order), "blocked")
        self.assertIn("Cash-only customer", order.credit_status_reasons)

    def test_order_paid_online_in_full_is_not_blocked_by_amount_rules(self):
        self._create_invoice(self.customer, 5000.0, days_overdue=90)
        order = self._create_order(self.customer, 500.0)
        self.assertEqual(self._status(order), "blocked")
        provider = self.env["payment.provider"].search(
            [("code", "=", "none"), ("company_id", "=", self.company.id)], limit=1
        ) or self.env["payment.provider"].create({"name": "Test", "company_id": self.company.id})
        self.env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
                "amount": order.amount_total,
                "currency_id": order.currency_id.id,
                "partner_id": self.customer.id,
                "reference": f"CC-{order.id}",
                "sale_order_ids": [(6, 0, order.ids)],
                "state": "done",
            }
        )
        self.assertEqual(self._status(order), "ok")
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_zero_limit_means_no_limit_or_no_credit(self):
        customer = self._create_customer("No limit set")
        self._create_invoice(customer, 5000.0)
        order = self._create_order(customer, 100.0)
        self.assertEqual(self._status(order), "ok")
        self.company.credit_zero_limit_policy = "no_credit"
        self.assertEqual(self._status(order), "blocked")
        self.assertIn("No credit granted", order.credit_status_reasons)

    def test_rules_combine_and_each_reason_is_listed(self):
        self._create_invoice(self.customer, 900.0, days_overdue=45)
        self.customer.with_company(self.company).write(
            {"credit_hold": True, "credit_hold_reason": "Disputed delivery"}
        )
        order = self._create_order(self.customer, 200.0)
        self.assertEqual(self._status(order), "blocked")
        reasons = order.credit_status_reasons.splitlines()
        self.assertEqual(len(reasons), 3, reasons)
        self.assertTrue(reasons[0].startswith("On credit hold"))
        self.assertTrue(reasons[1].startswith("Over credit limit"))
        self.assertTrue(reasons[2].startswith("Overdue"))

    def test_partner_rules_override_the_company(self):
        customer = self._create_customer("Key account", limit=1000.0)
        self._create_invoice(customer, 500.0, days_overdue=45)
        order = self._create_order(customer, 550.0)
        self.assertEqual(self._status(order), "blocked")
        customer.with_company(self.company).write(
            {
                "credit_custom_rules": True,
                "credit_partner_check_over_limit": True,
                "credit_partner_limit_tolerance": 20.0,
                "credit_partner_warning_percent": 95.0,
                "credit_partner_check_overdue": True,
                "credit_partner_overdue_days": 60,
            }
        )
        self.assertEqual(self._status(order), "warning")

    def test_hold_lifts_when_the_customer_pays(self):
        invoice = self._create_invoice(self.customer, 950.0, days_overdue=40)
        order = self._create_order(self.customer, 100.0)
        self.assertEqual(self._status(order), "blocked")
        self._pay(invoice, 950.0)
        self.assertEqual(self._status(order), "ok")

    def test_hold_lifts_when_the_limit_is_raised(self):
        order = self._create_order(self.customer, 1500.0)
        self.assertEqual(self._status(order), "blocked")
        self.customer.with_user(self.credit_manager).with_company(
            self.company
        ).credit_limit = 2000.0
        self.assertEqual(self._status(order), "ok")

    def test_confirming_several_orders_names_every_blocked_one(self):
        other = self._create_customer("Other customer", limit=100.0)
        fine = self._create_order(self._create_customer("Fine", limit=10000.0), 10.0)
        first = self._create_order(self.customer, 600.0)
        second = self._create_order(self.customer, 600.0)  # together over the limit
        third = self._create_order(other, 500.0)
        orders = fine | first | second | third
        with self.assertRaises(UserError) as error:
            orders.action_confirm()
        message = str(error.exception)
        self.assertNotIn(fine.name, message)
        self.assertNotIn(first.name + " cannot", message)
        self.assertIn(second.name, message)
        self.assertIn(third.name, message)
        self.assertEqual(set(orders.mapped("state")), {"draft"})

    def test_blocked_invoice_posting_when_company_checks_invoices(self):
        self.company.credit_check_invoices = True
        self._create_invoice(self.customer, 900.0)
        invoice = self._create_invoice(self.customer, 200.0, post=False)
        # Posting is a billing user's job; one who is also a credit manager may
        # post despite the hold.
        billing = self._create_user("cc_billing", "account.group_account_invoice")
        billing_manager = self._create_user(
            "cc_billing_manager",
            "account.group_account_invoice,credit_collections.group_credit_manager",
        )
        with self.assertRaisesRegex(UserError, "cannot be posted"):
            invoice.with_user(billing).action_post()
        self.assertEqual(invoice.state, "draft")
        invoice.with_user(billing_manager).action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertIn("despite the credit hold", invoice.message_ids[0].body)

    def test_invoices_are_not_checked_by_default(self):
        self._create_invoice(self.customer, 5000.0)
        self.assertEqual(self._create_invoice(self.customer, 200.0).state, "posted")

    def test_bad_input_is_refused_naming_the_field(self):
        partner = self.customer.with_company(self.company)
        cases = [
            (partner, "credit_limit", -1, "Credit Limit cannot be negative"),
            (self.company, "credit_limit_tolerance", 101, "Credit Limit Tolerance"),
            (self.company, "credit_limit_tolerance", -1, "Credit Limit Tolerance"),
            (self.company, "credit_hold_overdue_days", -5, "Hold After Overdue Days"),
            (self.company, "credit_overdue_threshold", -5, "Overdue Hold Threshold"),
            (self.company, "credit_overdue_limit", -5, "Overdue Sub-limit"),
            (partner, "credit_partner_overdue_days", -1, "Hold After Overdue Days"),
            (partner, "credit_partner_limit_tolerance", 150, "Credit Limit Tolerance"),
        ]
        for record, field_name, value, message in cases:
            with self.subTest(field=field_name, value=value):
                with self.assertRaises(ValidationError) as error:
                    record.write({field_name: value})
                self.assertIn(message, str(error.exception))

    def test_limit_change_is_recorded_with_reason(self):
        partner = self.customer.with_user(self.credit_manager).with_company(self.company)
        partner._credit_set_limit(2500.0, "Annual review")
        message = self.customer.message_ids[0]
        self.assertIn("Credit Limit", message.body)
        self.assertIn("1,000.00", message.body)
        self.assertIn("2,500.00", message.body)
        self.assertIn("Annual review", message.body)
        self.assertEqual(message.author_id, self.credit_manager.partner_id)

    def test_salesperson_cannot_change_limits(self):
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesperson).with_company(self.company).credit_limit = 5000
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesperson).with_company(
                self.company
            ).credit_custom_rules = True

    def test_search_filters_blocked_over_limit_on_hold(self):
        over = self._create_customer("Over", limit=100.0)
        self._create_invoice(over, 150.0)
        held = self._create_customer("Held", limit=0.0)
        held.with_company(self.company).write({"credit_hold": True, "credit_hold_reason": "x"})
        fine = self._create_customer("Fine", limit=1000.0)
        self._create_invoice(fine, 10.0)
        partners = self.env["res.partner"].with_company(self.company)
        blocked = partners.search([("credit_status", "=", "blocked")])
        self.assertIn(over, blocked)
        self.assertIn(held, blocked)
        self.assertNotIn(fine, blocked)
        self.assertEqual(
            partners.search(
                [("credit_over_limit", "=", True), ("id", "in", (over | held | fine).ids)]
            ),
            over,
        )
        self.assertEqual(
            partners.search([("credit_hold", "=", True), ("id", "in", (over | held | fine).ids)]),
            held,
        )
        ok = partners.search([("credit_status", "=", "ok"), ("id", "in", (over | held | fine).ids)])
        self.assertEqual(ok, fine)

    def test_credit_review_gives_the_credit_manager_an_activity(self):
        self.company.write(
            {"credit_approver_id": self.credit_manager.id, "credit_review_notice_days": 10}
        )
        due_soon = self._create_customer("Review soon", limit=100.0)
        later = self._create_customer("Review later", limit=100.0)
        due_soon.with_company(self.company).credit_review_date = self.today + timedelta(days=5)
        later.with_company(self.company).credit_review_date = self.today + timedelta(days=30)
        cron = self.env.ref("credit_collections.ir_cron_schedule_credit_reviews")
        cron.method_direct_trigger()
        cron.method_direct_trigger()  # a second run adds nothing
        review = self.env.ref("credit_collections.mail_activity_credit_review")
        activity = due_soon.activity_ids.filtered(lambda a: a.activity_type_id == review)
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.credit_manager)
        self.assertEqual(activity.date_deadline, self.today + timedelta(days=5))
        self.assertFalse(later.activity_ids)

    def test_limit_wizard_records_old_and_new_limit_with_reason(self):
        wizard = (
            self.env["credit.limit.wizard"]
            .with_user(self.credit_manager)
            .with_company(self.company)
            .create(
                {"partner_id": self.customer.id, "new_limit": 4000.0, "reason": "Bank guarantee"}
            )
        )
        self.assertEqual(wizard.current_limit, 1000.0)
        wizard.action_apply()
        self.assertEqual(self.customer.with_company(self.company).credit_limit, 4000.0)
        body = self.customer.message_ids[0].body
        self.assertIn("1,000.00", body)
        self.assertIn("4,000.00", body)
        self.assertIn("Bank guarantee", body)
        with self.assertRaises(AccessError):
            self.env["credit.limit.wizard"].with_user(self.salesperson).create(
                {"partner_id": self.customer.id, "new_limit": 1.0, "reason": "x"}
            )
