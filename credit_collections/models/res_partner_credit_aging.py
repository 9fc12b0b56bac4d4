# Split from res_partner.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import SQL

from .res_partner import CREDIT_AGING_BUCKETS


class ResPartner(models.Model):
    """The aging of a customer's open receivables (the Credit tab's buckets)."""

    _inherit = "res.partner"

    @api.depends_context("company")
    def _compute_credit_aging(self):
        aging = self._credit_aging_figures(self.commercial_partner_id, self.env.company)
        for partner in self:
            figures = aging.get(partner.commercial_partner_id.id, {})
            partner.credit_aging_not_due = figures.get("credit_aging_not_due", 0.0)
            for field_name, _first, _last in CREDIT_AGING_BUCKETS:
                partner[field_name] = figures.get(field_name, 0.0)

    @api.model
    def _credit_aging_figures(self, partners, company):
        """Open receivables of each commercial partner by age, in company currency,
        in one query: {partner id: {aging field: amount}}.

        The buckets add up to the Credit tab's figures: overdue items (amounts due
        to us, due before today) by days overdue, and "not due" all the rest of the
        open position (items not yet due, less credit notes and payments not yet
        matched).
        """
        if not partners:
            return {}
        today = fields.Date.context_today(self)
        Line = self.env["account.move.line"]
        self.flush_model(["commercial_partner_id"])
        Line.flush_model()
        overdue = Line._overdue_sql(today)
        columns = [SQL("SUM(line.amount_residual) FILTER (WHERE NOT COALESCE(%s, FALSE))", overdue)]
        for _field_name, first, last in CREDIT_AGING_BUCKETS:
            bucket = SQL("line.date_maturity <= %s", today - timedelta(days=first))
            if last:
                bucket = SQL(
                    "%s AND line.date_maturity >= %s", bucket, today - timedelta(days=last)
                )
            columns.append(
                SQL("SUM(line.amount_residual) FILTER (WHERE %s AND %s)", overdue, bucket)
            )
        rows = self.env.execute_query(
            SQL(
                "SELECT partner.commercial_partner_id, %s %s "
                "GROUP BY partner.commercial_partner_id",
                SQL(", ").join(columns),
                Line._open_receivable_sql(
                    company, conditions=SQL("partner.commercial_partner_id = ANY(%s)", partners.ids)
                ),
            )
        )
        names = ["credit_aging_not_due"] + [bucket[0] for bucket in CREDIT_AGING_BUCKETS]
        return {
            row[0]: {name: value or 0.0 for name, value in zip(names, row[1:], strict=True)}
            for row in rows
        }
