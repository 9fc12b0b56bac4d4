"""Installment plans: who may activate, and the activation booking."""

from markupsafe import Markup, escape
from psycopg2 import errors

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL, format_amount

from .credit_installment_plan import (
    ACTIVATION_ACTIVITY,
    EDITABLE_STATES,
    RUNNING_STATES,
)


class CreditInstallmentPlan(models.Model):
    _inherit = "credit.installment.plan"

    may_activate = fields.Boolean(
        compute="_compute_may_activate",
        help="Whether you may activate this plan, and cancel it once running (credit "
        "managers, and collectors up to the company's amount): the form shows Activate "
        "to them only.",
    )

    # ------------------------------------------------------------------
    # Activation
    # ------------------------------------------------------------------

    @api.depends("amount_total", "currency_id", "company_id")
    @api.depends_context("uid")
    def _compute_may_activate(self):
        for plan in self:
            plan.may_activate = plan._may_activate(self.env.user)

    def _may_activate(self, user):
        """Whether user may activate the plan, and so cancel it once running:
        credit managers, and collectors up to the company's amount when it sets
        one."""
        self.ensure_one()
        if user._is_superuser() or user.has_group("credit_collections.group_credit_manager"):
            return True
        company = self.company_id
        limit = company.credit_plan_collector_max_amount
        total = self.currency_id._convert(
            self.amount_total, company.currency_id, company, fields.Date.context_today(self)
        )
        return bool(
            limit
            and user.has_group("credit_collections.group_credit_user")
            and company.currency_id.compare_amounts(total, limit) <= 0
        )

    def _check_can_activate(self, operation="activate"):
        """Refuse, saying what was tried, when the user may not activate the plans
        (operation "activate") or cancel them once running ("cancel")."""
        if self.env.su:
            return
        for plan in self:
            if plan._may_activate(self.env.user):
                continue
            plan_name = plan.name
            total = format_amount(self.env, plan.amount_total, plan.currency_id)
            limit = plan.company_id.credit_plan_collector_max_amount
            limit = limit and format_amount(self.env, limit, plan.company_id.currency_id)
            if operation == "cancel":
                message = self.env._(
                    "Only a credit manager can cancel running plan %(plan)s (%(total)s): "
                    "cancelling it books what is unpaid back on the original items.",
                    plan=plan_name,
                    total=total,
                )
                if limit:
                    message += " " + self.env._(
                        "Collectors may cancel running plans up to %(limit)s.", limit=limit
                    )
            else:
                message = self.env._(
                    "Only a credit manager can activate plan %(plan)s (%(total)s).",
                    plan=plan_name,
                    total=total,
                )
                if limit:
                    message += " " + self.env._(
                        "Collectors may activate plans up to %(limit)s.", limit=limit
                    )
            raise AccessError(message)

    def _lock_for_activation(self):
        """Lock the plans' rows, refusing at once when another transaction holds
        them or changed them since this one began (two tabs activating at once)."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM credit_installment_plan WHERE id = ANY(%s) "
                        "FOR NO KEY UPDATE NOWAIT",
                        self.ids,
                    ),
                    log_exceptions=False,
                )
        except (errors.LockNotAvailable, errors.SerializationFailure) as error:
            raise UserError(
                self.env._(
                    "This plan is being activated or changed at this moment: reload it and "
                    "try again."
                )
            ) from error

    def action_activate(self):
        """Post the rescheduling entry: the items (and the fee and interest
        invoice) cleared into one receivable item per installment."""
        self.check_access("write")
        self._check_can_activate()
        self._lock_for_activation()
        for plan in self:
            if plan.state not in EDITABLE_STATES:
                raise UserError(self.env._("Plan %(plan)s is already activated.", plan=plan.name))
            plan._check_schedule()
        self._activate()
        return True

    def _activate(self):
        """Post the plans' entries together: created, posted and reconciled in one
        pass whatever the number of plans."""
        # The plans' own bookings, made for whoever may activate them (a collector
        # under the company's amount): their rights are checked by action_activate.
        plans = self.sudo()
        charges = {plan.id: plan._create_charge_invoice() for plan in plans}
        items = {
            plan.id: plan.source_line_ids
            | charges[plan.id].line_ids.filtered(
                lambda line: line.account_id.account_type == "asset_receivable"
            )
            for plan in plans
        }
        moves = (
            self.env["account.move"]
            .sudo()
            .create([plan._prepare_move_vals(items[plan.id]) for plan in plans])
        )
        moves.action_post()
        counterparts = moves.line_ids.filtered("credit_installment_source_id")
        plans._reconcile_pairs(counterparts)
        today = fields.Date.context_today(self)
        for plan, move in zip(plans, moves, strict=True):
            # Installments of the same date and amount are interchangeable.
            installments = (move.line_ids - counterparts).sorted(
                lambda line: (line.date_maturity, line.amount_currency, line.id)
            )
            for line, item in zip(
                plan.line_ids.sorted(lambda line: (line.date_due, line.amount, line.sequence)),
                installments,
                strict=True,
            ):
                line.move_line_id = item
            plan.write(
                {
                    "state": "active",
                    "move_id": move.id,
                    "charge_move_id": charges[plan.id].id,
                    "date_activated": today,
                }
            )
        plans._log_rescheduling()
        plans.activity_feedback([ACTIVATION_ACTIVITY])
        plans._end_finished_followup_episodes()

    def _end_finished_followup_episodes(self):
        """The plans took their customers' overdue items: a customer with nothing
        overdue left reads no follow-up level at once, not after the next run
        (the follow-up engine decides, see _end_finished_episodes)."""
        # sudo: the follow-up bookkeeping is the system's, whoever activates.
        engine = self.env["credit.followup.engine"].sudo()
        for company, plans in self.grouped("company_id").items():
            engine._end_finished_episodes(plans.partner_id, company)

    def action_register_payment(self):
        """Odoo's payment wizard on the plan's open installments: what the customer
        pays settles the oldest installment first. Payments are booked by
        Invoicing users, as everywhere in Odoo: who chases a debt does not also
        record the money received against it (see README, Installment plans)."""
        self.ensure_one()
        self.check_access("read")
        if not self.env.user.has_group("account.group_account_invoice"):
            raise AccessError(
                self.env._(
                    "Registering a payment on plan %(plan)s needs Invoicing rights (Billing or "
                    "Accountant): ask your accounting team to record it, or send the customer "
                    "the plan's page, where each installment can be paid online.",
                    plan=self.name,
                )
            )
        items = self.line_ids.move_line_id.filtered(lambda item: not item.reconciled)
        if self.state not in RUNNING_STATES or not items:
            raise UserError(self.env._("This plan has no open installment to pay."))
        return items.sorted(lambda item: (item.date_maturity, item.id)).action_register_payment()

    def _reconcile_pairs(self, counterparts):
        """Reconcile each line with the item it clears, all pairs in one pass."""
        self.env["account.move.line"]._reconcile_plan(
            [line | line.credit_installment_source_id for line in counterparts]
        )

    def _create_charge_invoice(self):
        """The plan's fee and interest, invoiced once at activation."""
        company = self.company_id
        lines = []
        if self.fee_amount:
            lines.append(
                {
                    "product_id": company.credit_plan_fee_product_id.id,
                    "name": self.env._("Installment plan fee - %(plan)s", plan=self.name),
                    "quantity": 1,
                    "price_unit": self.fee_amount,
                    "tax_ids": [Command.clear()],
                }
            )
        if self.interest_amount:
            lines.append(
                {
                    "product_id": company.credit_interest_product_id.id,
                    "name": self.env._(
                        "Installment plan interest at %(rate)s %% a year - %(plan)s",
                        rate=self._format_rate(),
                        plan=self.name,
                    ),
                    "quantity": 1,
                    "price_unit": self.interest_amount,
                    "tax_ids": [Command.clear()],
                }
            )
        if not lines:
            return self.env["account.move"]
        return (
            self.env["account.move"]
            .with_company(company)
            ._credit_create_charge_invoices(
                "plan",
                [
                    {
                        "partner_id": self.partner_id.id,
                        "company_id": company.id,
                        "currency_id": self.currency_id.id,
                        "invoice_date": fields.Date.context_today(self),
                        "invoice_date_due": fields.Date.context_today(self),
                        "invoice_payment_term_id": False,
                        "ref": self.name,
                        "invoice_line_ids": [Command.create(vals) for vals in lines],
                    }
                ],
            )
        )

    def _format_rate(self):
        return f"{self.interest_rate:g}"

    def _get_journal(self):
        company = self.company_id
        return company.credit_plan_journal_id or self.env["account.journal"].search(
            [
                ("type", "=", "general"),
                *self.env["account.journal"]._check_company_domain(company),
            ],
            limit=1,
        )

    def _prepare_move_vals(self, items):
        """The rescheduling entry: a credit line per item for its open amount,
        a debit line per installment, due on its date. Amounts are exact in both
        currencies: the installments share the items' company-currency balance in
        proportion to their amounts, the remainder on the last."""
        self.ensure_one()
        journal = self._get_journal()
        if not journal:
            raise UserError(
                self.env._(
                    "Set the journal of installment plans in Settings > Credit & Collections."
                )
            )
        line_vals = [
            {
                "name": self.env._(
                    "%(item)s rescheduled into %(plan)s",
                    item=item.move_id.name,
                    plan=self.name,
                ),
                "account_id": item.account_id.id,
                "partner_id": self.partner_id.id,
                "currency_id": self.currency_id.id,
                "amount_currency": -item.amount_residual_currency,
                "balance": -item.amount_residual,
                "credit_installment_source_id": item.id,
            }
            for item in items
        ]
        return {
            "move_type": "entry",
            "journal_id": journal.id,
            "company_id": self.company_id.id,
            "date": fields.Date.context_today(self),
            "ref": self.name,
            "currency_id": self.currency_id.id,
            "credit_installment_plan_id": self.id,
            "line_ids": [
                Command.create(vals)
                for vals in line_vals + self._prepare_installment_line_vals(items)
            ],
        }

    def _prepare_installment_line_vals(self, items):
        """A debit line per installment, due on its date, for its amount; the
        installments share the items' company-currency balance in proportion to
        their amounts, the rounding remainder on the last."""
        self.ensure_one()
        balance_total = sum(items.mapped("amount_residual"))
        amount_total = sum(items.mapped("amount_residual_currency"))
        installments = self.line_ids.sorted(lambda line: (line.sequence, line.id))
        company_currency = self.company_id.currency_id
        balances = [
            company_currency.round(balance_total * line.amount / amount_total)
            for line in installments[:-1]
        ]
        balances.append(company_currency.round(balance_total - sum(balances)))
        return [
            {
                "name": line._get_label(),
                "account_id": items.account_id.id,
                "partner_id": self.partner_id.id,
                "currency_id": self.currency_id.id,
                "amount_currency": line.amount,
                "balance": balance,
                "date_maturity": line.date_due,
            }
            for line, balance in zip(installments, balances, strict=True)
        ]

    def _log_rescheduling(self):
        """Say on the plans, their customers and each source invoice what
        happened, in one batch each."""
        activated = Markup(
            escape(
                self.env._(
                    "Activated: %(items)s rescheduled into %(count)s installments by %(entry)s."
                )
            )
        )
        rescheduled = Markup(
            escape(
                self.env._(
                    "Rescheduled into installment plan %(plan)s: the plan's entry, not a "
                    "payment, settled it."
                )
            )
        )
        customer = Markup(escape(self.env._("Installment plan %(plan)s activated.")))
        plan_bodies, partner_bodies, source_bodies = {}, {}, {}
        for plan in self:
            link = plan._get_html_link()
            sources = plan.source_line_ids.move_id
            plan_bodies[plan.id] = activated % {
                "items": Markup(", ").join(move._get_html_link() for move in sources),
                "count": len(plan.line_ids),
                "entry": plan.move_id._get_html_link(),
            }
            partner_bodies.setdefault(plan.partner_id.id, []).append(customer % {"plan": link})
            for move in sources:
                source_bodies[move.id] = rescheduled % {"plan": link}
        self._message_log_batch(bodies=plan_bodies)
        self.env["res.partner"].browse(partner_bodies)._message_log_batch(
            bodies={key: Markup("<br/>").join(lines) for key, lines in partner_bodies.items()}
        )
        self.env["account.move"].browse(source_bodies)._message_log_batch(bodies=source_bodies)
