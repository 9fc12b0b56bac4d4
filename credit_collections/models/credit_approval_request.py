from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import format_amount, format_date

APPROVAL_STATES = [
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("expired", "Expired"),
]

# Only credit managers decide: these fields change through decisions, never by hand.
PROTECTED_FIELDS = {"state", "approver_id", "decision_date", "valid_until", "amount", "is_override"}


class CreditApprovalRequest(models.Model):
    _name = "credit.approval.request"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _description = "Credit Approval Request"
    _order = "create_date desc, id desc"
    _check_company_auto = True

    order_id = fields.Many2one(
        "sale.order",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
        readonly=True,
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        compute="_compute_partner_id",
        store=True,
        index=True,
        readonly=True,
    )
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="order_id.currency_id", store=True)
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    amount = fields.Monetary(
        string="Approved Amount",
        currency_field="currency_id",
        required=True,
        tracking=True,
        help="The order can be confirmed while its total does not exceed this amount.",
    )
    exposure = fields.Monetary(
        string="Exposure at Request",
        currency_field="company_currency_id",
        readonly=True,
    )
    credit_limit = fields.Monetary(
        string="Credit Limit at Request", currency_field="company_currency_id", readonly=True
    )
    overdue_amount = fields.Monetary(
        string="Overdue at Request", currency_field="company_currency_id", readonly=True
    )
    reasons = fields.Text(string="Reasons at Request", readonly=True)
    requested_by_id = fields.Many2one(
        "res.users",
        default=lambda self: self.env.user,
        readonly=True,
    )
    state = fields.Selection(
        selection=APPROVAL_STATES,
        string="Status",
        default="pending",
        required=True,
        tracking=True,
        readonly=True,
        index=True,
    )
    approver_id = fields.Many2one("res.users", string="Decided By", readonly=True, tracking=True)
    decision_date = fields.Datetime(readonly=True)
    validity_days = fields.Integer(
        string="Validity (Days)",
        default=lambda self: self.env.company.credit_approval_validity_days,
    )
    valid_until = fields.Date(readonly=True, tracking=True)
    manager_note = fields.Text(tracking=True)
    is_override = fields.Boolean(
        string="Direct Override",
        readonly=True,
        help="Confirmed directly by a credit manager with an override reason.",
    )

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("order_id.partner_invoice_id")
    def _compute_partner_id(self):
        for request in self:
            request.partner_id = request.order_id.partner_invoice_id.commercial_partner_id

    @api.depends("order_id.name", "state")
    def _compute_display_name(self):
        states = dict(self._fields["state"]._description_selection(self.env))
        for request in self:
            request.display_name = self.env._(
                "Credit approval %(order)s (%(state)s)",
                order=request.order_id.name or "",
                state=states.get(request.state, ""),
            )

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("amount", "validity_days")
    def _check_amount_and_validity(self):
        for request in self:
            if request.amount < 0:
                raise ValidationError(self.env._("Approved Amount cannot be negative."))
            if request.validity_days < 0:
                raise ValidationError(self.env._("Validity (Days) cannot be negative."))

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        requests = super().create(vals_list)
        for request in requests:
            request._credit_post_on_documents(
                self.env._(
                    "Credit approval requested by %(user)s for %(amount)s.\n%(reasons)s",
                    user=request.requested_by_id.name,
                    amount=format_amount(self.env, request.amount, request.currency_id),
                    reasons=request.reasons or "",
                )
            )
        return requests

    def write(self, vals):
        if PROTECTED_FIELDS & set(vals):
            self._credit_check_manager()
        return super().write(vals)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_approve(self):
        self._credit_check_manager()
        for request in self:
            request._credit_decide("approved", request.manager_note)
        return True

    def action_reject(self):
        self._credit_check_manager()
        for request in self:
            request._credit_decide("rejected", request.manager_note)
        return True

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    @api.model
    def _credit_check_manager(self):
        if self.env.su or self.env.user._is_superuser():
            return
        if not self.env.user.has_group("credit_collections.group_credit_manager"):
            raise AccessError(
                self.env._("Only credit managers can approve, reject or override credit holds.")
            )

    def _credit_decide(self, state, note):
        self.ensure_one()
        if self.state != "pending":
            raise UserError(
                self.env._("%(request)s has already been decided.", request=self.display_name)
            )
        today = fields.Date.context_today(self)
        self.write(
            {
                "state": state,
                "approver_id": self.env.user.id,
                "decision_date": fields.Datetime.now(),
                "valid_until": today + timedelta(days=self.validity_days)
                if state == "approved"
                else False,
            }
        )
        self.activity_ids.filtered(
            lambda activity: (
                activity.activity_type_id
                == self.env.ref("credit_collections.mail_activity_credit_approval")
            )
        ).action_feedback(feedback=note or "")
        if state == "approved":
            body = self.env._(
                "%(kind)s by %(user)s for up to %(amount)s, valid until %(date)s.",
                kind=self.env._("Credit override")
                if self.is_override
                else self.env._("Credit exception approved"),
                user=self.env.user.name,
                amount=format_amount(self.env, self.amount, self.currency_id),
                date=format_date(self.env, self.valid_until),
            )
        else:
            body = self.env._("Credit exception rejected by %(user)s.", user=self.env.user.name)
        if note:
            body += "\n" + self.env._("Note: %(note)s", note=note)
        self._credit_post_on_documents(body, notify=self.requested_by_id.partner_id)

    def _credit_post_on_documents(self, body, notify=None):
        """Log a credit decision on the request, its order and its customer."""
        self.ensure_one()
        partner_ids = notify.ids if notify and notify != self.env.user.partner_id else []
        self.message_post(body=body, subtype_xmlid="mail.mt_note")
        self.order_id.message_post(
            body=body,
            subtype_xmlid="mail.mt_comment" if partner_ids else "mail.mt_note",
            partner_ids=partner_ids,
        )
        # The customer's audit trail must record every request, also those of
        # salespeople, who usually cannot edit customers.
        self.partner_id.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    def _credit_covers_order(self):
        """An approval lets its order be confirmed up to its amount, while valid."""
        self.ensure_one()
        return (
            self.state == "approved"
            and (not self.valid_until or self.valid_until >= fields.Date.context_today(self))
            and self.currency_id.compare_amounts(self.order_id.amount_total, self.amount) <= 0
        )

    def _credit_approval_reason(self):
        self.ensure_one()
        return self.env._(
            "Credit exception approved by %(user)s for up to %(amount)s until %(date)s.",
            user=self.approver_id.name,
            amount=format_amount(self.env, self.amount, self.currency_id),
            date=format_date(self.env, self.valid_until),
        )

    @api.model
    def _credit_approvers(self, company):
        if company.credit_approver_id:
            return company.credit_approver_id
        return (
            self.env.ref("credit_collections.group_credit_manager")
            .users.filtered(lambda user: not user.share and company in user.company_ids)
            .sorted("id")
        )

    def _credit_notify_approvers(self):
        for request in self:
            approvers = self._credit_approvers(request.company_id)
            for approver in approvers:
                request.activity_schedule(
                    "credit_collections.mail_activity_credit_approval",
                    user_id=approver.id,
                    note=self.env._(
                        "%(user)s asks to confirm %(order)s (%(amount)s) for %(partner)s.",
                        user=request.requested_by_id.name,
                        order=request.order_id.name,
                        amount=format_amount(self.env, request.amount, request.currency_id),
                        partner=request.partner_id.display_name,
                    ),
                )

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------

    @api.model
    def _cron_expire_credit_approvals(self):
        expired = self.search(
            [
                ("state", "=", "approved"),
                ("valid_until", "<", fields.Date.context_today(self)),
                ("order_id.state", "in", ("draft", "sent")),
            ]
        )
        expired.write({"state": "expired"})
        notes = {}
        for request in expired:
            body = self.env._(
                "Credit approval for %(order)s expired on %(date)s.",
                order=request.order_id.name,
                date=format_date(self.env, request.valid_until),
            )
            for document in (request, request.order_id, request.partner_id):
                notes.setdefault(document._name, {}).setdefault(document.id, []).append(body)
        # Logged on the request, its order and its customer as every decision is,
        # each kind of document at once.
        for model, bodies in notes.items():
            self.env[model].browse(list(bodies))._message_log_batch(
                bodies={
                    document_id: Markup("<br/>").join(texts)
                    for document_id, texts in bodies.items()
                }
            )
