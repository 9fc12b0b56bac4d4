from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import CreditCollectionsCommon

MANAGER_FIELDS_REFUSAL = (
    "Only credit managers can change the requested amount, validity or manager note of a "
    "credit approval request"
)


@tagged("post_install", "-at_install")
class TestApprovalRequestScreens(CreditCollectionsCommon):
    """Issue 20 point 10: what a salesperson may change on a request, and
    Request Credit Approval asking why."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_approver_id = cls.credit_manager
        cls._create_invoice(cls.customer, 800.0)
        cls.other_salesperson = cls._create_user(
            "cc_other_salesperson", "sales_team.group_sale_salesman_all_leads"
        )

    def _blocked_order(self, amount=500.0):
        return self._create_order(self.customer, amount, user=self.salesperson).with_user(
            self.salesperson
        )

    def _request(self, note=False):
        order = self._blocked_order()
        order.action_request_credit_approval(note=note)
        return order.credit_approval_ids.with_user(self.salesperson)

    def test_salesperson_is_told_which_decision_fields_they_tried_to_change(self):
        request = self._request()
        with self.assertRaises(AccessError) as caught:
            request.write({"amount": 900.0})
        message = str(caught.exception)
        self.assertIn(MANAGER_FIELDS_REFUSAL, message)
        self.assertIn("you tried to change Requested Amount.", message)
        # Not the message of a decision they did not try to take.
        self.assertNotIn("approve, reject or override", message)
        with self.assertRaises(AccessError) as caught:
            request.write({"validity_days": 30, "manager_note": "Approved, surely"})
        message = str(caught.exception)
        self.assertIn("you tried to change Validity (Days), Manager Note.", message)
        self.assertNotIn("Requested Amount", message.split("you tried")[1])
        self.assertRecordValues(
            request, [{"amount": 500.0, "validity_days": 7, "manager_note": False}]
        )
        # A form saving the unchanged amount with the salesperson's note is fine.
        request.write({"amount": 500.0, "request_note": "Customer for ten years"})
        self.assertEqual(request.request_note, "Customer for ten years")
        # The credit manager decides on them.
        request.with_user(self.credit_manager).write({"amount": 450.0, "validity_days": 14})
        self.assertRecordValues(request, [{"amount": 450.0, "validity_days": 14}])

    def test_salesperson_cannot_slip_a_manager_note_in_when_requesting(self):
        order = self._blocked_order()
        with self.assertRaises(AccessError) as caught:
            self.env["credit.approval.request"].with_user(self.salesperson).with_context(
                default_manager_note="Approved by phone"
            ).create({"order_id": order.id})
        self.assertIn("you tried to change Manager Note.", str(caught.exception))
        self.assertFalse(order.credit_approval_ids)

    def test_form_makes_read_only_what_the_user_may_not_change(self):
        request = self._request()
        self.assertRecordValues(request, [{"credit_can_decide": False, "credit_can_explain": True}])
        as_manager = request.with_user(self.credit_manager)
        self.assertRecordValues(
            as_manager, [{"credit_can_decide": True, "credit_can_explain": True}]
        )
        # Another salesperson reading the request changes nothing of it.
        as_other = request.with_user(self.other_salesperson)
        self.assertRecordValues(
            as_other, [{"credit_can_decide": False, "credit_can_explain": False}]
        )
        with self.assertRaises(AccessError):
            as_other.write({"request_note": "Not mine"})
        as_manager.action_approve()
        request.invalidate_recordset()
        self.assertRecordValues(
            as_manager, [{"credit_can_decide": False, "credit_can_explain": False}]
        )
        self.assertRecordValues(
            request, [{"credit_can_decide": False, "credit_can_explain": False}]
        )

    def test_request_credit_approval_asks_why(self):
        order = self._blocked_order()
        action = order.action_open_credit_approval_request()
        self.assertEqual(action["res_model"], "credit.approval.request.wizard")
        self.assertFalse(order.credit_approval_ids, "nothing is requested before saying why")
        wizard_model = (
            self.env[action["res_model"]]
            .with_user(self.salesperson)
            .with_context(**action["context"])
        )
        form = Form(wizard_model)
        self.assertEqual(form.amount, 500.0)
        self.assertIn("Over credit limit", form.credit_status_reasons)
        # Why an Exception is required by the dialog, and by the server when blank.
        with self.assertRaises(AssertionError):
            form.save()
        form.request_note = "   "
        with self.assertRaisesRegex(UserError, "Why an Exception: tell the credit manager"):
            form.save().action_request()
        form.request_note = "Customer for ten years, pays on time"
        form.save().action_request()
        self.assertRecordValues(
            order.credit_approval_ids,
            [
                {
                    "state": "pending",
                    "amount": 500.0,
                    "requested_by_id": self.salesperson.id,
                    "request_note": "Customer for ten years, pays on time",
                }
            ],
        )
        self.assertIn("Why: Customer for ten years, pays on time", order.message_ids[0].body)
        # Asking again while it is pending is refused before the dialog opens.
        with self.assertRaisesRegex(UserError, "already waiting"):
            order.action_open_credit_approval_request()

    def test_api_callers_request_directly_and_write_why_while_pending(self):
        # With the reason as an argument, as the README's XML-RPC example does.
        request = self._request(note="Guarantee received")
        self.assertEqual(request.request_note, "Guarantee received")
        # Without one (callers of old): requested, and the requester writes why.
        order = self._create_order(self.customer, 300.0, user=self.salesperson).with_user(
            self.salesperson
        )
        order.action_request_credit_approval()
        request = order.credit_approval_ids.with_user(self.salesperson)
        self.assertEqual(request.state, "pending")
        self.assertFalse(request.request_note)
        request.write({"request_note": "Paid everything on time last year"})
        self.assertEqual(request.request_note, "Paid everything on time last year")
        with self.assertRaises(AccessError):
            request.with_user(self.other_salesperson).write({"request_note": "Overwritten"})
        request.with_user(self.credit_manager).action_reject()
        with self.assertRaisesRegex(AccessError, "already been decided"):
            request.write({"request_note": "Too late"})


@tagged("post_install", "-at_install")
class TestOverdueDrillDown(CreditCollectionsCommon):
    """Issue 20 point 12: the Overdue figure opens the items behind it, with what
    is left to pay on each, summing to the figure."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tax = cls.company_data["default_tax_sale"]
        cls.debtor = cls._create_customer("Drill Debtor", limit=10000.0)
        # Worked example (tax 15 %):
        #   A: 4,000.00 + 600.00 tax = 4,600.00, 20 days overdue, 1,000.00 paid -> 3,600.00
        #   B: 1,000.00 + 150.00 tax = 1,150.00, 10 days overdue, unpaid         -> 1,150.00
        #   C:   500.00 +  75.00 tax =   575.00, due in 10 days: not overdue
        # Overdue: 3,600.00 + 1,150.00 = 4,750.00 (the old list showed the untaxed
        # totals of A and B: 5,000.00).
        cls.invoice_a = cls._taxed_invoice(cls.debtor, 4000.0, 20)
        cls._pay(cls.invoice_a, 1000.0)
        cls.invoice_b = cls._taxed_invoice(cls.debtor, 1000.0, 10)
        cls.invoice_c = cls._taxed_invoice(cls.debtor, 500.0, -10)

    @classmethod
    def _taxed_invoice(cls, partner, untaxed, days_overdue, user=None):
        due = cls.today - timedelta(days=days_overdue)
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": min(due, cls.today),
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_user_id": (user or cls.salesperson).id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Goods",
                            "quantity": 1,
                            "price_unit": untaxed,
                            "tax_ids": [Command.set(cls.tax.ids)],
                        }
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    def _rows(self, user, action):
        lines = (
            self.env[action["res_model"]]
            .with_user(user)
            .search(action["domain"], order="date_maturity, id")
        )
        return [(line.move_id, line.amount_residual) for line in lines]

    def test_salesperson_overdue_rows_and_total_equal_the_tab(self):
        partner = self._credit(self.debtor.with_user(self.salesperson))
        self.assertEqual(partner.credit_overdue_amount, 4750.0)
        action = partner.action_view_credit_overdue()
        self.assertEqual(action["res_model"], "account.move.line")
        self.assertEqual(action["name"], "Overdue Items")
        rows = self._rows(self.salesperson, action)
        self.assertEqual(rows, [(self.invoice_a, 3600.0), (self.invoice_b, 1150.0)])
        self.assertAlmostEqual(sum(amount for _move, amount in rows), 4750.0, places=2)
        # The list shows and sums what is left to pay, as "Amount Due".
        [view_id, _kind] = action["views"][0]
        arch = (
            self.env["account.move.line"]
            .with_user(self.salesperson)
            .get_views([(view_id, "list")])["views"]["list"]["arch"]
        )
        self.assertIn('name="amount_residual" string="Amount Due" sum="Total Due"', arch)
        self.assertNotIn("price_subtotal", arch)
        self.assertNotIn("amount_untaxed", arch)

    def test_open_receivables_rows_total_the_open_figures(self):
        partner = self._credit(self.debtor.with_user(self.salesperson))
        rows = self._rows(self.salesperson, partner.action_view_credit_receivables())
        self.assertEqual(
            rows, [(self.invoice_a, 3600.0), (self.invoice_b, 1150.0), (self.invoice_c, 575.0)]
        )
        # 3,600.00 + 1,150.00 + 575.00 = 5,325.00
        self.assertAlmostEqual(partner.credit_receivable_amount, 5325.0, places=2)

    def test_collector_sees_the_same_items(self):
        action = self.debtor.with_user(self.collector).action_view_credit_overdue()
        self.assertEqual(
            self._rows(self.collector, action),
            [(self.invoice_a, 3600.0), (self.invoice_b, 1150.0)],
        )

    def test_salesperson_told_what_part_of_the_figure_is_not_theirs(self):
        # D: 200.00 + 30.00 tax = 230.00, another salesperson's: overdue 4,980.00.
        others = self._taxed_invoice(self.debtor, 200.0, 5, user=self.credit_manager)
        partner = self._credit(self.debtor.with_user(self.salesperson))
        self.assertEqual(partner.credit_overdue_amount, 4980.0)
        action = partner.action_view_credit_overdue()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn(
            "230.00 of this figure is on invoices of Drill Debtor", action["params"]["message"]
        )
        listed = action["params"]["next"]
        rows = self._rows(self.salesperson, listed)
        self.assertEqual(rows, [(self.invoice_a, 3600.0), (self.invoice_b, 1150.0)])
        self.assertNotIn(others, [move for move, _amount in rows])
        # Who may read every invoice gets the list alone.
        action = self.debtor.with_user(self.collector).action_view_credit_overdue()
        self.assertEqual(action["res_model"], "account.move.line")
        self.assertAlmostEqual(
            sum(amount for _move, amount in self._rows(self.collector, action)), 4980.0, places=2
        )


