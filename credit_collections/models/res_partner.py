import operator
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_date

from .credit_customer_state import CREDIT_STATUSES as STATE_CREDIT_STATUSES
from .credit_customer_state import FOLLOWUP_STATUSES as STATE_FOLLOWUP_STATUSES
from .credit_guarded_mixin import SYSTEM, Guard
from .res_company import CREDIT_MAX_DAYS, FOLLOWUP_MAX_AHEAD_DAYS, credit_bound_error

# Defined with the stored states; kept here for the modules importing them.
CREDIT_STATUSES = STATE_CREDIT_STATUSES
FOLLOWUP_STATUSES = STATE_FOLLOWUP_STATUSES

# Aging buckets of a customer's overdue items: (field, first day, last day overdue).
CREDIT_AGING_BUCKETS = [
    ("credit_aging_1_30", 1, 30),
    ("credit_aging_31_60", 31, 60),
    ("credit_aging_61_90", 61, 90),
    ("credit_aging_90_plus", 91, None),
]

# Lists on the customer are readable by those who may read their records (see
# ir.model.access.csv), never by every internal user: an Inventory user, a plain
# employee or a Contact Creation user opens the contact without them.
APPROVAL_READERS = (
    "sales_team.group_sale_salesman,account.group_account_invoice,"
    "credit_collections.group_credit_user"
)
FOLLOWUP_READERS = APPROVAL_READERS
ITEM_READERS = (
    "account.group_account_readonly,account.group_account_invoice,sales_team.group_sale_salesman"
)

# Operators a search on a number of days supports.
DAYS_COMPARISONS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

# Fields whose changes are written to the partner's chatter with old and new value.
CREDIT_AUDITED_FIELDS = (
    "credit_limit",
    "use_partner_credit_limit",
    "credit_hold",
    "credit_cash_only",
    "credit_interest_exempt",
)
# Credit policy of a customer: set by credit managers only, even without the
# right to edit contacts.
CREDIT_MANAGER_FIELDS = {
    *CREDIT_AUDITED_FIELDS,
    "credit_hold_reason",
    "credit_review_date",
    "credit_custom_rules",
    "credit_partner_check_over_limit",
    "credit_partner_limit_tolerance",
    "credit_partner_warning_percent",
    "credit_partner_check_overdue",
    "credit_partner_overdue_days",
    "credit_partner_overdue_threshold",
    "credit_partner_overdue_limit",
    "followup_policy_id",
    "followup_responsible_id",
    "followup_excluded",
}
# Settings of the customer its stored state (credit.customer.state) depends on.
STATE_INPUT_FIELDS = CREDIT_MANAGER_FIELDS | {"followup_paused_until", "parent_id", "is_company"}
# Follow-up bookkeeping: written by the follow-up engine and by the collectors'
# own actions (pause, promise), each logged, never by hand. Resetting the level
# would send a level and charge its fee again; a far pause would silence dunning.
FOLLOWUP_SYSTEM_FIELDS = {
    "followup_level_id",
    "followup_episode",
    "followup_last_date",
    "followup_paused_until",
}


