from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL, format_amount, format_date

from .credit_guarded_mixin import SYSTEM
from .res_company import FOLLOWUP_MAX_AHEAD_DAYS

# Set when the promise is recorded, or by its outcome (kept, broken): never by hand.
SYSTEM_FIELDS = {"state", "residual_at_promise", "user_id", "company_id"}
# What the collector records.
FREE_FIELDS = {"partner_id", "amount", "promised_date", "move_line_ids", "note"}

PROMISE_STATES = [
    ("open", "Open"),
    ("kept", "Kept"),
    ("broken", "Broken"),
]


class CreditPromise(models.Model):
    _name = "credit.promise"
    _inherit = ["mail.thread", "credit.guarded.mixin"]
    _description = "Promise to Pay"
    _order = "promised_date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        domain=[("is_company", "=", True)],
        tracking=True,
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    amount = fields.Monetary(currency_field="currency_id", required=True, tracking=True)
    promised_date = fields.Date(required=True, tracking=True)
    move_line_ids = fields.Many2many(
        "account.move.line",
        "credit_promise_move_line_rel",
        "promise_id",
        "move_line_id",
        string="Items Concerned",
        domain="[('id', 'in', allowed_move_line_ids)]",
        check_company=True,
    )
    allowed_move_line_ids = fields.Many2many(
        "account.move.line",
        compute="_compute_allowed_move_line_ids",
        string="Open Items",
        help="The items a promise of this customer may concern: its chased open items in "
        "the promise's company.",
    )
    residual_at_promise = fields.Monetary(
        currency_field="currency_id",
        readonly=True,
        copy=False,
        help="What the customer owed on the items concerned when promising.",
    )
    paid_amount = fields.Monetary(currency_field="currency_id", compute="_compute_paid_amount")
    state = fields.Selection(
        selection=PROMISE_STATES, default="open", required=True, tracking=True, index=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Recorded By",
        default=lambda self: self.env.user,
        readonly=True,
        copy=False,
    )
    note = fields.Text()

    @api.depends("partner_id", "company_id")
    def _compute_allowed_move_line_ids(self):
        Line = self.env["account.move.line"]
        for promise in self:
            promise.allowed_move_line_ids = (
                Line.search(promise._allowed_move_lines_domain(), order="date_maturity, id")
                if promise.partner_id and promise.company_id
                else Line
            )

    def _allowed_move_lines_domain(self):
        """The items a promise may name: the customer's chased open items in its
        company (see account.move.line._chased_receivable_domain)."""
        self.ensure_one()
        return [
            *self.env["account.move.line"]._chased_receivable_domain(self.company_id),
            ("partner_id", "child_of", self.partner_id.commercial_partner_id.id),
        ]

    @api.depends("move_line_ids.amount_residual", "residual_at_promise")
    def _compute_paid_amount(self):
        residuals = self._current_residuals()
        for promise in self:
            promise.paid_amount = promise.residual_at_promise - residuals[promise.id]

    @api.onchange("partner_id", "company_id")
    def _onchange_partner_id_amount(self):
        # A promise usually covers what is overdue: start from it rather than 0.00.
        if self.partner_id and self.company_id and not self.amount:
            self.amount = self._default_amount(self.partner_id, self.company_id)

    @api.model
    def _default_amount(self, partner, company):
        """What a promise of partner in company defaults to: what its follow-ups
        chase as overdue (0.0 without a customer)."""
        if not partner or not company:
            return 0.0
        return partner.with_company(company)._get_followup_state()["overdue"]

    @api.constrains("amount")
    def _check_amount(self):
        if any(promise.amount <= 0 for promise in self):
            raise ValidationError(self.env._("Amount: a promise to pay must be positive."))

    @api.constrains("promised_date")
    def _check_promised_date(self):
        """A promise is recorded, or its date moved, for today or later. Checked
        only when the date is set: a promise whose date has since passed stays
        valid, and its outcome (kept, broken) is recorded as usual."""
        today = fields.Date.context_today(self)
        past = self.filtered(lambda promise: promise.promised_date < today)
        if past:
            raise ValidationError(
                self.env._(
                    "Promised Date: %(date)s is in the past. Enter the date the customer "
                    "promises to pay by, today or later.",
                    date=format_date(self.env, past[0].promised_date),
                )
            )
        latest = today + timedelta(days=FOLLOWUP_MAX_AHEAD_DAYS)
        late = self.filtered(lambda promise: promise.promised_date > latest)
        if late:
            raise ValidationError(
                self.env._(
                    "Promised Date: %(date)s is too far ahead. A promise to pay is for the "
                    "coming %(days)s days at most (%(latest)s at the latest); for longer, "
                    "propose an installment plan.",
                    date=format_date(self.env, late[0].promised_date),
                    days=FOLLOWUP_MAX_AHEAD_DAYS,
                    latest=format_date(self.env, latest),
                )
            )

    def _check_move_lines(self, lines_of=None):
        """The items a promise names are open items of its customer in its
        company: the view offers only those, and an RPC call is held to the same
        (a collector cannot attach another customer's item to a promise).

        :param lines_of: {promise: the items to check}; default: all its items
        """
        for promise in self:
            lines = lines_of[promise] if lines_of is not None else promise.move_line_ids
            # sudo: judge the items whatever the caller may read of them.
            lines = lines.sudo()
            partner = promise.partner_id.commercial_partner_id
            wrong = lines.filtered(
                lambda line, promise=promise, partner=partner: (
                    not line._credit_is_open_receivable()
                    or line.company_id != promise.company_id
                    or line.partner_id.commercial_partner_id != partner
                )
            )
            if wrong:
                raise ValidationError(
                    self.env._(
                        "Items Concerned: %(item)s is not an open item of %(partner)s in "
                        "%(company)s. Choose among the customer's open items.",
                        item=wrong[0].move_id.name or wrong[0].display_name,
                        partner=partner.display_name,
                        company=promise.company_id.display_name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("partner_id"):
                partner = self.env["res.partner"].browse(vals["partner_id"])
                vals["partner_id"] = partner.commercial_partner_id.id
        promises = super().create(vals_list)
        promises._check_move_lines()
        for promise in promises:
            # Captured once, when the promise is made (see SYSTEM_FIELDS).
            promise.sudo().residual_at_promise = promise._current_residuals()[promise.id]
            # Collectors record promises of customers they usually cannot edit.
            promise.partner_id.sudo().message_post(
                body=self.env._(
                    "Promise to pay %(amount)s by %(date)s recorded by %(user)s.",
                    amount=format_amount(self.env, promise.amount, promise.currency_id),
                    date=format_date(self.env, promise.promised_date),
                    user=promise.user_id.name,
                ),
                subtype_xmlid="mail.mt_note",
            )
        return promises

    def write(self, vals):
        if not {"move_line_ids", "partner_id", "company_id"} & set(vals):
            return super().write(vals)
        # Only the items added are judged: an item named earlier may have been
        # paid since, which does not make the promise wrong.
        before = {promise: promise.move_line_ids for promise in self}
        refresh = {"partner_id", "company_id"} & set(vals)
        result = super().write(vals)
        self._check_move_lines(
            {
                promise: promise.move_line_ids
                if refresh
                else promise.move_line_ids - before[promise]
                for promise in self
            }
        )
        return result

    def _credit_guarded_fields(self):
        return dict.fromkeys(SYSTEM_FIELDS, SYSTEM)

    def _credit_free_fields(self):
        return FREE_FIELDS

    def _credit_guard_hint(self):
        return self.env._("Use Mark as Kept or Mark as Broken.")

    def _current_residuals(self):
        """Open amount on each promise's items, or on all overdue chased items of
        its customer when it names none, in constant queries.

        :return: {promise id: amount in company currency}
        """
        residuals = {}
        named = self.filtered("move_line_ids")
        named.move_line_ids.fetch(["amount_residual"])
        for promise in named:
            residuals[promise.id] = sum(promise.move_line_ids.mapped("amount_residual"))
        Line = self.env["account.move.line"]
        today = fields.Date.context_today(self)
        for company, promises in (self - named).grouped("company_id").items():
            Line.flush_model()
            rows = self.env.execute_query(
                SQL(
                    "SELECT partner.commercial_partner_id, SUM(line.amount_residual) %s "
                    "GROUP BY partner.commercial_partner_id",
                    Line._chased_receivable_sql(
                        company,
                        SQL(
                            "partner.commercial_partner_id = ANY(%s) AND %s",
                            promises.partner_id.ids,
                            Line._overdue_sql(today),
                        ),
                    ),
                )
            )
            open_amounts = dict(rows)
            for promise in promises:
                residuals[promise.id] = open_amounts.get(promise.partner_id.id, 0.0)
        return residuals

    @api.model
    def _update_promises(self, company):
        # The outcome of a promise follows from the payments, whoever runs it.
        self.sudo().search(
            [("company_id", "=", company.id), ("state", "=", "open")]
        )._update_state()

    def _update_state(self):
        """Kept once payments reach the promised amount; broken when the promised
        date has passed without them."""
        today = fields.Date.context_today(self)
        # The outcome of a promise follows from the payments, whoever looks.
        promises = self.sudo().filtered(lambda promise: promise.state == "open")
        kept = promises.filtered(
            lambda promise: promise.paid_amount >= promise.amount - promise.currency_id.rounding / 2
        )
        broken = (promises - kept).filtered(lambda promise: promise.promised_date < today)
        kept.write({"state": "kept"})
        broken.write({"state": "broken"})
        for promise in broken:
            promise._notify_broken()

    def _notify_broken(self):
        self.ensure_one()
        # The customer's follow-up log and its collector's activity, which who
        # records the outcome (a collector, the scheduled action) may not edit.
        partner = self.partner_id.sudo().with_company(self.company_id)
        body = self.env._(
            "Promise to pay %(amount)s by %(date)s was broken: %(paid)s received. "
            "Follow-up resumes.",
            amount=format_amount(self.env, self.amount, self.currency_id),
            date=format_date(self.env, self.promised_date),
            paid=format_amount(self.env, self.paid_amount, self.currency_id),
        )
        partner.message_post(body=body, subtype_xmlid="mail.mt_note")
        collector = partner.followup_responsible_id or self.user_id
        partner.activity_schedule(
            "mail.mail_activity_data_todo",
            user_id=collector.id,
            summary=self.env._("Broken promise to pay"),
            note=body,
        )

    def action_mark_kept(self):
        self.check_access("write")
        # A collector's decision on the outcome (see SYSTEM_FIELDS).
        self.sudo().write({"state": "kept"})

    def action_mark_broken(self):
        self.check_access("write")
        for promise in self.filtered(lambda promise: promise.state == "open"):
            # A collector's decision on the outcome (see SYSTEM_FIELDS).
            promise.sudo().state = "broken"
            promise._notify_broken()
