"""Installment plans: the cancellation booking."""

from markupsafe import Markup, escape

from odoo import Command, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .credit_installment_plan import (
    ACTIVATION_ACTIVITY,
    PLAN_STATES,
    RUNNING_STATES,
)


class CreditInstallmentPlan(models.Model):
    _inherit = "credit.installment.plan"

    # ------------------------------------------------------------------
    # Cancellation
    # ------------------------------------------------------------------

    def action_cancel(self):
        """Cancel a plan. A running plan's unpaid part comes back as open items
        with each source's original due date and reference."""
        # The state and the cancellation entry are written with the system's
        # rights: the caller must be one who may change the plan.
        self.check_access("write")
        for plan in self:
            if plan.state in ("done", "cancelled"):
                raise UserError(
                    self.env._(
                        "Plan %(plan)s is %(state)s: it cannot be cancelled.",
                        plan=plan.name,
                        state=dict(PLAN_STATES)[plan.state],
                    )
                )
            if plan.state in RUNNING_STATES:
                plan._check_can_activate("cancel")
                plan._lock_for_activation()
                plan._lock_plan_customers()
                plan._restore_unpaid()
            # The plan's own outcome (see PLAN_SYSTEM_FIELDS).
            plan.sudo().state = "cancelled"
            plan.sudo().activity_unlink([ACTIVATION_ACTIVITY])
        return True

    def _restore_unpaid(self):
        """Book the cancellation: a credit line per open installment for what is
        left of it (reconciled with it), a debit line per source for what is
        left of it, the payments made counted against the oldest sources first."""
        self.ensure_one()
        # The plan's own booking (see _activate).
        plan = self.sudo()
        open_items = plan.line_ids.move_line_id.filtered(lambda item: not item.reconciled)
        if not open_items:
            return
        unpaid = sum(open_items.mapped("amount_residual_currency"))
        move = (
            self.env["account.move"]
            .sudo()
            .create(plan._prepare_cancel_move_vals(open_items, plan._get_owed_sources(open_items)))
        )
        move.action_post()
        plan._reconcile_pairs(move.line_ids.filtered("credit_installment_source_id"))
        plan.cancel_move_id = move
        plan._log_cancellation(move, unpaid)

    def _get_owed_sources(self, open_items):
        """What each source item owes again once the plan is cancelled, the
        unpaid part of the open installments shared out from the newest source
        back, so that the payments made count against the oldest sources.

        :return: [(source item, amount in the plan's currency, balance in the
            company's)], oldest first; the balances add up to the open
            installments' exactly
        """
        self.ensure_one()
        unpaid = sum(open_items.mapped("amount_residual_currency"))
        unpaid_balance = sum(open_items.mapped("amount_residual"))
        sources = self.move_id.line_ids.filtered("credit_installment_source_id").sorted(
            lambda line: (line.credit_installment_source_id.date_maturity or line.date, line.id)
        )
        left = unpaid
        owed = []
        for source in reversed(sources):
            amount = min(-source.amount_currency, left)
            left -= amount
            if amount:
                owed.append((source.credit_installment_source_id, amount))
        owed.reverse()
        company_currency = self.company_id.currency_id
        balances = [
            company_currency.round(unpaid_balance * amount / unpaid) for _item, amount in owed[:-1]
        ]
        balances.append(company_currency.round(unpaid_balance - sum(balances)))
        return [
            (item, amount, balance) for (item, amount), balance in zip(owed, balances, strict=True)
        ]

    def _prepare_cancel_move_vals(self, open_items, owed):
        """The cancellation entry: a credit line per open installment for what is
        left of it, a debit line per source for what it owes again, due on its
        original date (see _get_owed_sources)."""
        self.ensure_one()
        line_vals = [
            {
                "name": self.env._("Open installment of %(plan)s, plan cancelled", plan=self.name),
                "account_id": item.account_id.id,
                "partner_id": self.partner_id.id,
                "currency_id": self.currency_id.id,
                "amount_currency": -item.amount_residual_currency,
                "balance": -item.amount_residual,
                "credit_installment_source_id": item.id,
            }
            for item in open_items
        ] + [
            {
                "name": self.env._(
                    "%(reference)s, back from cancelled plan %(plan)s",
                    reference=item.move_id.name,
                    plan=self.name,
                ),
                "account_id": item.account_id.id,
                "partner_id": self.partner_id.id,
                "currency_id": self.currency_id.id,
                "amount_currency": amount,
                "balance": balance,
                "date_maturity": item.date_maturity,
            }
            for item, amount, balance in owed
        ]
        return {
            "move_type": "entry",
            "journal_id": self.move_id.journal_id.id,
            "company_id": self.company_id.id,
            "date": fields.Date.context_today(self),
            "ref": self.env._("%(plan)s cancelled", plan=self.name),
            "currency_id": self.currency_id.id,
            "credit_installment_plan_id": self.id,
            "line_ids": [Command.create(vals) for vals in line_vals],
        }

    def _log_cancellation(self, move, unpaid):
        self.ensure_one()
        self.message_post(
            body=Markup(
                escape(
                    self.env._(
                        "Cancelled: %(amount)s unpaid is owed again on the original items "
                        "(%(entry)s)."
                    )
                )
            )
            % {
                "amount": format_amount(self.env, unpaid, self.currency_id),
                "entry": move._get_html_link(),
            },
            subtype_xmlid="mail.mt_note",
        )
