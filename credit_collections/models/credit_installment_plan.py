import calendar
from datetime import timedelta

from markupsafe import Markup, escape
from psycopg2 import errors

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, format_amount

from .credit_guarded_mixin import SYSTEM

PLAN_STATES = [
    ("draft", "Draft"),
    ("proposed", "Proposed"),
    ("active", "Active"),
    ("done", "Paid"),
    ("defaulted", "Defaulted"),
    ("cancelled", "Cancelled"),
]
FREQUENCIES = [
    ("weekly", "Weekly"),
    ("biweekly", "Every Two Weeks"),
    ("monthly", "Monthly"),
    ("quarterly", "Quarterly"),
    ("custom", "Custom"),
]
# States in which the schedule is still a proposal: editable, nothing posted.
EDITABLE_STATES = ("draft", "proposed")
# States in which the installments are the customer's receivable items.
RUNNING_STATES = ("active", "defaulted")
# Set by the plan itself (activation, the daily check, cancellation), never by
# hand: writing them would activate or close a plan without its entry.
PLAN_SYSTEM_FIELDS = {
    "state",
    "move_id",
    "charge_move_id",
    "cancel_move_id",
    "date_activated",
    "date_defaulted",
    "interest_amount",
    # Derived from the items and the charges: a total written by hand would
    # post installments the items do not add up to.
    "source_amount",
    "amount_total",
    "signed_by",
    "signed_on",
    "signature_ip",
    "proposed_by_id",
    "name",
}
# The schedule a collector drafts, and the plan's chatter and portal bookkeeping.
PLAN_FREE_FIELDS = {
    "partner_id",
    "company_id",
    "currency_id",
    "source_line_ids",
    "fee_amount",
    "interest_rate",
    "down_payment_amount",
    "installment_count",
    "frequency",
    "first_due_date",
    "line_ids",
    "user_id",
    "note",
    "disputed_confirmed",
}
# What may still change on a proposed or running plan: nothing the customer signs.
PLAN_UNFROZEN_FIELDS = {"note", "user_id", "activity_ids", "message_follower_ids"}
# The activity of a credit manager who activates a plan its customer accepted.
ACTIVATION_ACTIVITY = "credit_collections.mail_activity_credit_plan_activation"
MAX_INSTALLMENTS = 120
# Plans checked per call of the scheduled action.
BATCH_SIZE = 500