@tagged("post_install", "-at_install")
class TestCreditDefaultsAndNotes(CreditCollectionsCommon):
    """Issue 20 point 13 (part): the promise amount and the new limit start from
    the overdue and the current limit; the limit change says what changed."""

    def test_new_credit_limit_starts_from_the_current_limit(self):
        form = Form(
            self.env["credit.limit.wizard"]
            .with_user(self.credit_manager)
            .with_context(default_partner_id=self.customer.id)
        )
        self.assertEqual(form.current_limit, 1000.0)
        self.assertEqual(form.new_limit, 1000.0)
        form.new_limit = 1500.0
        form.reason = "Guarantee received"
        form.save().action_apply()
        # What the chatter reads (format_amount separates the symbol with a no-break space).
        note = str(self.customer.message_ids[0].body).replace("&nbsp;", " ")
        self.assertIn("Credit Limit: $ 1,000.00 → $ 1,500.00<br>", note)
        self.assertIn("Reason: Guarantee received", note)
        self.assertNotIn("Credit settings changed", note)
        self.assertNotIn(self.company.name, note)

    def test_limit_note_names_the_company_for_a_user_of_several(self):
        other_company = self.env["res.company"].create({"name": "Second Credit Company"})
        manager = self._create_user("cc_manager_two", "credit_collections.group_credit_manager")
        manager.company_ids = [Command.link(other_company.id)]
        self.customer.with_user(manager)._credit_set_limit(2500.0, "Annual review")
        body = str(self.customer.message_ids[0].body).replace("&nbsp;", " ")
        self.assertIn(f"Credit Limit: $ 1,000.00 → $ 2,500.00 ({self.company.name})", body)

    def test_promise_amount_starts_from_the_overdue(self):
        # 600.00 overdue for 10 days, 400.00 not due yet: the promise is for 600.00.
        debtor = self._create_customer("Promising Debtor")
        self._create_invoice(debtor, 600.0, days_overdue=10)
        self._create_invoice(debtor, 400.0, days_overdue=-10)
        call = Form(
            self.env["credit.followup.call.wizard"]
            .with_user(self.collector)
            .with_context(active_model="res.partner", active_id=debtor.id)
        )
        call.outcome = "promised"
        self.assertEqual(call.amount, 600.0)
        call.promised_date = self.today + timedelta(days=7)
        promise = call.save()
        promise.action_log()
        self.assertEqual(
            self.env["credit.promise"].search([("partner_id", "=", debtor.id)]).amount, 600.0
        )
        # A promise recorded from the Promises to Pay list, the customer chosen there.
        form = Form(self.env["credit.promise"].with_user(self.collector))
        self.assertEqual(form.amount, 0.0)
        form.partner_id = debtor
        self.assertEqual(form.amount, 600.0)
        # What the collector types is kept when the customer is chosen again.
        form.amount = 250.0
        form.partner_id = self.customer
        self.assertEqual(form.amount, 250.0)
