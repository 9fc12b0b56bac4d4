from datetime import timedelta
from unittest.mock import patch

from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditReviewSchedule(CreditCollectionsCommon):
    """The scheduled action "schedule credit reviews" on the batch runner: a
    limit per call, the progress reported, a second call resumes, a customer that
    fails is logged on its chatter and the others get their review."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {"credit_approver_id": cls.credit_manager.id, "credit_review_notice_days": 10}
        )
        cls.due = cls.env["res.partner"]
        for index in range(3):
            partner = cls._create_customer(f"Review {index}", limit=100.0)
            partner.with_company(cls.company).credit_review_date = cls.today + timedelta(
                days=index + 1
            )
            cls.due |= partner
        cls.later = cls._create_customer("Review later", limit=100.0)
        cls.later.with_company(cls.company).credit_review_date = cls.today + timedelta(days=30)
        cls.review_type = cls.env.ref("credit_collections.mail_activity_credit_review")

    def _reviews(self, partners):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "in", partners.ids),
                ("activity_type_id", "=", self.review_type.id),
            ]
        )

    def _progress(self):
        cron = self.env.ref("credit_collections.ir_cron_schedule_credit_reviews")
        progress = cron._add_progress()[1]
        partners = self.env["res.partner"].with_context(ir_cron_progress_id=progress.id)
        return partners, progress

    def _run_to_the_end(self, partners, progress, limit):
        batches = []
        for _call in range(500):
            batch, remaining = partners._cron_schedule_credit_reviews(limit=limit)
            self.assertEqual((progress.done, progress.remaining), (len(batch), remaining))
            self.assertLessEqual(len(batch), limit)
            batches.append(batch)
            if not remaining:
                return batches
        self.fail("The credit review run never reported its end.")

    def test_reviews_are_scheduled_in_batches_with_their_progress(self):
        partners, progress = self._progress()
        batches = self._run_to_the_end(partners, progress, limit=2)
        self.assertGreaterEqual(len(batches), 2, "three customers in batches of two")
        reviews = self._reviews(self.due | self.later)
        self.assertEqual(self.env["res.partner"].browse(reviews.mapped("res_id")), self.due)
        for partner in self.due:
            review = reviews.filtered(
                lambda activity, partner=partner: activity.res_id == partner.id
            )
            self.assertEqual(review.user_id, self.credit_manager)
            self.assertEqual(
                review.date_deadline, partner.with_company(self.company).credit_review_date
            )
            self.assertIn(self.company.name, review.note)
            self.assertTrue(review.automated)
        # The next run adds nothing while the reviews are open.
        self._run_to_the_end(partners, progress, limit=2)
        self.assertEqual(self._reviews(self.due | self.later), reviews)

    def test_a_failing_customer_is_logged_and_the_others_get_their_review(self):
        bad = self.due[1]
        Scheduler = type(self.env["credit.review.scheduler"])
        process = Scheduler._credit_batch_process

        def broken_process(scheduler, records):
            if bad in records:
                raise ValueError("Broken review")
            return process(scheduler, records)

        partners, progress = self._progress()
        with patch.object(Scheduler, "_credit_batch_process", broken_process):
            self._run_to_the_end(partners, progress, limit=10)
        reviewed = self.env["res.partner"].browse(self._reviews(self.due).mapped("res_id"))
        self.assertEqual(reviewed, self.due - bad)
        self.assertIn("Broken review", bad.message_ids[0].body)
        # The next run schedules it.
        self._run_to_the_end(partners, progress, limit=10)
        self.assertEqual(len(self._reviews(self.due)), 3)

    def test_each_company_reviews_its_own_customers_with_its_own_notice(self):
        other = self.setup_other_company(name="Review Company")["company"]
        approver = self._create_user("cc_other_manager", "base.group_user", company=other)
        other.write({"credit_approver_id": approver.id, "credit_review_notice_days": 40})
        self.later.with_company(other).credit_review_date = self.today + timedelta(days=35)
        partners, progress = self._progress()
        self._run_to_the_end(partners, progress, limit=100)
        review = self._reviews(self.later)
        # Due in 30 days for the first company (10 days' notice: not yet), in 35
        # for the other (40 days' notice).
        self.assertEqual(len(review), 1)
        self.assertEqual(review.user_id, approver)
        self.assertEqual(review.date_deadline, self.today + timedelta(days=35))
        self.assertIn("Review Company", review.note)
