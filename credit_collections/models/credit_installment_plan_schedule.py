"""Installment plans: the schedule computed from the items, the fee and the interest."""

import calendar
from datetime import timedelta

from odoo import Command, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .credit_installment_plan import (
    PLAN_STATES,
)


class CreditInstallmentPlan(models.Model):
    _inherit = "credit.installment.plan"

    # ------------------------------------------------------------------
    # Schedule
    # ------------------------------------------------------------------

    def _get_due_dates(self, count):
        """The due dates of count installments from the first due date."""
        self.ensure_one()
        first = self.first_due_date
        if self.frequency in ("weekly", "biweekly"):
            step = 7 if self.frequency == "weekly" else 14
            return [first + timedelta(days=step * index) for index in range(count)]
        months = 3 if self.frequency == "quarterly" else 1
        dates = []
        for index in range(count):
            month_index = first.month - 1 + months * index
            year, month = first.year + month_index // 12, month_index % 12 + 1
            day = min(first.day, calendar.monthrange(year, month)[1])
            dates.append(first.replace(year=year, month=month, day=day))
        return dates

    def _compute_plan_interest(self, dates):
        """Interest on the declining balance: the rescheduled balance less the down
        payment, repaid in equal parts, each part bearing interest from today to
        its due date (actual/365)."""
        self.ensure_one()
        if not self.interest_rate:
            return 0.0
        today = fields.Date.context_today(self)
        principal = self.source_amount - self.down_payment_amount
        if principal <= 0:
            return 0.0
        part = principal / len(dates)
        outstanding, start, interest = principal, today, 0.0
        for due in dates:
            interest += outstanding * self.interest_rate / 100 * (due - start).days / 365
            outstanding -= part
            start = due
        return self.currency_id.round(interest)

    def _check_schedule_input(self):
        self.ensure_one()
        if not self.source_line_ids:
            raise UserError(self.env._("Rescheduled Items: choose the items to reschedule."))
        if self.first_due_date < fields.Date.context_today(self):
            raise UserError(
                self.env._("First Due Date: the first installment cannot be due in the past.")
            )
        self._check_items(self.source_line_ids)
        self._check_amounts_within_total()

    def action_compute_schedule(self):
        """Equal installments of the total less the down payment, the rounding
        remainder on the last one; the down payment due today."""
        # The schedule is written below with the system's rights: the caller must
        # be one who may change the plan.
        self.check_access("write")
        for plan in self:
            if plan.state != "draft":
                raise UserError(
                    self.env._(
                        "Plan %(plan)s is %(state)s: only a draft plan's schedule can be computed.",
                        plan=plan.name,
                        state=dict(PLAN_STATES)[plan.state],
                    )
                )
            plan._check_schedule_input()
            # The items' open amount as it stands now (see PLAN_SYSTEM_FIELDS).
            plan.sudo()._compute_source_amount()
            dates = plan._get_due_dates(plan.installment_count)
            # The plan's own figure, from its schedule (see PLAN_SYSTEM_FIELDS).
            plan.sudo().interest_amount = plan._compute_plan_interest(dates)
            plan._check_amounts_within_total()
            currency = plan.currency_id
            remaining = plan.amount_total - plan.down_payment_amount
            each = currency.round(remaining / plan.installment_count)
            amounts = [each] * (plan.installment_count - 1)
            amounts.append(currency.round(remaining - sum(amounts)))
            commands = [Command.clear()]
            if plan.down_payment_amount:
                commands.append(
                    Command.create(
                        {
                            "sequence": 0,
                            "date_due": fields.Date.context_today(plan),
                            "amount": plan.down_payment_amount,
                        }
                    )
                )
            commands += [
                Command.create({"sequence": index, "date_due": due, "amount": amount})
                for index, (due, amount) in enumerate(zip(dates, amounts, strict=True), 1)
            ]
            plan.line_ids = commands
        return True

    def _check_schedule(self):
        """The schedule as it will be posted: dates to come, amounts that add up
        to the total exactly, items still open for the amount planned."""
        self.ensure_one()
        self._check_schedule_input()
        if not self.line_ids:
            raise UserError(self.env._("Installments: compute the schedule first."))
        currency = self.currency_id
        if currency.compare_amounts(
            sum(self.source_line_ids.mapped("amount_residual_currency")), self.source_amount
        ):
            raise UserError(
                self.env._(
                    "The open amount of the rescheduled items changed since the schedule was "
                    "computed (a payment?): compute the schedule again."
                )
            )
        if any(line.amount <= 0 for line in self.line_ids):
            raise UserError(self.env._("Installments: every installment must have an amount."))
        planned = sum(self.line_ids.mapped("amount"))
        if currency.compare_amounts(planned, self.amount_total):
            raise UserError(
                self.env._(
                    "Installments: they add up to %(planned)s, not to the plan's total of "
                    "%(total)s (difference %(difference)s).",
                    planned=format_amount(self.env, planned, currency),
                    total=format_amount(self.env, self.amount_total, currency),
                    difference=format_amount(self.env, self.amount_total - planned, currency),
                )
            )
        today = fields.Date.context_today(self)
        if any(line.date_due < today for line in self.line_ids):
            raise UserError(self.env._("Installments: no installment can be due in the past."))
