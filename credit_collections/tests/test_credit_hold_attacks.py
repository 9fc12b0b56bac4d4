"""Each way around a credit hold or the audit trail that was found, tried as the
user who wants around it, through the ORM as an XML-RPC call would run it."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditHoldAttacks(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_approver_id = cls.credit_manager
        # 800 open + a 500 order > 1,000 limit: blocked.
        cls._create_invoice(cls.customer, 800.0)
        cls.held = cls._create_customer("Held Customer", limit=100000.0)
        cls.held.with_company(cls.company).sudo().write(
            {"credit_hold": True, "credit_hold_reason": "Suspected fraud - do not ship"}
        )
        cls.good = cls._create_customer("Good Customer", limit=100000.0)

    def _order(self, partner=None, amount=500.0, user=None, currency=None):
        user = user or self.salesperson
        order = self._create_order(partner or self.customer, amount, user=user, currency=currency)
        return order.with_user(user)

    def _approved(self, order):
        order.action_request_credit_approval()
        order.with_user(self.credit_manager).action_approve_credit()
        request = order.credit_approval_ids
        self.assertEqual(request.state, "approved")
        return request

    # 1. A request created already approved
    def test_salesperson_cannot_create_an_approved_request(self):
        order = self._order()
        requests = self.env["credit.approval.request"].with_user(self.salesperson)
        forged = {
            "state": "approved",
            "approver_id": self.credit_manager.id,
            "valid_until": "2099-12-31",
            "decision_date": fields.Datetime.now(),
            "is_override": True,
            "exposure": 0.0,
            "credit_limit": 1e9,
            "overdue_amount": 1e6,
            "reasons": "All fine",
            "partner_id": self.good.id,
            "order_partner_id": self.good.id,
            "currency_id": self.env.ref("base.EUR").id,
            "requested_by_id": self.credit_manager.id,
            "amount": 1e9,
            "validity_days": 36500,
            "manager_note": "Approved by me",
        }
        for field_name, value in forged.items():
            with self.subTest(field=field_name), self.assertRaises(AccessError):
                requests.create({"order_id": order.id, field_name: value})
        self.assertFalse(order.sudo().credit_approval_ids)
        with self.assertRaises(UserError):
            order.action_confirm()

    def test_request_captures_the_order_whatever_is_sent(self):
        order = self._order()
        request = (
            self.env["credit.approval.request"]
            .with_user(self.salesperson)
            .create({"order_id": order.id, "request_note": "Customer pays next week"})
        )
        # Exposure 800 open + 500 order = 1,300 against a 1,000 limit.
        self.assertRecordValues(
            request,
            [
                {
                    "state": "pending",
                    "amount": 500.0,
                    "exposure": 1300.0,
                    "credit_limit": 1000.0,
                    "partner_id": self.customer.id,
                    "order_partner_id": self.customer.id,
                    "currency_id": order.currency_id.id,
                    "requested_by_id": self.salesperson.id,
                    "approver_id": False,
                    "valid_until": False,
                }
            ],
        )
        self.assertIn("Customer pays next week", order.sudo().message_ids[0].body)

    # 2. An approved request moved to another order
    def test_approval_cannot_be_moved_to_another_order(self):
        order = self._order()
        request = self._approved(order)
        other = self._order(amount=400.0)
        for user in (self.salesperson, self.credit_manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                request.with_user(user).write({"order_id": other.id})
        self.assertEqual(request.order_id, order)
        with self.assertRaises(UserError):
            other.action_confirm()

    # 3. An approval covers an order, its customers, an amount in a currency
    def test_approval_lapses_when_the_invoice_address_changes(self):
        order = self._order()
        request = self._approved(order)
        order.partner_invoice_id = self.held
        self.assertEqual(request.state, "cancelled")
        with self.assertRaisesRegex(UserError, "cannot be confirmed"):
            order.action_confirm()
        self.assertIn("cancelled", order.sudo().message_ids[0].body)

    def test_approval_lapses_when_the_customer_changes(self):
        order = self._order()
        request = self._approved(order)
        order.write({"partner_id": self.held.id, "partner_invoice_id": self.customer.id})
        self.assertEqual(request.state, "cancelled")
        with self.assertRaisesRegex(UserError, "Suspected fraud"):
            order.action_confirm()

    def test_approval_in_one_currency_does_not_cover_another(self):
        gbp = self.setup_other_currency("GBP")
        order = self._order()
        request = self._approved(order)
        gbp_pricelist = self.env["product.pricelist"].create({"name": "GBP", "currency_id": gbp.id})
        order.write({"pricelist_id": gbp_pricelist.id})
        order.order_line.price_unit = 500.0
        self.assertEqual(order.currency_id, gbp)
        self.assertFalse(request._credit_covers_order())
        self.assertFalse(order.credit_approval_valid)
        with self.assertRaises(UserError):
            order.action_confirm()
        self.assertEqual(order.state, "draft")

    # 4. What the approver sees cannot be rewritten
    def test_salesperson_cannot_rewrite_a_pending_request(self):
        order = self._order()
        order.action_request_credit_approval()
        request = order.credit_approval_ids.with_user(self.salesperson)
        values = {
            "exposure": 1.0,
            "credit_limit": 1e9,
            "overdue_amount": 1e6,
            "reasons": "Nothing",
            "partner_id": self.good.id,
            "order_partner_id": self.good.id,
            "requested_by_id": self.credit_manager.id,
            "validity_days": 36500,
            "amount": 1e9,
            "state": "approved",
            "approver_id": self.credit_manager.id,
            "valid_until": "2099-12-31",
            "decision_date": fields.Datetime.now(),
            "is_override": True,
            "currency_id": self.env.ref("base.EUR").id,
            "manager_note": "ok",
        }
        for field_name, value in values.items():
            with self.subTest(field=field_name), self.assertRaises(AccessError):
                request.write({field_name: value})
        request.write({"request_note": "More context"})
        self.assertRecordValues(
            request,
            [{"amount": 500.0, "exposure": 1300.0, "validity_days": 7, "state": "pending"}],
        )
        with self.assertRaises(AccessError):
            request.unlink()

    def test_captured_figures_are_read_only_for_credit_managers_too(self):
        order = self._order()
        order.action_request_credit_approval()
        request = order.credit_approval_ids.with_user(self.credit_manager)
        # Writing a figure as it stands changes nothing: a different one is refused.
        for field_name, value in (
            ("exposure", False),
            ("credit_limit", False),
            ("overdue_amount", 1e6),
            ("reasons", False),
            ("partner_id", False),
        ):
            with self.subTest(field=field_name), self.assertRaises(AccessError):
                request.write({field_name: value})
        with self.assertRaisesRegex(ValidationError, "Validity"):
            request.write({"validity_days": 36500})
        request.write({"validity_days": 30})
        request.action_approve()
        self.assertEqual(request.valid_until, self.today + timedelta(days=30))
        with self.assertRaisesRegex(UserError, "already been decided"):
            request.write({"amount": 1e9})

    # 5. Confirming by writing the state
    def test_writing_state_sale_is_refused_for_a_blocked_order(self):
        order = self._order()
        with self.assertRaisesRegex(UserError, "cannot be confirmed"):
            order.write({"state": "sale"})
        self.assertEqual(order.state, "draft")
        fine = self._order(self.good, 10.0)
        fine.write({"state": "sale"})
        self.assertEqual(fine.state, "sale")

    # 6. Ordering customer and invoiced customer are both checked
    def test_customer_on_hold_cannot_order_through_another_invoice_address(self):
        order = self._order(self.held, 10.0)
        order.partner_invoice_id = self.good
        self.assertEqual(order.credit_status, "blocked")
        with self.assertRaisesRegex(UserError, "Ordering customer Held Customer"):
            order.action_confirm()
        self.assertEqual(order.state, "draft")

    def test_invoice_address_of_a_customer_on_hold_is_checked(self):
        order = self._order(self.good, 10.0)
        order.partner_invoice_id = self.held
        with self.assertRaisesRegex(UserError, "Suspected fraud"):
            order.action_confirm()

    # 8. Portal users read no credit field
    def test_portal_user_reads_no_credit_or_followup_field(self):
        contact = self.env["res.partner"].create(
            {"name": "Portal contact", "parent_id": self.held.id, "email": "p@held.example.com"}
        )
        portal = self._create_user("cc_portal", "base.group_portal")
        portal.partner_id = contact
        own_fields = [
            field
            for model in ("res.partner", "sale.order", "account.move", "account.move.line")
            for field in self.env[model]._fields.values()
            if field._module == "credit_collections"
        ]
        self.assertGreater(len(own_fields), 30)
        for field in own_fields:
            with self.subTest(field=str(field)):
                groups = set((field.groups or "").split(","))
                self.assertTrue(field.groups)
                self.assertFalse(groups & {"base.group_portal", "base.group_public"})
        partner = self.held.with_user(portal)
        partner.read(["name"])
        for field_name in ("credit_hold_reason", "credit_status_reasons", "credit_exposure"):
            with self.subTest(field=field_name), self.assertRaises(AccessError):
                partner.read([field_name])

    # 9. Follow-up bookkeeping is the engine's
    def test_contact_editor_cannot_reset_followup_bookkeeping(self):
        editor = self._create_user(
            "cc_contact_editor", "base.group_user,base.group_partner_manager"
        )
        level = self.env["credit.followup.policy"]._get_company_default(self.company).level_ids[:1]
        values = {
            "followup_level_id": level.id,
            "followup_episode": 7,
            # Within the bounds of a pause: the guard, not the bound, must refuse it.
            "followup_paused_until": fields.Date.to_string(self.today + timedelta(days=30)),
            "followup_last_date": "2020-01-01",
        }
        for user in (editor, self.collector, self.credit_manager):
            for field_name, value in values.items():
                with self.subTest(user=user.login, field=field_name):
                    with self.assertRaises(AccessError):
                        self.customer.with_user(user).write({field_name: value})
                    with self.assertRaises(AccessError):
                        self.env["res.partner"].with_user(user).create(
                            {"name": "New", field_name: value}
                        )
        self.customer.with_user(editor).write({"phone": "+1 555"})

    def test_journal_item_followup_fields_are_not_writable(self):
        invoice = self._create_invoice(self.good, 10.0)
        line = invoice.line_ids.filtered(lambda line: line.account_type == "asset_receivable")
        level = self.env["credit.followup.policy"]._get_company_default(self.company).level_ids[:1]
        with self.assertRaises(AccessError):
            line.with_user(self.accountant).write({"followup_level_id": level.id})
        with self.assertRaises(AccessError):
            line.with_user(self.accountant).write({"followup_date": "2020-01-01"})
        billing = self._create_user("cc_billing", "account.group_account_invoice")
        with self.assertRaises(AccessError):
            line.with_user(billing).write({"followup_excluded": True})
        with self.assertRaises(AccessError):
            invoice.with_user(billing).write({"followup_excluded": True})
        self.assertFalse(line.followup_excluded)

    # 11. Sales' own documents
    def test_salesperson_with_own_documents_sees_only_their_requests(self):
        other = self._create_user("cc_salesperson_2", "sales_team.group_sale_salesman")
        order = self._order()
        order.action_request_credit_approval()
        request = order.credit_approval_ids
        requests = self.env["credit.approval.request"]
        self.assertFalse(requests.with_user(other).search([("id", "=", request.id)]))
        with self.assertRaises(AccessError):
            request.with_user(other).read(["exposure"])
        self.assertEqual(requests.with_user(self.salesperson).search([]), request)
        all_docs = self._create_user("cc_sales_all", "sales_team.group_sale_salesman_all_leads")
        self.assertEqual(requests.with_user(all_docs).search([("id", "=", request.id)]), request)

    # 12. Segregation of duties
    def _selling_credit_manager(self):
        """A credit manager who also sells (the bare role sells nothing)."""
        return self._create_user(
            "cc_selling_manager",
            "sales_team.group_sale_salesman,credit_collections.group_credit_manager",
        )

    def test_credit_manager_cannot_approve_own_request(self):
        manager = self._selling_credit_manager()
        order = self._order(user=manager)
        order.action_request_credit_approval()
        request = order.credit_approval_ids
        with self.assertRaisesRegex(UserError, "Segregation of duties"):
            request.with_user(manager).action_approve()
        self.assertEqual(request.state, "pending")
        request.with_user(self.accountant).action_approve()
        self.assertEqual(request.approver_id, self.accountant)

    def test_credit_manager_cannot_override_own_order(self):
        order = self._order(user=self._selling_credit_manager())
        with self.assertRaisesRegex(UserError, "Segregation of duties"):
            order._credit_override_and_confirm("I say so")
        self.assertEqual(order.state, "draft")
        self.assertFalse(order.sudo().credit_approval_ids)
        self.company.credit_segregation_of_duties = False
        order._credit_override_and_confirm("Allowed by the company")
        self.assertEqual(order.state, "sale")

    # 13. Each role does its job with its group alone
    def test_credit_manager_with_own_documents_approves_another_salesperson_order(self):
        manager = self._create_user(
            "cc_manager_own_docs",
            "sales_team.group_sale_salesman,credit_collections.group_credit_manager",
        )
        order = self._order()
        order.action_request_credit_approval()
        order.credit_approval_ids.with_user(manager).action_approve()
        self.assertEqual(order.credit_approval_ids.approver_id, manager)
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_credit_manager_without_email_approves(self):
        manager = self._create_user(
            "cc_manager_no_email", "credit_collections.group_credit_manager"
        )
        manager.partner_id.email = False
        self.company.email = False
        order = self._order()
        order.action_request_credit_approval()
        order.credit_approval_ids.with_user(manager).action_approve()
        self.assertEqual(order.credit_approval_ids.state, "approved")

    def test_collector_alone_records_a_promise_and_reads_followup_status(self):
        collector = self._create_user("cc_collector_only", "credit_collections.group_credit_user")
        self._create_invoice(self.good, 250.0, days_overdue=20)
        partner = self.good.with_user(collector)
        self.assertIn(partner.followup_status, ("action_needed", "waiting"))
        wizard = (
            self.env["credit.followup.call.wizard"]
            .with_user(collector)
            .create(
                {
                    "partner_id": self.good.id,
                    "outcome": "promised",
                    "amount": 250.0,
                    "promised_date": self.today,
                }
            )
        )
        wizard.action_log()
        promise = self.env["credit.promise"].search([("partner_id", "=", self.good.id)])
        self.assertRecordValues(promise, [{"amount": 250.0, "state": "open"}])
        self.good.invalidate_recordset()
        self.assertEqual(partner.followup_status, "promised")

    # 15. Company-dependent computations
    def test_credit_reasons_follow_the_company_read(self):
        company_b = self.setup_other_company(name="Company B")["company"]
        partner = self.held.with_context(allowed_company_ids=[self.company.id, company_b.id])
        in_a = partner.with_company(self.company).credit_status_reasons
        in_b = partner.with_company(company_b).credit_status_reasons
        self.assertIn("Suspected fraud", in_a)
        self.assertNotIn("Suspected fraud", in_b or "")

    # 10. History is append-only
    def test_followup_history_is_append_only(self):
        self._create_invoice(self.good, 250.0, days_overdue=20)
        self._run_followup_cron()
        history = self.env["credit.followup.history"].search([("partner_id", "=", self.good.id)])
        self.assertTrue(history)
        for user in (self.collector, self.credit_manager, self.accountant, self.salesperson):
            with self.subTest(user=user.login):
                history.with_user(user).read(["summary"])
                with self.assertRaises(AccessError):
                    history.with_user(user).write({"summary": "Nothing happened"})
                with self.assertRaises(AccessError):
                    history.with_user(user).unlink()
                with self.assertRaises(AccessError):
                    self.env["credit.followup.history"].with_user(user).create(
                        {"partner_id": self.good.id, "state": "done", "trigger": "cron"}
                    )
        self.assertNotEqual(history.summary, "Nothing happened")

    def test_collector_cannot_decide_a_promise_outcome_by_hand(self):
        self._create_invoice(self.good, 250.0, days_overdue=20)
        promise = (
            self.env["credit.promise"]
            .with_user(self.collector)
            .create({"partner_id": self.good.id, "amount": 250.0, "promised_date": self.today})
        )
        # The customer owed 250.00 on its overdue items when promising.
        self.assertEqual(promise.residual_at_promise, 250.0)
        for field_name, value in (
            ("state", "kept"),
            ("residual_at_promise", 0.0),
            ("user_id", self.credit_manager.id),
        ):
            with self.subTest(field=field_name), self.assertRaises(AccessError):
                promise.with_user(self.collector).write({field_name: value})
        with self.assertRaises(AccessError):
            promise.with_user(self.collector).unlink()
        promise.with_user(self.collector).action_mark_kept()
        self.assertEqual(promise.state, "kept")
        with self.assertRaises(AccessError):
            promise.with_user(self.salesperson).action_mark_broken()
