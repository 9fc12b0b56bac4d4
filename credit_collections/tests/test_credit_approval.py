from datetime import timedelta

from freezegun import freeze_time

from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditApproval(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_approver_id = cls.credit_manager
        cls._create_invoice(cls.customer, 800.0)

    def _blocked_order(self, amount=500.0):
        return self._create_order(self.customer, amount, user=self.salesperson).with_user(
            self.salesperson
        )

    def test_request_creates_pending_request_and_activity_for_manager(self):
        order = self._blocked_order()
        order.action_request_credit_approval()
        request = order.credit_approval_ids
        self.assertRecordValues(
            request,
            [
                {
                    "state": "pending",
                    "partner_id": self.customer.id,
                    "amount": 500.0,
                    "exposure": 1300.0,
                    "credit_limit": 1000.0,
                    "requested_by_id": self.salesperson.id,
                    "validity_days": 7,
                }
            ],
        )
        self.assertIn("Over credit limit", request.reasons)
        activity = request.activity_ids
        self.assertEqual(activity.user_id, self.credit_manager)
        self.assertEqual(
            activity.activity_type_id,
            self.env.ref("credit_collections.mail_activity_credit_approval"),
        )
        self.assertIn("Credit approval requested", order.message_ids[0].body)
        self.assertIn("Credit approval requested", self.customer.message_ids[0].body)
        with self.assertRaisesRegex(UserError, "already waiting"):
            order.action_request_credit_approval()

    def test_approved_order_is_confirmed_by_salesperson(self):
        order = self._blocked_order()
        order.action_request_credit_approval()
        request = order.credit_approval_ids
        request.with_user(self.credit_manager).write({"manager_note": "Guaranteed by parent"})
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(request.state, "approved")
        self.assertEqual(request.approver_id, self.credit_manager)
        self.assertEqual(request.valid_until, self.today + timedelta(days=7))
        self.assertFalse(request.activity_ids)
        self.assertIn("Guaranteed by parent", order.message_ids[0].body)
        order.invalidate_recordset()
        self.assertEqual(order.credit_status, "warning")
        order.action_confirm()
        self.assertEqual(order.state, "sale")

    def test_only_managers_decide(self):
        order = self._blocked_order()
        order.action_request_credit_approval()
        request = order.credit_approval_ids
        with self.assertRaises(AccessError):
            request.with_user(self.salesperson).action_approve()
        with self.assertRaises(AccessError):
            request.with_user(self.salesperson).write({"state": "approved"})
        with self.assertRaises(AccessError):
            order.action_approve_credit()
        with self.assertRaises(AccessError):
            request.with_user(self.collector).action_approve()
        self.assertEqual(request.state, "pending")

    def test_rejected_request_keeps_order_blocked(self):
        order = self._blocked_order()
        order.action_request_credit_approval()
        order.with_user(self.credit_manager).action_reject_credit()
        self.assertEqual(order.credit_approval_ids.state, "rejected")
        with self.assertRaises(UserError):
            order.action_confirm()
        self.assertIn("rejected", order.message_ids[0].body)

    def test_amount_increase_needs_new_approval(self):
        order = self._blocked_order()
        order.action_request_credit_approval()
        order.with_user(self.credit_manager).action_approve_credit()
        order.order_line.price_unit = 600.0
        with self.assertRaises(UserError):
            order.action_confirm()
        order.action_request_credit_approval()
        self.assertEqual(
            order.credit_approval_ids.filtered(lambda r: r.state == "pending").amount, 600.0
        )

    def test_approval_expires(self):
        order = self._blocked_order()
        order.action_request_credit_approval()
        order.with_user(self.credit_manager).action_approve_credit()
        request = order.credit_approval_ids
        with freeze_time(self.today + timedelta(days=8)):
            order.invalidate_recordset()
            self.assertEqual(order.credit_status, "blocked")
            with self.assertRaises(UserError):
                order.action_confirm()
            self.env.ref(
                "credit_collections.ir_cron_expire_credit_approvals"
            ).method_direct_trigger()
            self.assertEqual(request.state, "expired")
            self.assertIn("expired", order.message_ids[0].body)

    def test_manager_overrides_with_reason(self):
        order = self._blocked_order()
        wizard = Form(
            self.env["credit.override.wizard"]
            .with_user(self.credit_manager)
            .with_context(default_order_id=order.id)
        )
        wizard.reason = "Strategic customer, CFO agreed"
        wizard.save().action_confirm()
        # A credit manager without Sales rights records the decision; the order's
        # salesperson, told by an activity, confirms it on the strength of it.
        self.assertEqual(order.state, "draft")
        self.assertTrue(order.activity_ids.filtered(lambda act: act.user_id == order.user_id))
        order.with_user(order.user_id).action_confirm()
        self.assertEqual(order.state, "sale")
        request = order.credit_approval_ids
        self.assertRecordValues(
            request,
            [{"state": "approved", "is_override": True, "approver_id": self.credit_manager.id}],
        )
        self.assertTrue(
            any(
                "Strategic customer, CFO agreed" in body
                for body in order.message_ids.mapped("body")
            )
        )
        self.assertTrue(
            any("Credit override" in body for body in self.customer.message_ids.mapped("body"))
        )

    def test_salesperson_cannot_override(self):
        order = self._blocked_order()
        with self.assertRaises(AccessError):
            order._credit_override_and_confirm("Please")
        self.assertEqual(order.state, "draft")
