from datetime import timedelta

from odoo import models
from odoo.tools import SQL, format_amount, format_date


class CreditInterestRun(models.Model):
    """Why a run has nothing to charge, worked out from the data: the run says
    it (a notification, its chatter, its banner) instead of closing silently."""

    _inherit = "credit.interest.run"

    def _get_nothing_to_charge_reason(self):
        """What the run's customers would be charged for and is not, stage by
        stage of _prepare_accrual_vals_list, as one sentence a credit manager
        acts on: "Nothing to charge: every day up to 30/11/2026 is already
        charged for these customers."; only asked of a run with no charge."""
        self.ensure_one()
        items, last_charged = self._get_interest_items()
        reasons = self._reasons_without_items() if not items else self._reasons_of_items(items)
        if not reasons:
            reasons = [
                self.env._("no customer owes late interest on this date")
                if not items
                else self.env._(
                    "the items owing interest could not be charged: see their customers' chatter"
                )
            ]
        return self.env._("Nothing to charge: %(reasons)s.", reasons="; ".join(reasons))

    def _reasons_without_items(self):
        """No item has days left to charge: say which of the overdue items are
        already charged, excluded, or not charged at all (one query)."""
        company = self.company_id
        grace = company.credit_interest_grace_days
        rows = self.env.execute_query(self._overdue_items_sql())
        if not rows:
            if grace:
                return [
                    self.env._(
                        "no item is more than %(days)s days overdue on %(date)s (the grace "
                        "days of the settings)",
                        days=grace,
                        date=format_date(self.env, self.date),
                    )
                ]
            return [
                self.env._(
                    "no overdue item bears interest on %(date)s",
                    date=format_date(self.env, self.date),
                )
            ]
        charged = [date_to for _id, excluded, on_charge, date_to in rows if date_to]
        charged = [date_to for date_to in charged if date_to >= self.date]
        excluded = sum(1 for row in rows if row[1])
        charges = sum(1 for row in rows if row[2] and not row[1])
        others = len(rows) - len(charged) - excluded - charges
        reasons = []
        if charged:
            reasons.append(
                self.env._(
                    "every day up to %(date)s is already charged for these customers",
                    date=format_date(self.env, min(charged)),
                )
            )
        if excluded:
            reasons.append(
                self.env._(
                    "overdue items excluded from follow-ups and interest: %(count)s",
                    count=excluded,
                )
            )
        if charges:
            reasons.append(
                self.env._(
                    "overdue late-interest invoices, which bear no interest (interest on "
                    "interest is off in the settings): %(count)s",
                    count=charges,
                )
            )
        if others > 0:
            reasons.append(
                self.env._(
                    "overdue items covered by their customers' open credits or moved to "
                    "other items: %(count)s",
                    count=others,
                )
            )
        return reasons

    def _overdue_items_sql(self):
        """(id, excluded, is an interest invoice not charged on, last day charged)
        of the company's items overdue past the grace days at the run's date."""
        company = self.company_id
        Line = self.env["account.move.line"]
        self.env["credit.interest.accrual"].flush_model()
        position = Line._receivable_position_sql(
            company, date=self.date, conditions=SQL("line.balance > 0")
        )
        return SQL(
            """
            SELECT position.id, COALESCE(position.followup_excluded, FALSE),
                   move.credit_charge_type IS NOT DISTINCT FROM 'interest' AND NOT %(on_interest)s,
                   charged.date_to
              FROM (%(position)s) position
              JOIN account_move_line line ON line.id = position.id
              JOIN account_move move ON move.id = line.move_id
              LEFT JOIN LATERAL (%(charged)s) charged ON TRUE
             WHERE %(overdue)s
            """,
            on_interest=company.credit_interest_on_interest,
            position=position,
            charged=self._interest_charged_sql(),
            overdue=Line._overdue_sql(
                self.date - timedelta(days=company.credit_interest_grace_days), alias="position"
            ),
        )

    def _reasons_of_items(self, items):
        """Items with days to charge and still no charge: the customers exempt,
        the rates, the minimum (the stages of _prepare_accrual_vals_list)."""
        company = self.company_id
        exempt = items.partner_id.commercial_partner_id.with_company(company).filtered(
            "credit_interest_exempt"
        )
        items = items.filtered(lambda line: line.partner_id.commercial_partner_id not in exempt)
        rates = self.env["credit.interest.rate"]._get_item_rate_tables(company, items)
        # None: the payment terms say no late charges; no rate above 0: none either.
        no_rate = items.filtered(lambda line: not any(rate for _day, rate in rates[line.id] or []))
        rated = items - no_rate
        reasons = []
        if exempt:
            reasons.append(
                self.env._(
                    "exempt from late interest: %(customers)s",
                    customers=", ".join(exempt.mapped("display_name")),
                )
            )
        if no_rate:
            reasons.append(
                self.env._(
                    "overdue items without an interest rate (see their customer's rates, "
                    "their payment terms or Credit & Collections > Configuration > Late "
                    "Interest Rates): %(count)s",
                    count=len(no_rate),
                )
            )
        if rated and company.credit_interest_min_amount:
            reasons.append(
                self.env._(
                    "the interest of %(customers)s is below the minimum of %(minimum)s: "
                    "their days wait for the next run",
                    customers=", ".join(
                        rated.partner_id.commercial_partner_id.mapped("display_name")
                    ),
                    minimum=format_amount(
                        self.env, company.credit_interest_min_amount, company.currency_id
                    ),
                )
            )
        return reasons
