from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import format_amount

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
    allowed_source_line_ids = fields.Many2many(
        "account.move.line",
        compute="_compute_allowed_source_line_ids",
        string="Items to Reschedule",
        help="The items a draft plan may reschedule: the open items its customer owes in "
        "the plan's company and currency (disputed ones too when Include Disputed Items "
        "is ticked).",
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

    @api.depends("state", "partner_id", "company_id", "currency_id", "disputed_confirmed")
    def _compute_allowed_source_line_ids(self):
        Line = self.env["account.move.line"]
        for plan in self:
            # Only a draft's items change: nothing to offer on the others.
            plan.allowed_source_line_ids = (
                Line.search(plan._allowed_source_lines_domain(), order="date_maturity, id")
                if plan.state == "draft" and plan.partner_id and plan.company_id
                else Line
            )

    def _allowed_source_lines_domain(self):
        """The items the plan may reschedule: open receivable items (see
        account.move.line._open_receivable_domain) its customer owes in the
        plan's company and currency, the disputed ones only when the plan
        includes them. _check_items holds RPC to the same."""
        self.ensure_one()
        Line = self.env["account.move.line"]
        company = self.company_id
        return [
            *(
                Line._open_receivable_domain(company)
                if self.disputed_confirmed
                else Line._chased_receivable_domain(company)
            ),
            ("amount_residual", ">", 0),
            ("partner_id", "child_of", self.partner_id.commercial_partner_id.id),
            ("currency_id", "=", self.currency_id.id),
        ]

    @api.model
    def _filter_reschedulable(self, items):
        """The items among these that a plan may reschedule at all: open
        receivable items with an amount the customer owes (the record predicate
        of _allowed_source_lines_domain, whatever the customer, company and
        currency)."""
        return items.filtered(
            lambda item: item._credit_is_open_receivable() and item.amount_residual > 0
        )

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
        company, currency and account, in no other running plan. Judged whatever
        the caller may read of them (an RPC call naming another company's item is
        refused as the form would refuse it)."""
        self.ensure_one()
        if not items:
            return
        # sudo: judge the items whatever the caller may read of them.
        items = items.sudo()
        self._check_items_in_no_other_plan(items)
        self._check_items_open(items)
        self._check_items_disputed(items)
        self._check_items_unmixed(items)

    def _check_items_in_no_other_plan(self, items):
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

    def _check_items_open(self, items):
        wrong = items - self._filter_reschedulable(items)
        if wrong:
            raise ValidationError(
                self.env._(
                    "Rescheduled Items: only open receivable amounts a customer owes can be "
                    "rescheduled, not %(items)s.",
                    items=", ".join(wrong.mapped("display_name")),
                )
            )

    def _check_items_disputed(self, items):
        disputed = items.filtered("followup_excluded")
        if disputed and not self.disputed_confirmed:
            raise ValidationError(
                self.env._(
                    "Rescheduled Items: %(items)s are disputed (excluded from follow-ups). Tick "
                    "Include Disputed Items if the customer agreed to pay them in the plan.",
                    items=", ".join(disputed.mapped("display_name")),
                )
            )

    def _check_items_unmixed(self, items):
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
        items = self._filter_reschedulable(items)
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
