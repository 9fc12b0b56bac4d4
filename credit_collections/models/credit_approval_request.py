from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import format_amount, format_date

from .credit_guarded_mixin import CAPTURED, ONCE, SYSTEM, Guard

APPROVAL_STATES = [
    ("pending", "Pending"),
    ("approved", "Approved"),
    ("rejected", "Rejected"),
    ("expired", "Expired"),
    ("cancelled", "Cancelled"),
]

# Set by the request itself or by a decision: nobody writes them by hand, not even
# a credit manager (see _credit_guarded_fields).
SYSTEM_FIELDS = {
    "order_id",
    "company_id",
    "requested_by_id",
    "state",
    "approver_id",
    "decision_date",
    "valid_until",
    "is_override",
}
# Captured from the order and its customer when the request is made.
CAPTURED_FIELDS = {
    "partner_id",
    "order_partner_id",
    "currency_id",
    "exposure",
    "credit_limit",
    "overdue_amount",
    "reasons",
}
# What the credit manager decides on while the request is pending.
MANAGER_FIELDS = ("amount", "validity_days", "manager_note")
# The longest validity a credit manager may give (a year).
MAX_VALIDITY_DAYS = 366


class CreditApprovalRequest(models.Model):
    _name = "credit.approval.request"
    _inherit = [
        "mail.thread",
        "mail.activity.mixin",
        "credit.guarded.mixin",
        "credit.decision.mixin",
        "credit.batch.mixin",
    ]
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
        index=True,
        readonly=True,
        help="The invoiced customer (commercial entity) the approval was given for.",
        check_company=True,
    )
    order_partner_id = fields.Many2one(
        "res.partner",
        string="Ordering Customer",
        readonly=True,
        help="The ordering customer (commercial entity) the approval was given for.",
        check_company=True,
    )
    company_id = fields.Many2one(related="order_id.company_id", store=True, index=True)
    currency_id = fields.Many2one("res.currency", readonly=True, required=True)
    company_currency_id = fields.Many2one(
        related="company_id.currency_id", string="Company Currency"
    )
    amount = fields.Monetary(
        currency_field="currency_id",
        required=True,
        tracking=True,
        help="The order total at request. Once approved, the order can be confirmed while "
        "its total does not exceed this amount, in this currency, for this customer.",
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
    request_note = fields.Text(
        string="Why an Exception",
        help="What the salesperson tells the credit manager to support the request.",
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
        default=lambda self: min(
            max(self.env.company.credit_approval_validity_days, 0), MAX_VALIDITY_DAYS
        ),
        tracking=True,
    )
    valid_until = fields.Date(readonly=True, tracking=True)
    manager_note = fields.Text(tracking=True)
    is_override = fields.Boolean(
        string="Direct Override",
        readonly=True,
        help="Confirmed directly by a credit manager with an override reason.",
    )
    # What the form lets the user change (the server checks it again, see
    # _credit_guarded_fields): a field the user may not change is read-only.
    credit_can_decide = fields.Boolean(
        string="Can Decide",
        compute="_compute_credit_can_edit",
        help="Whether you may change the amount, validity and manager note (credit managers, "
        "while the request is pending).",
    )
    credit_can_explain = fields.Boolean(
        string="Can Explain",
        compute="_compute_credit_can_edit",
        help="Whether you may write why an exception is needed (who requested it, or a credit "
        "manager, while the request is pending).",
    )

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends("order_id.name", "state")
    def _compute_display_name(self):
        states = dict(self._fields["state"]._description_selection(self.env))
        for request in self:
            request.display_name = self.env._(
                "Credit approval %(order)s (%(state)s)",
                order=request.order_id.name or "",
                state=states.get(request.state, ""),
            )

    @api.depends("state", "requested_by_id")
    @api.depends_context("uid")
    def _compute_credit_can_edit(self):
        manager = self.env.user.has_group("credit_collections.group_credit_manager")
        for request in self:
            pending = request.state == "pending"
            request.credit_can_decide = pending and manager
            request.credit_can_explain = pending and (
                manager or request.requested_by_id == self.env.user or not request.id
            )

    # ------------------------------------------------------------------
    # Constraints
    # ------------------------------------------------------------------

    @api.constrains("amount", "validity_days")
    def _check_amount_and_validity(self):
        for request in self:
            if request.amount < 0:
                raise ValidationError(self.env._("Amount cannot be negative."))
            if not 0 <= request.validity_days <= MAX_VALIDITY_DAYS:
                raise ValidationError(
                    self.env._(
                        "Validity (Days) must be between 0 and %(max)s days.",
                        max=MAX_VALIDITY_DAYS,
                    )
                )

    @api.constrains("order_id", "state")
    def _check_one_pending_per_order(self):
        counts = self._read_group(
            [("order_id", "in", self.order_id.ids), ("state", "=", "pending")],
            ["order_id"],
            ["__count"],
        )
        for order, count in counts:
            if count > 1:
                raise ValidationError(
                    self.env._(
                        "A credit approval request for %(order)s is already waiting for a "
                        "credit manager.",
                        order=order.name,
                    )
                )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            order = self.env["sale.order"].browse(vals.get("order_id"))
            # What the approver decides on is captured from the order: the request
            # cannot claim another amount or other figures.
            self._credit_guard_capture(vals, order._prepare_credit_approval_request_vals())
        requests = super().create(vals_list)
        for request in requests:
            body = self.env._(
                "Credit approval requested by %(user)s for %(amount)s.\n%(reasons)s",
                user=request.requested_by_id.name,
                amount=format_amount(self.env, request.amount, request.currency_id),
                reasons=request.reasons or "",
            )
            if request.request_note:
                body += "\n" + self.env._("Why: %(note)s", note=request.request_note)
            request._credit_post_on_documents(body)
        return requests

    def _credit_guarded_fields(self):
        """Captured from the order and its customer when the request is made, or
        set by a decision: a request shows the approver what the requester saw,
        and a decision who took it. The credit manager decides on the amount,
        validity and note while the request is pending; the requester's note is
        theirs while it is pending."""
        manager = Guard(
            "credit_collections.group_credit_manager", "_credit_guard_pending", "captured"
        )
        return {
            **dict.fromkeys(SYSTEM_FIELDS - {"order_id"}, SYSTEM),
            **dict.fromkeys(CAPTURED_FIELDS, CAPTURED),
            "order_id": ONCE,
            "amount": manager,
            "validity_days": manager,
            "manager_note": manager._replace(on_create="default"),
            "request_note": Guard("base.group_user", "_credit_guard_own_pending", "given"),
        }

    def _credit_guard_hint(self):
        return self.env._(
            "Request an approval from the order; credit managers decide with Approve or Reject."
        )

    def _credit_guard_raise(self, forged, refusals):
        """A salesperson who changed what the credit manager decides on is told
        which of those fields they changed, and what they may write instead."""
        if (
            forged
            and forged <= set(MANAGER_FIELDS)
            and not self._credit_guard_may_set(self._credit_guarded_fields()["amount"])
        ):
            labels = {
                "amount": self.env._("Requested Amount"),
                "validity_days": self.env._("Validity (Days)"),
                "manager_note": self.env._("Manager Note"),
            }
            raise AccessError(
                self.env._(
                    "Only credit managers can change the requested amount, validity or manager "
                    "note of a credit approval request; you tried to change %(fields)s. Write "
                    "why an exception is needed in Why an Exception while the request is "
                    "pending.",
                    fields=", ".join(labels[name] for name in MANAGER_FIELDS if name in forged),
                )
            )
        return super()._credit_guard_raise(forged, refusals)

    def _credit_guard_pending(self):
        if self.state != "pending":
            return self.env._(
                "%(request)s has already been decided: its amount, validity and notes no "
                "longer change. Request a new approval from the order.",
                request=self.display_name,
            )
        return None

    def _credit_guard_own_pending(self):
        if self.env.user.has_group("credit_collections.group_credit_manager"):
            return self._credit_guard_pending()
        if self.requested_by_id != self.env.user:
            return self.env._("only who requested a credit approval can change its note")
        return self._credit_guard_pending()

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_approve(self):
        self._credit_check_manager()
        for request in self:
            request._credit_check_segregation()
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

    # The decision itself: credit.decision.mixin (manager, segregation, row lock,
    # activities, log); these are the request's answers to it.

    def _credit_interested_users(self):
        # What the order's history says, not its current salesperson alone: a
        # reassignment does not make one's own order someone else's.
        return self.requested_by_id | self.order_id._credit_interested_users()

    def _credit_segregation_refusal(self):
        return self.env._(
            "Segregation of duties: you cannot approve a credit exception for "
            "%(order)s, which you requested, created or sold (now or before it was "
            "reassigned). Another credit manager must decide.",
            order=self.order_id.name,
        )

    def _credit_decision_vals(self, state):
        today = fields.Date.context_today(self)
        return {
            **super()._credit_decision_vals(state),
            "valid_until": today + timedelta(days=self.validity_days)
            if state == "approved"
            else False,
        }

    def _credit_decision_notify(self):
        return self.requested_by_id.partner_id

    def _credit_decision_body(self, state, note):
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
        return body

    def _credit_approver_note(self):
        return self.env._(
            "%(user)s asks to confirm %(order)s (%(amount)s) for %(partner)s.",
            user=self.requested_by_id.name,
            order=self.order_id.name,
            amount=format_amount(self.env, self.amount, self.currency_id),
            partner=self.partner_id.display_name,
        )

    def _credit_cancel(self, reason):
        """Close pending or approved requests that no longer apply (the order changed
        customer or currency, or a credit manager overrode the hold), logged."""
        open_requests = self.filtered(lambda request: request.state in ("pending", "approved"))
        if not open_requests:
            return
        # The request's state follows from the order's change, whoever made it.
        open_requests.sudo().write({"state": "cancelled"})
        for request in open_requests:
            request._credit_close_activities(reason)
            request._credit_post_on_documents(
                self.env._(
                    "Credit approval request for %(order)s cancelled: %(reason)s",
                    order=request.order_id.name,
                    reason=reason,
                )
            )

    def _credit_post_on_documents(self, body, notify=None):
        """Log a credit decision on the request, its order and its customer."""
        self.ensure_one()
        partner_ids = notify.ids if notify and notify != self.env.user.partner_id else []
        # Decisions are logged on documents the user may not edit (the order of
        # another salesperson, the customer) and by users who may have no email
        # address: the log is part of the decision they are entitled to take.
        self.sudo()._message_log(body=body)
        self.order_id.sudo().message_post(
            body=body,
            subtype_xmlid="mail.mt_comment" if partner_ids else "mail.mt_note",
            partner_ids=partner_ids,
            author_id=self.env.user.partner_id.id,
            email_from=self._credit_email_from(),
        )
        self.partner_id.sudo()._message_log(body=body)

    def _credit_email_from(self):
        """Sender of the decision's notification: the user, else the company."""
        return (
            self.env.user.email_formatted
            or self.company_id.email_formatted
            or self.env.company.email_formatted
            or None
        )

    def _credit_covers_order(self, order=None):
        """An approval lets its order be confirmed for its customers, in its currency,
        up to its amount, while valid."""
        self.ensure_one()
        order = order or self.order_id
        return (
            self.state == "approved"
            and order == self.order_id
            and (not self.valid_until or self.valid_until >= fields.Date.context_today(self))
            and order.currency_id == self.currency_id
            and order.partner_invoice_id.commercial_partner_id == self.partner_id
            and order.partner_id.commercial_partner_id == self.order_partner_id
            and self.currency_id.compare_amounts(order.amount_total, self.amount) <= 0
        )

    def _credit_approval_reason(self):
        self.ensure_one()
        return self.env._(
            "Credit exception approved by %(user)s for up to %(amount)s until %(date)s.",
            user=self.approver_id.name,
            amount=format_amount(self.env, self.amount, self.currency_id),
            date=format_date(self.env, self.valid_until),
        )

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------

    @api.model
    def _cron_expire_credit_approvals(self, limit=None):
        """Expire the next batch of approvals past their date (credit.batch.mixin:
        the scheduler calls again while some are left)."""
        return self._credit_batch_run(limit)

    def _credit_batch_domain(self):
        return [
            ("state", "=", "approved"),
            ("valid_until", "<", fields.Date.context_today(self)),
            ("order_id.state", "in", ("draft", "sent")),
        ]

    def _credit_batch_process(self, records):
        expired = records
        # Expiry is a decision of the system on a system field (see SYSTEM_FIELDS).
        expired.sudo().write({"state": "expired"})
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