class ResPartner(models.Model):
    _name = "res.partner"
    _inherit = ["res.partner", "credit.guarded.mixin"]

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    credit_interest_exempt = fields.Boolean(
        string="No Late Interest",
        company_dependent=True,
        groups="base.group_user",
        help="Never charge this customer late interest nor compensation.",
    )
    credit_hold = fields.Boolean(
        company_dependent=True,
        copy=False,
        help="Manual hold: no order of this customer can be confirmed until a credit "
        "manager lifts it.",
        groups="base.group_user",
    )
    credit_hold_reason = fields.Char(
        string="Hold Reason", company_dependent=True, copy=False, groups="base.group_user"
    )
    credit_cash_only = fields.Boolean(
        string="Cash Only",
        company_dependent=True,
        help="Orders of this customer must be paid in full before they are confirmed.",
        groups="base.group_user",
    )
    credit_review_date = fields.Date(
        company_dependent=True,
        copy=False,
        help="When the credit limit of this customer is to be reviewed. The credit "
        "manager gets an activity before it passes.",
        groups="base.group_user",
    )
    # Partner-level overrides of the company's hold rules
    credit_custom_rules = fields.Boolean(
        string="Own Credit Rules",
        company_dependent=True,
        help="Use the rules below for this customer instead of the company's.",
        groups="base.group_user",
    )
    credit_partner_check_over_limit = fields.Boolean(
        string="Hold Over Credit Limit (Customer)", company_dependent=True, groups="base.group_user"
    )
    credit_partner_limit_tolerance = fields.Float(
        string="Credit Limit Tolerance (%) (Customer)",
        company_dependent=True,
        groups="base.group_user",
    )
    credit_partner_warning_percent = fields.Float(
        string="Credit Warning Threshold (%) (Customer)",
        company_dependent=True,
        groups="base.group_user",
    )
    credit_partner_check_overdue = fields.Boolean(
        string="Hold When Overdue (Customer)", company_dependent=True, groups="base.group_user"
    )
    credit_partner_overdue_days = fields.Integer(
        string="Hold After Overdue Days (Customer)",
        company_dependent=True,
        groups="base.group_user",
    )
    credit_partner_overdue_threshold = fields.Float(
        string="Overdue Hold Threshold (Customer)", company_dependent=True, groups="base.group_user"
    )
    credit_partner_overdue_limit = fields.Float(
        string="Overdue Sub-limit (Customer)", company_dependent=True, groups="base.group_user"
    )

    # Follow-ups (dunning), per company
    followup_policy_id = fields.Many2one(
        "credit.followup.policy",
        string="Follow-up Policy",
        company_dependent=True,
        help="Leave empty for the company's default policy.",
        groups="base.group_user",
    )
    # Follow-up bookkeeping: kept on the customer's state (credit.customer.state)
    # per company, by the follow-ups only.
    followup_level_id = fields.Many2one(
        "credit.followup.level",
        string="Follow-up Level",
        compute="_compute_followup_bookkeeping",
        inverse="_inverse_followup_bookkeeping",
        help="Highest level reached in the current dunning episode.",
        groups="base.group_user",
    )
    followup_episode = fields.Integer(
        compute="_compute_followup_bookkeeping",
        inverse="_inverse_followup_bookkeeping",
        groups="base.group_user",
    )
    followup_last_date = fields.Date(
        string="Last Follow-up",
        compute="_compute_followup_bookkeeping",
        inverse="_inverse_followup_bookkeeping",
        groups="base.group_user",
    )
    followup_responsible_id = fields.Many2one(
        "res.users",
        string="Collector",
        company_dependent=True,
        help="Who follows this customer up; receives its follow-up activities.",
        groups="base.group_user",
    )
    followup_paused_until = fields.Date(
        string="Follow-ups Paused Until",
        company_dependent=True,
        copy=False,
        groups="base.group_user",
    )
    followup_excluded = fields.Boolean(
        string="Never Follow Up",
        company_dependent=True,
        help="This customer never gets follow-ups.",
        groups="base.group_user",
    )
    # The statuses: shown from the customer's state (res_partner_credit_state.py).
    followup_next_action_date = fields.Date(
        string="Next Follow-up", compute="_compute_credit_state_display", groups="base.group_user"
    )
    followup_status = fields.Selection(
        selection=FOLLOWUP_STATUSES,
        string="Follow-up Status",
        compute="_compute_credit_state_display",
        search="_search_followup_status",
        groups="base.group_user",
    )
    followup_history_ids = fields.One2many(
        "credit.followup.history",
        "partner_id",
        string="Follow-up History",
        groups=FOLLOWUP_READERS,
    )
    credit_promise_ids = fields.One2many(
        "credit.promise", "partner_id", string="Promises to Pay", groups=FOLLOWUP_READERS
    )
    followup_line_ids = fields.One2many(
        "account.move.line",
        string="Follow-up Statement",
        compute="_compute_followup_line_ids",
        help="Open items that follow-ups chase, in the current company.",
        groups=ITEM_READERS,
    )
    credit_open_line_ids = fields.One2many(
        "account.move.line",
        string="Open Items",
        compute="_compute_credit_open_line_ids",
        help="The customer's whole open position in the current company: items overdue and "
        "not yet due, credit notes and payments not yet matched, disputed items.",
        groups=ITEM_READERS,
    )

    # Live figures, for the current company, in its currency
    credit_receivable_amount = fields.Monetary(
        string="Open Receivables", compute="_compute_credit_figures", groups="base.group_user"
    )
    credit_not_due_amount = fields.Monetary(
        string="Open Not Yet Due", compute="_compute_credit_figures", groups="base.group_user"
    )
    credit_overdue_amount = fields.Monetary(
        string="Overdue", compute="_compute_credit_figures", groups="base.group_user"
    )
    credit_oldest_overdue_days = fields.Integer(
        string="Oldest Overdue (Days)",
        compute="_compute_credit_figures",
        search="_search_credit_oldest_overdue_days",
        groups="base.group_user",
    )
    credit_aging_not_due = fields.Monetary(
        string="Not Due",
        compute="_compute_credit_aging",
        help="Open items not yet due, less credit notes and payments not yet matched.",
        groups="base.group_user",
    )
    credit_aging_1_30 = fields.Monetary(
        string="1-30 Days", compute="_compute_credit_aging", groups="base.group_user"
    )
    credit_aging_31_60 = fields.Monetary(
        string="31-60 Days", compute="_compute_credit_aging", groups="base.group_user"
    )
    credit_aging_61_90 = fields.Monetary(
        string="61-90 Days", compute="_compute_credit_aging", groups="base.group_user"
    )
    credit_aging_90_plus = fields.Monetary(
        string="Over 90 Days", compute="_compute_credit_aging", groups="base.group_user"
    )
    credit_orders_amount = fields.Monetary(
        string="Orders To Invoice", compute="_compute_credit_figures", groups="base.group_user"
    )
    credit_draft_invoices_amount = fields.Monetary(
        string="Draft Invoices", compute="_compute_credit_figures", groups="base.group_user"
    )
    credit_exposure = fields.Monetary(compute="_compute_credit_figures", groups="base.group_user")
    credit_has_limit = fields.Boolean(
        string="Has Credit Limit",
        compute="_compute_credit_figures",
        help='Whether a credit limit applies to the customer: none under the "no limit" '
        "policy when its limit is 0.",
        groups="base.group_user",
    )
    credit_available = fields.Monetary(
        compute="_compute_credit_figures",
        help="Credit limit less exposure; negative when over the limit.",
        groups="base.group_user",
    )
    credit_status = fields.Selection(
        selection=CREDIT_STATUSES,
        compute="_compute_credit_state_display",
        search="_search_credit_status",
        groups="base.group_user",
    )
    credit_status_reasons = fields.Text(
        compute="_compute_credit_status_reasons", groups="base.group_user"
    )
    credit_over_limit = fields.Boolean(
        string="Over Credit Limit",
        compute="_compute_credit_state_display",
        search="_search_credit_over_limit",
        groups="base.group_user",
    )
    credit_approval_ids = fields.One2many(
        "credit.approval.request", "partner_id", string="Credit Approvals", groups=APPROVAL_READERS
    )

    # ------------------------------------------------------------------
    # Compute / search
    # ------------------------------------------------------------------

    @api.depends_context("company")
    def _compute_credit_figures(self):
        company = self.env.company
        commercial = self.commercial_partner_id
        snapshots = self.env["credit.exposure"]._get_snapshots(
            commercial, company, reasons_without_amounts=True
        )
        for partner in self:
            snapshot = snapshots[partner.commercial_partner_id.id]
            partner.credit_receivable_amount = snapshot["receivable"]
            partner.credit_not_due_amount = snapshot["not_due"]
            partner.credit_overdue_amount = snapshot["overdue"]
            partner.credit_oldest_overdue_days = snapshot["oldest_overdue_days"]
            partner.credit_orders_amount = snapshot["orders"]
            partner.credit_draft_invoices_amount = snapshot["draft_invoices"]
            partner.credit_exposure = snapshot["exposure"]
            partner.credit_has_limit = snapshot["has_limit"]
            partner.credit_available = (
                snapshot["limit"] - snapshot["exposure"] if snapshot["has_limit"] else 0.0
            )

    @api.depends_context("company")
    def _compute_credit_open_line_ids(self):
        Line = self.env["account.move.line"]
        partners = self._origin.commercial_partner_id
        lines = Line.search(
            [
                *Line._open_receivable_domain(self.env.company),
                ("partner_id.commercial_partner_id", "in", partners.ids),
            ],
            order="date_maturity, id",
        )
        lines.partner_id.fetch(["commercial_partner_id"])
        lines_of = lines.grouped(lambda line: line.partner_id.commercial_partner_id)
        for partner in self:
            partner.credit_open_line_ids = lines_of.get(partner._origin.commercial_partner_id, Line)

    @api.depends_context("company")
    def _compute_credit_status_reasons(self):
        company = self.env.company
        snapshots = self.env["credit.exposure"]._get_snapshots(self.commercial_partner_id, company)
        for partner in self:
            snapshot = snapshots[partner.commercial_partner_id.id]
            partner.credit_status_reasons = "\n".join(snapshot["reasons"])

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("credit_limit")
    def _check_credit_limit_not_negative(self):
        for partner in self:
            if partner.credit_limit < 0:
                raise ValidationError(
                    self.env._(
                        "Credit Limit cannot be negative (customer %(partner)s).",
                        partner=partner.display_name,
                    )
                )

    @api.constrains(
        "credit_partner_limit_tolerance",
        "credit_partner_warning_percent",
        "credit_partner_overdue_days",
        "credit_partner_overdue_threshold",
        "credit_partner_overdue_limit",
    )
    def _check_credit_partner_rules(self):
        for partner in self:
            for field_name in ("credit_partner_limit_tolerance", "credit_partner_warning_percent"):
                if not 0.0 <= partner[field_name] <= 100.0:
                    raise ValidationError(
                        self.env._(
                            "%(field)s must be between 0 and 100 (customer %(partner)s).",
                            field=self._fields[field_name].get_description(self.env)["string"],
                            partner=partner.display_name,
                        )
                    )
            for field_name in (
                "credit_partner_overdue_days",
                "credit_partner_overdue_threshold",
                "credit_partner_overdue_limit",
            ):
                if partner[field_name] < 0:
                    raise ValidationError(
                        self.env._(
                            "%(field)s cannot be negative (customer %(partner)s).",
                            field=self._fields[field_name].get_description(self.env)["string"],
                            partner=partner.display_name,
                        )
                    )

    @api.constrains("credit_partner_overdue_days")
    def _check_credit_partner_day_bounds(self):
        for partner in self:
            error = credit_bound_error(
                partner,
                {"credit_partner_overdue_days": (0, CREDIT_MAX_DAYS)},
                self.env._("customer %(partner)s", partner=partner.display_name),
            )
            if error:
                raise ValidationError(error)

    @api.constrains("followup_paused_until", "credit_review_date")
    def _check_followup_dates_ahead(self):
        """Pauses and review dates are typed for the months to come: a date in
        year 9999 would silence a customer for good."""
        today = fields.Date.context_today(self)
        bounds = {
            "followup_paused_until": FOLLOWUP_MAX_AHEAD_DAYS,
            "credit_review_date": CREDIT_MAX_DAYS,
        }
        for partner in self:
            for field_name, days in bounds.items():
                latest = today + timedelta(days=days)
                if partner[field_name] and partner[field_name] > latest:
                    raise ValidationError(
                        self.env._(
                            "%(field)s: %(date)s is too far ahead for customer %(partner)s; "
                            "choose a date up to %(days)s days from today (%(latest)s at "
                            "the latest).",
                            field=self._fields[field_name].get_description(self.env)["string"],
                            date=format_date(self.env, partner[field_name]),
                            partner=partner.display_name,
                            days=days,
                            latest=format_date(self.env, latest),
                        )
                    )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def write(self, vals):
        credit_vals = {name: value for name, value in vals.items() if name in CREDIT_MANAGER_FIELDS}
        if not credit_vals:
            if STATE_INPUT_FIELDS.intersection(vals):
                self._credit_mark_state_stale()
            return super().write(vals)
        return self._credit_write_settings(vals)

    def _credit_write_settings(self, vals, reason=False):
        """Write vals, whose credit settings only credit managers set, and log
        the changes of the audited ones with reason in the customers' chatter."""
        self._credit_check_policy_access()
        credit_vals = {name: value for name, value in vals.items() if name in CREDIT_MANAGER_FIELDS}
        other_vals = {name: value for name, value in vals.items() if name not in credit_vals}
        self._credit_mark_state_stale()
        # Credit managers set credit terms on customers they may not otherwise edit
        # (contact edition is a separate right): the policy check above is the gate.
        partners = self.sudo()
        audited = [name for name in CREDIT_AUDITED_FIELDS if name in credit_vals]
        before = {partner.id: {name: partner[name] for name in audited} for partner in partners}
        # pylint: disable-next=super-method-mismatch
        result = super(ResPartner, partners).write(credit_vals)
        if other_vals:
            # pylint: disable-next=super-method-mismatch
            result = super().write(other_vals) and result
        partners._credit_log_changes(before, reason)
        return result

    def _credit_mark_state_stale(self):
        # Company-dependent settings are written for the current company only.
        self.env["credit.customer.state"]._credit_mark_partners_stale(self, self.env.company)

    def _credit_guarded_fields(self):
        """A customer's credit policy is a credit manager's decision (the guard
        judges what a new contact ends with, whatever the path); its follow-up
        bookkeeping is kept by the follow-ups and the collectors' own actions
        (pause, promise), each logged. Resetting the level would send a level and
        charge its fee again; a far pause would silence dunning."""
        manager = Guard("credit_collections.group_credit_manager")
        return {
            **super()._credit_guarded_fields(),
            **dict.fromkeys(CREDIT_MANAGER_FIELDS, manager),
            **dict.fromkeys(FOLLOWUP_SYSTEM_FIELDS, SYSTEM),
        }

    def _credit_free_fields(self):
        # One2many lists of records that guard themselves.
        return {
            *super()._credit_free_fields(),
            "followup_history_ids",
            "credit_promise_ids",
            "credit_approval_ids",
        }

    def _credit_guard_hint(self):
        return self.env._(
            "Ask a credit manager to set the credit terms; the follow-up level, episode, "
            "last follow-up and pause are kept by the follow-ups: use Pause, Record a "
            "Promise or Exclude on the customer's follow-up tab."
        )

    def _credit_check_policy_access(self):
        if self.env.su or self.env.user._is_superuser():
            return
        if not self.env.user.has_group("credit_collections.group_credit_manager"):
            raise AccessError(
                self.env._(
                    "Only credit managers can change credit limits, credit holds and credit "
                    "rules of customers. Ask a credit manager."
                )
            )

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------

    @api.model
    def _cron_schedule_credit_reviews(self, limit=None):
        """Give credit managers an activity for each customer whose credit review
        date comes within the company's notice period, a batch per call (see
        credit.review.scheduler)."""
        return self.env["credit.review.scheduler"]._cron_run(limit)
