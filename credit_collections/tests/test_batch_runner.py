from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import SQL

from ..models.credit_batch_mixin import CUSTOMER_LOCK_KEY
from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestBatchRunner(CreditCollectionsCommon):
    """credit.batch.mixin, through a job that uses it: approval expiry."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_approver_id = cls.credit_manager
        cls._create_invoice(cls.customer, 800.0)

    def _approved_requests(self, count):
        requests = self.env["credit.approval.request"]
        for _index in range(count):
            order = self._create_order(self.customer, 500.0, user=self.salesperson)
            order.with_user(self.salesperson).action_request_credit_approval()
            order.with_user(self.credit_manager).action_approve_credit()
            requests |= order.credit_approval_ids
        return requests.sorted("id")

    def _progress(self):
        cron = self.env.ref("credit_collections.ir_cron_expire_credit_approvals")
        cron, progress = cron._add_progress()
        return cron.env.context["ir_cron_progress_id"], progress

    def test_failing_record_is_logged_and_the_others_are_processed(self):
        requests = self._approved_requests(3)
        bad = requests[1]
        Request = type(self.env["credit.approval.request"])
        original = Request._credit_batch_process

        def process(model, records):
            if bad in records:
                raise UserError(model.env._("Broken approval"))
            return original(model, records)

        with (
            freeze_time(self.today + timedelta(days=8)),
            patch.object(Request, "_credit_batch_process", process),
        ):
            self.env["credit.approval.request"]._cron_expire_credit_approvals()
        self.assertEqual(requests.mapped("state"), ["expired", "approved", "expired"])
        self.assertIn("Broken approval", bad.message_ids[0].body)
        self.assertIn("could not process", bad.message_ids[0].body)

    def test_progress_is_reported_and_a_second_call_resumes(self):
        requests = self._approved_requests(3)
        progress_id, progress = self._progress()
        Request = self.env["credit.approval.request"].with_context(ir_cron_progress_id=progress_id)
        with freeze_time(self.today + timedelta(days=8)):
            batch, remaining = Request._cron_expire_credit_approvals(limit=2)
            self.assertEqual(batch, requests[:2])
            self.assertEqual((progress.done, progress.remaining), (2, 1))
            self.assertEqual(requests.mapped("state"), ["expired", "expired", "approved"])
            # A crash now loses nothing: the cursor says where to go on.
            self.env.invalidate_all()
            batch, remaining = Request._cron_expire_credit_approvals(limit=2)
            self.assertEqual(batch, requests[2])
            self.assertEqual((progress.done, progress.remaining), (1, 0))
            self.assertEqual(requests.mapped("state"), ["expired"] * 3)
            # The run is over: the next one starts from the beginning.
            self.assertEqual(Request._credit_batch_cursor(), 0)
            batch, remaining = Request._cron_expire_credit_approvals(limit=2)
            self.assertFalse(batch)

    def test_the_runner_never_commits(self):
        self._approved_requests(2)
        progress_id, _progress = self._progress()
        with (
            freeze_time(self.today + timedelta(days=8)),
            patch.object(type(self.env.cr), "commit") as commit,
        ):
            self.env["credit.approval.request"].with_context(
                ir_cron_progress_id=progress_id
            )._cron_expire_credit_approvals(limit=1)
            self.env["credit.approval.request"]._cron_expire_credit_approvals(limit=1)
        commit.assert_not_called()

    def test_try_lock_skips_customers_another_transaction_holds(self):
        mixin = self.env["credit.batch.mixin"]
        other = self.env["res.partner"].create({"name": "Other customer"})
        contact = self.env["res.partner"].create({"name": "Buyer", "parent_id": self.customer.id})
        with self.env.registry.cursor() as cr:
            # A second worker holds the customer (its contact's lock is the customer's).
            cr.execute(
                SQL("SELECT pg_advisory_xact_lock(%s, %s)", CUSTOMER_LOCK_KEY, self.customer.id)
            )
            self.assertEqual(mixin._credit_try_lock_customers(contact | other), other)
        self.assertEqual(mixin._credit_try_lock_customers(contact), self.customer)