class CreditInstallmentPlan(models.Model):
    """A customer's open receivable items rescheduled into dated installments.

    Activation posts one entry that clears the items (a credit line per item,
    reconciled with it) into one receivable item per installment (debit lines
    due on the installments' dates): from then on the installments are
    ordinary open receivable items that payments, follow-ups, interest and the
    credit check see as they are, the customer's balance unchanged.
    """

    _name = "credit.installment.plan"
    _inherit = ["portal.mixin", "mail.thread", "mail.activity.mixin", "credit.guarded.mixin"]
    _description = "Installment Plan"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(readonly=True, copy=False, default="/", tracking=True)
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        tracking=True,
        domain="[('is_company', '=', True)]",
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(
        "res.currency", required=True, default=lambda self: self.env.company.currency_id
    )
    source_line_ids = fields.Many2many(
        "account.move.line",
        "credit_installment_plan_source_rel",
        "plan_id",
        "move_line_id",
        string="Rescheduled Items",
        check_company=True,
        copy=False,
    )
    source_amount = fields.Monetary(
        string="Rescheduled Balance",
        compute="_compute_source_amount",
        store=True,
        help="Open amount of the rescheduled items when the schedule was computed.",
    )
    fee_amount = fields.Monetary(string="Plan Fee", tracking=True)
    interest_rate = fields.Float(
        string="Interest (% a Year)",
        digits=(16, 4),
        tracking=True,
        help="Annual rate on the declining balance, invoiced once at activation.",
    )
    interest_amount = fields.Monetary(string="Plan Interest", readonly=True, copy=False)
    amount_total = fields.Monetary(
        string="Total", compute="_compute_amount_total", store=True, tracking=True
    )
    down_payment_amount = fields.Monetary(string="Down Payment", tracking=True)
    installment_count = fields.Integer(string="Number of Installments", default=6, tracking=True)
    frequency = fields.Selection(
        selection=FREQUENCIES, default="monthly", required=True, tracking=True
    )
    first_due_date = fields.Date(
        required=True,
        default=lambda self: fields.Date.context_today(self) + timedelta(days=30),
        tracking=True,
    )
    state = fields.Selection(
        selection=PLAN_STATES, default="draft", required=True, tracking=True, index=True, copy=False
    )
    move_id = fields.Many2one(
        "account.move",
        string="Rescheduling Entry",
        readonly=True,
        copy=False,
        index=True,
        check_company=True,
    )
    charge_move_id = fields.Many2one(
        "account.move",
        string="Fee and Interest Invoice",
        readonly=True,
        copy=False,
        check_company=True,
    )
    cancel_move_id = fields.Many2one(
        "account.move",
        string="Cancellation Entry",
        readonly=True,
        copy=False,
        check_company=True,
    )
    line_ids = fields.One2many(
        "credit.installment.line", "plan_id", string="Installments", copy=False
    )
    user_id = fields.Many2one(
        "res.users",
        string="Collector",
        default=lambda self: self.env.user,
        tracking=True,
        domain="[('share', '=', False)]",
    )
    note = fields.Html()
    disputed_confirmed = fields.Boolean(
        string="Include Disputed Items",
        help="Reschedule items excluded from follow-ups (disputed) too, as agreed with "
        "the customer.",
    )
    date_activated = fields.Date(readonly=True, copy=False)
    date_defaulted = fields.Date(readonly=True, copy=False)
    amount_residual = fields.Monetary(string="Left to Pay", compute="_compute_amount_residual")
    signed_by = fields.Char(
        string="Accepted By", readonly=True, copy=False, help="Name the customer typed."
    )
    signed_on = fields.Datetime(string="Accepted On", readonly=True, copy=False)
    signature_ip = fields.Char(string="Accepted From", readonly=True, copy=False)
    proposed_by_id = fields.Many2one(
        "res.users",
        readonly=True,
        copy=False,
        help="Who proposed the plan: the customer's acceptance activates only what they may "
        "activate; a larger plan waits for a credit manager.",
    )

    def _compute_access_url(self):
        for plan in self:
            plan.access_url = f"/my/plans/{plan.id}"

    @api.depends("source_line_ids")
    def _compute_source_amount(self):
        for plan in self:
            plan.source_amount = sum(plan.source_line_ids.mapped("amount_residual_currency"))

    @api.depends("source_amount", "fee_amount", "interest_amount")
    def _compute_amount_total(self):
        for plan in self:
            plan.amount_total = plan.source_amount + plan.fee_amount + plan.interest_amount

    @api.depends("line_ids.amount_residual")
    def _compute_amount_residual(self):
        for plan in self:
            plan.amount_residual = sum(plan.line_ids.mapped("amount_residual"))

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("installment_count")
    def _check_installment_count(self):
        for plan in self:
            if not 1 <= plan.installment_count <= MAX_INSTALLMENTS:
                raise ValidationError(
                    self.env._(
                        "Number of Installments: a plan has from 1 to %(max)s installments, not "
                        "%(count)s.",
                        max=MAX_INSTALLMENTS,
                        count=plan.installment_count,
                    )
                )

    @api.constrains("fee_amount", "down_payment_amount", "interest_rate")
    def _check_amounts(self):
        for plan in self:
            if plan.fee_amount < 0 or plan.down_payment_amount < 0:
                raise ValidationError(
                    self.env._("Plan Fee and Down Payment: an amount cannot be negative.")
                )
            if not 0 <= plan.interest_rate <= 100:
                raise ValidationError(
                    self.env._("Interest (% a Year): a rate between 0 and 100 % a year.")
                )

    def _check_amounts_within_total(self):
        self.ensure_one()
        if (
            self.currency_id.compare_amounts(self.down_payment_amount, self.amount_total) >= 0
            or self.currency_id.compare_amounts(self.fee_amount, self.amount_total) > 0
        ):
            raise ValidationError(
                self.env._(
                    "Down Payment and Plan Fee: each must be less than the plan's total "
                    "(%(total)s).",
                    total=format_amount(self.env, self.amount_total, self.currency_id),
                )
            )

    @api.constrains(
        "source_line_ids", "partner_id", "company_id", "currency_id", "disputed_confirmed"
    )
    def _check_source_items(self):
        for plan in self:
            plan._check_items(plan.source_line_ids)

    def _check_items(self, items):
        """The items a plan may reschedule: open receivable items of its customer,
        company, currency and account, in no other running plan."""
        self.ensure_one()
        if not items:
            return
        # sudo: another collector's running plan counts too, whoever can read it.
        other = (
            self.sudo()
            .search(
                [
                    ("id", "!=", self.id or 0),
                    ("state", "in", (*EDITABLE_STATES, *RUNNING_STATES)),
                    ("source_line_ids", "in", items.ids),
                ],
                limit=1,
            )
            .filtered(lambda plan: plan.state in RUNNING_STATES or self.state in RUNNING_STATES)
        )
        if other:
            raise ValidationError(
                self.env._(
                    "Rescheduled Items: some of these items are already in plan %(plan)s.",
                    plan=other.name,
                )
            )
        wrong = items.filtered(
            lambda item: (
                item.account_id.account_type != "asset_receivable"
                or item.parent_state != "posted"
                or item.reconciled
                or item.amount_residual_currency <= 0
            )
        )
        if wrong:
            raise ValidationError(
                self.env._(
                    "Rescheduled Items: only open receivable amounts a customer owes can be "
                    "rescheduled, not %(items)s.",
                    items=", ".join(wrong.mapped("display_name")),
                )
            )
        disputed = items.filtered("followup_excluded")
        if disputed and not self.disputed_confirmed:
            raise ValidationError(
                self.env._(
                    "Rescheduled Items: %(items)s are disputed (excluded from follow-ups). Tick "
                    "Include Disputed Items if the customer agreed to pay them in the plan.",
                    items=", ".join(disputed.mapped("display_name")),
                )
            )
        for label, values in (
            (self.env._("customers"), items.partner_id.commercial_partner_id | self.partner_id),
            (self.env._("companies"), items.company_id | self.company_id),
            (self.env._("currencies"), items.currency_id | self.currency_id),
            (self.env._("receivable accounts"), items.account_id),
        ):
            if len(values) > 1:
                raise ValidationError(
                    self.env._(
                        "Rescheduled Items: a plan cannot mix %(what)s (%(values)s): make one "
                        "plan for each.",
                        what=label,
                        values=", ".join(values.mapped("display_name")),
                    )
                )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        plans = super().create(vals_list)
        for plan in plans:
            if plan.name == "/":
                # The numbering is the plan's, whoever drafts it (see PLAN_SYSTEM_FIELDS).
                plan.sudo().name = (
                    self.env["ir.sequence"]
                    .sudo()
                    .with_company(plan.company_id)
                    .next_by_code("credit.installment.plan")
                    or "/"
                )
        return plans

    def write(self, vals):
        if not self.env.su:
            self._check_schedule_editable(set(vals))
        return super().write(vals)

    def _check_schedule_editable(self, field_names):
        """Only a draft's schedule changes: a proposed plan is what the customer
        was emailed and signs, a running one is posted. Guarded fields are the
        guard's to refuse."""
        if not field_names - PLAN_UNFROZEN_FIELDS - set(self._credit_guarded_fields()):
            return
        frozen = self.filtered(lambda plan: plan.state != "draft")[:1]
        if frozen.state == "proposed":
            raise UserError(
                self.env._(
                    "Plan %(plan)s is proposed to the customer: its schedule is the one they "
                    "were sent. Set it back to draft to change it (the proposal is then void) "
                    "and propose it again.",
                    plan=frozen.name,
                )
            )
        if frozen:
            raise UserError(
                self.env._(
                    "Plan %(plan)s is %(state)s: its schedule can no longer be changed.",
                    plan=frozen.name,
                    state=dict(PLAN_STATES)[frozen.state],
                )
            )

    def _credit_guarded_fields(self):
        return dict.fromkeys(PLAN_SYSTEM_FIELDS, SYSTEM)

    def _credit_free_fields(self):
        return PLAN_FREE_FIELDS | {"access_token"}

    def _credit_guard_hint(self):
        return self.env._("Use the plan's buttons.")

    @api.ondelete(at_uninstall=False)
    def _unlink_except_posted(self):
        if any(plan.move_id for plan in self):
            raise UserError(
                self.env._("An activated plan is kept with its entry: cancel it instead.")
            )

    # ------------------------------------------------------------------
    # Starting a plan
    # ------------------------------------------------------------------

    @api.model
    def _action_new_for_items(self, items):
        """The form of a new plan rescheduling these items (open receivable
        items of one customer), nothing saved yet."""
        items = items.filtered(
            lambda item: (
                item.account_id.account_type == "asset_receivable"
                and item.parent_state == "posted"
                and not item.reconciled
                and item.amount_residual_currency > 0
            )
        )
        if not items:
            raise UserError(
                self.env._("Nothing to reschedule: there is no open amount the customer owes.")
            )
        partners = items.partner_id.commercial_partner_id
        if len(partners) > 1:
            raise UserError(
                self.env._(
                    "A plan reschedules the items of one customer, not of %(partners)s.",
                    partners=", ".join(partners.mapped("display_name")),
                )
            )
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Installment Plan"),
            "res_model": self._name,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
            "context": {
                "default_partner_id": partners.id,
                "default_company_id": items.company_id[:1].id,
                "default_currency_id": items.currency_id[:1].id,
                "default_source_line_ids": [Command.set(items.ids)],
            },
        }

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

    def action_propose(self):
        """Offer the schedule to the customer: an email with a link to accept it
        in the portal."""
        self.check_access("write")
        template = self.env.ref("credit_collections.mail_template_installment_plan_proposal")
        for plan in self:
            if plan.state != "draft":
                raise UserError(
                    self.env._(
                        "Plan %(plan)s is %(state)s: only a draft plan can be proposed.",
                        plan=plan.name,
                        state=dict(PLAN_STATES)[plan.state],
                    )
                )
            plan._check_schedule()
            # The plan's own progress (see PLAN_SYSTEM_FIELDS); a new proposal
            # starts unsigned, whatever was accepted before.
            plan.sudo().write(
                {
                    "state": "proposed",
                    "proposed_by_id": self.env.user.id,
                    "signed_by": False,
                    "signed_on": False,
                    "signature_ip": False,
                }
            )
            plan._portal_ensure_token()
            plan.message_post_with_source(
                template,
                subtype_xmlid="mail.mt_comment",
                partner_ids=plan.partner_id.ids,
            )
        return True

    def _action_customer_accept(self, name, ip_address):
        """The customer accepts the proposal in the portal, typing their name:
        the plan becomes active when its proposer could have activated it, else
        (or when the company says so) it waits for a credit manager."""
        self.ensure_one()
        if self.state != "proposed":
            raise UserError(self.env._("This plan is no longer waiting for your acceptance."))
        if self.signed_by:
            raise UserError(self.env._("This plan was already accepted."))
        if not (name or "").strip():
            raise UserError(self.env._("Type your name to accept the plan."))
        # The customer's acceptance, recorded as the plan's own (see PLAN_SYSTEM_FIELDS).
        plan = self.sudo()
        plan.write(
            {
                "signed_by": name.strip(),
                "signed_on": fields.Datetime.now(),
                "signature_ip": ip_address,
            }
        )
        plan.message_post(
            body=self.env._(
                "Accepted by %(name)s from %(ip)s.", name=name.strip(), ip=ip_address or "?"
            ),
            subtype_xmlid="mail.mt_note",
        )
        review = plan._get_acceptance_review_reason()
        if review:
            plan._request_activation(review)
            return False
        plan._lock_for_activation()
        try:
            with self.env.cr.savepoint():
                plan._check_schedule()
                plan._activate()
        except UserError as error:
            # Accepted too late (an installment now past due, a payment since): the
            # collector proposes the schedule again.
            plan.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Accepted plan could not be activated"),
                note=str(error),
                user_id=(plan.user_id or self.env.ref("base.user_admin")).id,
            )
            return False
        return True

    def _get_acceptance_review_reason(self):
        """Why the customer's acceptance does not activate the plan at once, or
        an empty string: an acceptance activates only what its proposer could
        have activated."""
        self.ensure_one()
        if self.company_id.credit_plan_acceptance_needs_manager:
            return self.env._("the company has accepted plans activated by a credit manager.")
        proposer = self.proposed_by_id
        if not proposer:
            return self.env._("nobody is recorded as having proposed it.")
        if not self._may_activate(proposer):
            return self.env._(
                "%(user)s, who proposed it, may not activate a plan of %(total)s.",
                user=proposer.name,
                total=format_amount(self.env, self.amount_total, self.currency_id),
            )
        return ""

    def _request_activation(self, reason):
        """Log why an accepted plan waits and ask a credit manager to activate it
        (the company's credit approver, else every credit manager)."""
        self.ensure_one()
        note = self.env._(
            "Accepted by the customer; waits for a credit manager to activate it: %(reason)s",
            reason=reason,
        )
        self.message_post(body=note, subtype_xmlid="mail.mt_note")
        approvers = self.env["credit.approval.request"]._credit_approvers(self.company_id)
        self.activity_unlink([ACTIVATION_ACTIVITY])
        for approver in approvers or self.user_id or self.env.ref("base.user_admin"):
            self.activity_schedule(ACTIVATION_ACTIVITY, note=note, user_id=approver.id)

    def action_draft(self):
        """Back to draft to change the schedule: the proposal sent, and any
        acceptance of it, are void (its link no longer opens the plan)."""
        self.check_access("write")
        for plan in self:
            if plan.state != "proposed":
                raise UserError(
                    self.env._(
                        "Plan %(plan)s is %(state)s: only a proposed plan goes back to draft.",
                        plan=plan.name,
                        state=dict(PLAN_STATES)[plan.state],
                    )
                )
            # The plan's own progress (see PLAN_SYSTEM_FIELDS); a new token so that
            # the link emailed with the void proposal opens nothing.
            plan.sudo().write(
                {
                    "state": "draft",
                    "proposed_by_id": False,
                    "signed_by": False,
                    "signed_on": False,
                    "signature_ip": False,
                    "access_token": False,
                }
            )
            plan.sudo().activity_unlink([ACTIVATION_ACTIVITY])
            plan.message_post(
                body=self.env._(
                    "Back to draft: the proposal sent to the customer, and any acceptance of "
                    "it, are void. Propose the plan again once changed."
                ),
                subtype_xmlid="mail.mt_note",
            )
        return True

    # ------------------------------------------------------------------
    # Activation
    # ------------------------------------------------------------------

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
        account = items.account_id
        balance_total = sum(items.mapped("amount_residual"))
        amount_total = sum(items.mapped("amount_residual_currency"))
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
        installments = self.line_ids.sorted(lambda line: (line.sequence, line.id))
        company_currency = self.company_id.currency_id
        balances = [
            company_currency.round(balance_total * line.amount / amount_total)
            for line in installments[:-1]
        ]
        balances.append(company_currency.round(balance_total - sum(balances)))
        line_vals += [
            {
                "name": line._get_label(),
                "account_id": account.id,
                "partner_id": self.partner_id.id,
                "currency_id": self.currency_id.id,
                "amount_currency": line.amount,
                "balance": balance,
                "date_maturity": line.date_due,
            }
            for line, balance in zip(installments, balances, strict=True)
        ]
        return {
            "move_type": "entry",
            "journal_id": journal.id,
            "company_id": self.company_id.id,
            "date": fields.Date.context_today(self),
            "ref": self.name,
            "currency_id": self.currency_id.id,
            "credit_installment_plan_id": self.id,
            "line_ids": [Command.create(vals) for vals in line_vals],
        }

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
        unpaid_balance = sum(open_items.mapped("amount_residual"))
        sources = plan.move_id.line_ids.filtered("credit_installment_source_id").sorted(
            lambda line: (line.credit_installment_source_id.date_maturity or line.date, line.id)
        )
        # What each source still owes: the newest sources keep their amounts.
        left = unpaid
        owed = []
        for source in reversed(sources):
            amount = min(-source.amount_currency, left)
            left -= amount
            if amount:
                owed.append((source.credit_installment_source_id, amount))
        owed.reverse()
        company_currency = plan.company_id.currency_id
        balances = [
            company_currency.round(unpaid_balance * amount / unpaid) for _item, amount in owed[:-1]
        ]
        balances.append(company_currency.round(unpaid_balance - sum(balances)))
        line_vals = [
            {
                "name": self.env._("Open installment of %(plan)s, plan cancelled", plan=plan.name),
                "account_id": item.account_id.id,
                "partner_id": plan.partner_id.id,
                "currency_id": plan.currency_id.id,
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
                    plan=plan.name,
                ),
                "account_id": item.account_id.id,
                "partner_id": plan.partner_id.id,
                "currency_id": plan.currency_id.id,
                "amount_currency": amount,
                "balance": balance,
                "date_maturity": item.date_maturity,
            }
            for (item, amount), balance in zip(owed, balances, strict=True)
        ]
        move = (
            self.env["account.move"]
            .sudo()
            .create(
                {
                    "move_type": "entry",
                    "journal_id": plan.move_id.journal_id.id,
                    "company_id": plan.company_id.id,
                    "date": fields.Date.context_today(plan),
                    "ref": self.env._("%(plan)s cancelled", plan=plan.name),
                    "currency_id": plan.currency_id.id,
                    "credit_installment_plan_id": plan.id,
                    "line_ids": [Command.create(vals) for vals in line_vals],
                }
            )
        )
        move.action_post()
        plan._reconcile_pairs(move.line_ids.filtered("credit_installment_source_id"))
        plan.cancel_move_id = move
        plan.message_post(
            body=Markup(
                escape(
                    self.env._(
                        "Cancelled: %(amount)s unpaid is owed again on the original items "
                        "(%(entry)s)."
                    )
                )
            )
            % {
                "amount": format_amount(self.env, unpaid, plan.currency_id),
                "entry": move._get_html_link(),
            },
            subtype_xmlid="mail.mt_note",
        )

    # ------------------------------------------------------------------
    # Daily check
    # ------------------------------------------------------------------

    def _get_plans_to_update(self, today, limit, plan_ids=None):
        """Running plans (of plan_ids when given) whose state changes today:
        {plan id: "done" | "defaulted" | "active"}, at most limit of them, and
        whether more are left. A defaulted plan is back on schedule (active)
        once no installment past its due date is left unpaid."""
        self.env["account.move.line"].flush_model(["reconciled", "date_maturity"])
        self.flush_model(["state"])
        self.env["credit.installment.line"].flush_model(["move_line_id"])
        self.env["res.company"].flush_model(["credit_plan_default_days"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT plan.id,
                       CASE WHEN COUNT(item.id) FILTER (WHERE NOT item.reconciled) = 0
                            THEN 'done'
                            WHEN plan.state = 'defaulted' THEN 'active'
                            ELSE 'defaulted' END
                  FROM credit_installment_plan plan
                  JOIN res_company company ON company.id = plan.company_id
                  JOIN credit_installment_line installment ON installment.plan_id = plan.id
                  JOIN account_move_line item ON item.id = installment.move_line_id
                 WHERE plan.state IN ('active', 'defaulted') %(restrict)s
              GROUP BY plan.id, plan.state, company.credit_plan_default_days
                HAVING COUNT(item.id) FILTER (WHERE NOT item.reconciled) = 0
                    OR (plan.state = 'active' AND MIN(item.date_maturity) FILTER (
                            WHERE NOT item.reconciled)
                        + COALESCE(company.credit_plan_default_days, 0) < %(today)s)
                    OR (plan.state = 'defaulted' AND COUNT(item.id) FILTER (
                            WHERE NOT item.reconciled AND item.date_maturity < %(today)s) = 0)
              ORDER BY plan.id
                 LIMIT %(limit)s
                """,
                today=today,
                limit=limit + 1,
                restrict=SQL("AND plan.id = ANY(%s)", plan_ids) if plan_ids is not None else SQL(),
            )
        )
        return dict(rows[:limit]), len(rows) > limit

    @api.model
    def _cron_check_installment_plans(self, limit=BATCH_SIZE):
        """Close the plans paid in full, default those with an installment unpaid
        for the company's days after its due date and return the defaulted ones
        back on schedule to active, a batch per call."""
        # A system job: the plans of every company.
        self = self.sudo()
        today = fields.Date.context_today(self)
        changes, more = self._get_plans_to_update(today, limit)
        self._apply_state_changes(changes, today)
        self.env["ir.cron"]._notify_progress(done=len(changes), remaining=int(more))

    def _apply_state_changes(self, changes, today):
        """Apply {plan id: new state} as the daily check decided it."""
        plans = self.browse(list(changes))
        done = plans.filtered(lambda plan: changes[plan.id] == "done")
        back = plans.filtered(lambda plan: changes[plan.id] == "active")
        done._set_done()
        back._set_back_on_schedule()
        (plans - done - back)._set_defaulted(today)

    @api.model
    def _update_after_payment(self, items):
        """Payments (or credit notes) reconciled with installment items: their
        defaulted plans paid in full are done, and those with every installment
        due paid are active again at once, not at the next daily check."""
        # sudo: which plans the paid items belong to, whoever booked the payment.
        plan_ids = (
            self.env["credit.installment.line"]
            .sudo()
            .search([("move_line_id", "in", items.ids), ("plan_id.state", "=", "defaulted")])
            .plan_id.ids
        )
        if not plan_ids:
            return
        # The plans' own outcome of a payment whoever booked it (see
        # PLAN_SYSTEM_FIELDS): the payment itself needed the booker's rights.
        plans = self.sudo()
        today = fields.Date.context_today(plans)
        changes, _more = plans._get_plans_to_update(today, len(plan_ids), plan_ids)
        plans._apply_state_changes(changes, today)

    def _set_done(self):
        if not self:
            return
        # The message below says it: no tracking message per plan on top.
        self.with_context(tracking_disable=True).write({"state": "done"})
        self._message_log_batch(bodies=dict.fromkeys(self.ids, self.env._("Paid in full.")))

    def _set_back_on_schedule(self):
        """Defaulted plans with every installment due paid again: active, no
        longer holding their customers' orders; logged on them and their
        customers."""
        if not self:
            return
        # The message below says it: no tracking message per plan on top.
        self.with_context(tracking_disable=True).write({"state": "active", "date_defaulted": False})
        self._message_log_batch(
            bodies=dict.fromkeys(
                self.ids,
                self.env._(
                    "Back on schedule: every installment due is paid. The plan is active "
                    "again and no longer holds the customer's orders."
                ),
            )
        )
        partner_bodies = {}
        for plan in self:
            partner_bodies.setdefault(plan.partner_id.id, []).append(
                Markup(escape(self.env._("Installment plan %(plan)s is back on schedule.")))
                % {"plan": plan._get_html_link()}
            )
        self.env["res.partner"].browse(partner_bodies)._message_log_batch(
            bodies={key: Markup("<br/>").join(lines) for key, lines in partner_bodies.items()}
        )

    def _set_defaulted(self, today):
        """Default the plans, all at once: logged on them and their customers, an
        activity for each collector, and with acceleration everything left due
        today."""
        if not self:
            return
        # The message below says it: no tracking message per plan on top.
        self.with_context(tracking_disable=True).write(
            {"state": "defaulted", "date_defaulted": today}
        )
        accelerated = self.filtered("company_id.credit_plan_acceleration")
        # Everything left falls due today: follow-ups escalate on all of it.
        accelerated.line_ids.move_line_id.filtered(
            lambda item: not item.reconciled and item.date_maturity > today
        ).write({"date_maturity": today})
        bodies = {
            plan.id: self.env._(
                "Defaulted: an installment is unpaid %(days)s days after its due date.",
                days=plan.company_id.credit_plan_default_days,
            )
            for plan in self
        }
        self._message_log_batch(bodies=bodies)
        partner_bodies = {}
        for plan in self:
            partner_bodies.setdefault(plan.partner_id.id, []).append(
                Markup(escape(self.env._("Installment plan %(plan)s defaulted.")))
                % {"plan": plan._get_html_link()}
            )
        self.env["res.partner"].browse(partner_bodies)._message_log_batch(
            bodies={key: Markup("<br/>").join(lines) for key, lines in partner_bodies.items()}
        )
        activity_type = self.env.ref("mail.mail_activity_data_todo")
        model_id = self.env["ir.model"]._get_id(self._name)
        # The collectors see them in their activities: no email per activity.
        self.env["mail.activity"].with_context(mail_activity_quick_update=True).create(
            [
                {
                    "res_model_id": model_id,
                    "res_id": plan.id,
                    "activity_type_id": activity_type.id,
                    "summary": self.env._("Installment plan defaulted"),
                    "note": bodies[plan.id],
                    "date_deadline": today,
                    "user_id": (plan.user_id or self.env.ref("base.user_admin")).id,
                }
                for plan in self
            ]
        )

    # ------------------------------------------------------------------
    # Demo data
    # ------------------------------------------------------------------

    @api.model
    def _create_demo_plans(self):
        """Demo: an active plan with its first installment paid, a proposed plan
        and a defaulted plan, on the demo invoices made for them."""
        today = fields.Date.context_today(self)
        invoices = {
            key: self.env.ref(f"credit_collections.demo_invoice_plan_{key}")
            for key in ("oakridge", "willow", "quarry")
        }
        for invoice in invoices.values():
            if invoice.state == "draft":
                invoice.action_post()
        plans = {}
        for key, count, first_due in (
            ("oakridge", 6, today),
            ("willow", 4, today + timedelta(days=30)),
            ("quarry", 3, today),
        ):
            invoice = invoices[key]
            plans[key] = self.create(
                {
                    "partner_id": invoice.commercial_partner_id.id,
                    "company_id": invoice.company_id.id,
                    "source_line_ids": [
                        Command.set(
                            invoice.line_ids.filtered(
                                lambda line: line.account_type == "asset_receivable"
                            ).ids
                        )
                    ],
                    "installment_count": count,
                    "first_due_date": first_due,
                }
            )
            plans[key].action_compute_schedule()
        plans["willow"].action_propose()
        plans["oakridge"].action_activate()
        first = plans["oakridge"].line_ids[0]
        self.env["account.payment.register"].with_context(
            active_model="account.move.line", active_ids=first.move_line_id.ids
        ).create({"amount": first.amount, "payment_date": today})._create_payments()
        quarry = plans["quarry"]
        quarry.action_activate()
        # The first installment left unpaid for three weeks, as if activated then.
        quarry.line_ids[0].move_line_id.date_maturity = today - timedelta(days=21)
        quarry._set_defaulted(today)
