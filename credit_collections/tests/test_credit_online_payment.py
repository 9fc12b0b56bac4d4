"""A customer pays a quotation online with Odoo's demo payment provider
(payment_demo, installed with the addon by bin/test and bin/dev-test): the
payment is always booked, the credit hold decides whether the order is confirmed."""

from unittest.mock import patch

from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditOnlinePayment(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_approver_id = cls.credit_manager
        cls.salesperson_alone = cls._create_user(
            "cc_pay_salesperson", "sales_team.group_sale_salesman"
        )
        # 800.00 open, not yet due, against a 1,000.00 limit.
        cls._create_invoice(cls.customer, 800.0)
        demo = cls.env.ref("payment.payment_provider_demo", raise_if_not_found=False)
        if not demo:
            raise AssertionError(
                "payment_demo is not installed: bin/test and bin/dev-test install it."
            )
        cls.provider = demo.sudo().copy({"company_id": cls.company.id, "name": "Demo (test)"})
        cls.provider.write({"state": "test", "is_published": True})
        cls.payment_method = cls.env.ref("payment_demo.payment_method_demo")
        cls.cron = cls.env.ref("payment.cron_post_process_payment_tx")

    def _quotation(self, amount):
        order = self._create_order(self.customer, amount, user=self.salesperson_alone)
        order.action_quotation_sent()
        return order

    def _pay_online(self, order, amount):
        """What the portal's payment form and the demo provider do: a transaction for
        the quotation, then the provider's notification that it is paid; the
        scheduled action then post-processes it, as it does every few minutes."""
        tx = (
            self.env["payment.transaction"]
            .sudo()
            .create(
                {
                    "provider_id": self.provider.id,
                    "payment_method_id": self.payment_method.id,
                    "amount": amount,
                    "currency_id": order.currency_id.id,
                    "partner_id": order.partner_invoice_id.id,
                    "operation": "online_direct",
                    "reference": f"{order.name}-pay",
                    "sale_order_ids": [(6, 0, order.ids)],
                }
            )
        )
        self.env["payment.transaction"].sudo()._handle_notification_data(
            "demo",
            {"reference": tx.reference, "payment_details": "4242", "simulated_state": "done"},
        )
        self.assertEqual(tx.state, "done")
        self._run_payment_cron()
        tx.invalidate_recordset()
        return tx

    def _run_payment_cron(self):
        """The payment scheduled action, which commits after each transaction and
        rolls back the one that fails: a rollback fails the test."""

        def rollback():
            raise AssertionError("The payment post-processing failed and was rolled back.")

        with (
            patch.object(self.env.cr, "commit", lambda: None),
            patch.object(self.env.cr, "rollback", rollback),
            self.assertNoLogs("odoo.addons.payment.models.payment_transaction", "ERROR"),
        ):
            self.cron.method_direct_trigger()

    def test_blocked_quotation_paid_in_part_keeps_the_payment_and_waits_for_credit(self):
        # 800.00 open + a 500.00 order = 1,300.00 > 1,000.00: blocked. The customer
        # pays 200.00 of it (the quotation asks for a prepayment of 40 %).
        order = self._quotation(500.0)
        order.write({"require_payment": True, "prepayment_percent": 0.4})
        tx = self._pay_online(order, 200.0)
        self.assertTrue(tx.is_post_processed)
        self.assertTrue(tx.payment_id, "The payment received is booked.")
        self.assertEqual(tx.payment_id.amount, 200.0)
        self.assertEqual(order.state, "sent")
        request = order.sudo().credit_approval_ids
        self.assertRecordValues(
            request,
            [
                {
                    "state": "pending",
                    "requested_by_id": self.env.ref("base.user_root").id,
                    "amount": 500.0,
                }
            ],
        )
        self.assertIn("Paid online", request.request_note)
        self.assertIn(tx.reference, request.request_note)
        self.assertEqual(request.activity_ids.user_id, self.credit_manager)
        self.assertIn(self.salesperson_alone, order.activity_ids.user_id)
        # The scheduled action runs again: nothing fails, nothing is booked twice.
        self._run_payment_cron()
        self.assertEqual(len(order.transaction_ids.payment_id), 1)
        self.assertEqual(len(order.sudo().credit_approval_ids), 1)
        # The credit manager approves; the salesperson confirms.
        request.with_user(self.credit_manager).action_approve()
        order.with_user(self.salesperson_alone).action_confirm()
        self.assertEqual(order.state, "sale")

    def test_blocked_quotation_paid_in_full_is_confirmed(self):
        # Paid in full (500.00 of 500.00), the order grants no credit: the amount
        # rules do not hold it, as the README says.
        order = self._quotation(500.0)
        tx = self._pay_online(order, 500.0)
        self.assertEqual(order.state, "sale")
        self.assertTrue(tx.payment_id)
        self.assertFalse(order.sudo().credit_approval_ids)

    def test_customer_on_hold_paying_in_full_waits_for_credit(self):
        # A manual hold holds even a paid order: the payment is kept all the same.
        self.customer.with_company(self.company).write(
            {"credit_hold": True, "credit_hold_reason": "Disputed ownership"}
        )
        order = self._quotation(100.0)
        tx = self._pay_online(order, 100.0)
        self.assertTrue(tx.payment_id)
        self.assertEqual(tx.payment_id.amount, 100.0)
        self.assertEqual(order.state, "sent")
        self.assertEqual(order.sudo().credit_approval_ids.state, "pending")

    def test_quotation_within_credit_paid_online_is_confirmed_as_usual(self):
        other = self._create_customer("Paying Customer", limit=10000.0)
        order = self._create_order(other, 300.0, user=self.salesperson_alone)
        order.write({"require_payment": True, "prepayment_percent": 0.5})
        tx = self._pay_online(order, 150.0)
        self.assertEqual(order.state, "sale")
        self.assertTrue(tx.payment_id)
