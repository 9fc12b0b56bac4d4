from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models


class CreditReviewScheduler(models.AbstractModel):
    """The scheduled action "schedule credit reviews": an activity for a credit
    manager on each customer whose credit review date comes within its company's
    notice period, once while it is open. A batch job over every company
    (credit.batch.company.mixin): a limit per call, the progress reported, each
    batch in a savepoint, a customer that fails logged on its chatter."""

    _name = "credit.review.scheduler"
    _inherit = ["credit.batch.company.mixin"]
    _description = "Credit Review Scheduler"

    @api.model
    def _cron_run(self, limit=None):
        """Schedule the reviews of the next batch of customers.

        :return: (customers looked at, number left: 0 when the run is over)
        """
        # A system job: every company's customers, whoever runs it.
        return self.sudo()._credit_batch_run(limit)

    def _credit_review_horizon(self, company):
        """Last review date, inclusive, whose activity is scheduled today."""
        return fields.Date.context_today(self) + timedelta(days=company.credit_review_notice_days)

    def _credit_batch_company_next(self, company, after, limit):
        return (
            self.env["res.partner"]
            .with_company(company)
            .search(
                [
                    ("credit_review_date", "!=", False),
                    ("credit_review_date", "<=", self._credit_review_horizon(company)),
                    ("is_company", "=", True),
                    ("id", ">", after),
                ],
                order="id",
                limit=limit,
            )
        )

    def _credit_batch_process(self, records):
        company = records.env.company
        activity_type = self.env.ref("credit_collections.mail_activity_credit_review")
        scheduled = set(
            self.env["mail.activity"]
            .search(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "in", records.ids),
                    ("activity_type_id", "=", activity_type.id),
                ]
            )
            .mapped("res_id")
        )
        approver = self.env["credit.approval.request"]._credit_approvers(company)[:1]
        by_date = defaultdict(lambda: records.browse())
        for partner in records.filtered(lambda partner: partner.id not in scheduled):
            by_date[partner.credit_review_date] |= partner
        note = self.env._(
            "Review the credit limit of this customer for %(company)s.",
            company=company.display_name,
        )
        for review_date, partners in by_date.items():
            # One email per review would flood the credit manager: the reviews wait
            # in their activities.
            partners.with_context(mail_activity_quick_update=True).activity_schedule(
                "credit_collections.mail_activity_credit_review",
                date_deadline=review_date,
                note=note,
                user_id=approver.id or self.env.uid,
            )
