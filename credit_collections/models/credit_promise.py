from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_amount, format_date

# Set when the promise is recorded, or by its outcome (kept, broken): never by hand.
SYSTEM_FIELDS = {"state", "residual_at_promise", "user_id", "company_id"}

PROMISE_STATES = [
    ("open", "Open"),
    ("kept", "Kept"),
    ("broken", "Broken"),
]


class CreditPromise(models.Model):
    _name = "credit.promise"
    _inherit = ["mail.thread"]
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
        domain=[("account_type", "=", "asset_receivable"), ("reconciled", "=", False)],
    )
    residual_at_promise = fields.Monetary(
        currency_field="currency_id",
        readonly=True,
        help="What the customer owed on the items concerned when promising.",
    )
    paid_amount = fields.Monetary(currency_field="currency_id", compute="_compute_paid_amount")
    state = fields.Selection(
        selection=PROMISE_STATES, default="open", required=True, tracking=True, index=True
    )
    user_id = fields.Many2one(
        "res.users", string="Recorded By", default=lambda self: self.env.user, readonly=True
    )
    note = fields.Text()

    @api.depends("move_line_ids.amount_residual", "residual_at_promise")
    def _compute_paid_amount(self):
        for promise in self:
            promise.paid_amount = promise.residual_at_promise - promise._current_residual()

    @api.constrains("amount")
    def _check_amount(self):
        if any(promise.amount <= 0 for promise in self):
            raise ValidationError(self.env._("Amount: a promise to pay must be positive."))

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                # Forms send the defaults along: only other values are refused.
                given = {
                    name
                    for name in set(vals) - {"company_id"}
                    if not (name == "state" and vals[name] == "open")
                    and not (name == "user_id" and vals[name] == self.env.uid)
                }
                self._check_system_fields(given)
        for vals in vals_list:
            if vals.get("partner_id"):
                partner = self.env["res.partner"].browse(vals["partner_id"])
                vals["partner_id"] = partner.commercial_partner_id.id
        promises = super().create(vals_list)
        for promise in promises:
            # Captured once, when the promise is made (see SYSTEM_FIELDS).
            promise.sudo().residual_at_promise = promise._current_residual()
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
        if not self.env.su:
            self._check_system_fields(set(vals))
        return super().write(vals)

    def _check_system_fields(self, field_names):
        forbidden = field_names & SYSTEM_FIELDS
        if forbidden:
            raise AccessError(
                self.env._(
                    "These fields of a promise to pay are set when it is recorded or by its "
                    "outcome, never by hand: %(fields)s. Use Mark as Kept or Mark as Broken.",
                    fields=", ".join(sorted(forbidden)),
                )
            )

    def _current_residual(self):
        """Open amount on the promise's items, or on all overdue items of the
        customer when the promise names none."""
        self.ensure_one()
        lines = self.move_line_ids or self.partner_id.with_company(
            self.company_id
        )._get_followup_lines(overdue_only=True)
        return sum(lines.mapped("amount_residual"))

    @api.model
    def _update_promises(self, company):
        self.search([("company_id", "=", company.id), ("state", "=", "open")])._update_state()

    def _update_state(self):
        """Kept once payments reach the promised amount; broken when the promised
        date has passed without them."""
        today = fields.Date.context_today(self)
        # The outcome of a promise follows from the payments, whoever looks.
        for promise in self.sudo().filtered(lambda promise: promise.state == "open"):
            rounding = promise.currency_id.rounding
            if promise.paid_amount >= promise.amount - rounding / 2:
                promise.state = "kept"
            elif promise.promised_date < today:
                promise.state = "broken"
                promise._notify_broken()

    def _notify_broken(self):
        self.ensure_one()
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
