from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .res_partner import CREDIT_STATUSES

# Changing any of these on an order voids its credit approvals: an approval holds
# for one order, its customers, and an amount in one currency.
APPROVAL_BINDING_FIELDS = ("partner_id", "partner_invoice_id", "currency_id", "company_id")


class CreditConfirmationCheck:
    """The credit verdict of orders confirmed together, computed once for the batch.

    Handed down from ``action_confirm`` to ``_confirmation_error_message`` (called
    once per order) and to ``write`` in the context as an object: RPC callers can
    pass context values, but not this object, so nobody can claim a check passed.
    """

    def __init__(self, orders):
        self.order_ids = frozenset(orders.ids)
        self._refusal = None

    def refusal(self, orders):
        """Refusal message for the orders of the batch, '' when they pass."""
        if self._refusal is None:
            batch = orders.browse(sorted(self.order_ids)).filtered(
                lambda order: order.state in ("draft", "sent")
            )
            self._refusal = batch._credit_confirmation_errors()
        return self._refusal

    def passed(self, orders):
        return self._refusal == "" and set(orders.ids) <= self.order_ids


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "credit.guarded.mixin"]

    credit_status = fields.Selection(
        selection=CREDIT_STATUSES, compute="_compute_credit_status", groups="base.group_user"
    )
    credit_status_reasons = fields.Text(compute="_compute_credit_status", groups="base.group_user")
    credit_exposure_summary = fields.Text(
        string="Exposure Breakdown", compute="_compute_credit_status", groups="base.group_user"
    )
    credit_approval_ids = fields.One2many(
        "credit.approval.request",
        "order_id",
        string="Credit Approvals",
        groups="base.group_user",
    )
    credit_approval_pending = fields.Boolean(
        compute="_compute_credit_approval_state", groups="base.group_user"
    )
    credit_approval_valid = fields.Boolean(
        compute="_compute_credit_approval_state", groups="base.group_user"
    )

    @api.depends(
        "partner_id",
        "partner_invoice_id",
        "company_id",
        "amount_total",
        "currency_id",
        "state",
        "credit_approval_ids.state",
    )
    def _compute_credit_status(self):
        to_check = self.filtered(
            lambda order: order.state in ("draft", "sent") and order.partner_invoice_id
        )
        snapshots = to_check._credit_check(cumulative=False)
        for order in self:
            snapshot = snapshots.get(order)
            if not snapshot:
                order.credit_status = "ok"
                order.credit_status_reasons = False
                order.credit_exposure_summary = False
                continue
            order.credit_status = snapshot["status"]
            order.credit_status_reasons = "\n".join(snapshot["reasons"])
            order.credit_exposure_summary = order._credit_exposure_summary(snapshot)

    @api.depends(
        "credit_approval_ids.state",
        "credit_approval_ids.valid_until",
        "amount_total",
        "currency_id",
        "partner_id",
        "partner_invoice_id",
    )
    def _compute_credit_approval_state(self):
        approvals = self._credit_valid_approvals()
        for order in self:
            order.credit_approval_pending = any(
                request.state == "pending" for request in order.credit_approval_ids
            )
            order.credit_approval_valid = order in approvals

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def _credit_free_fields(self):
        # The requests guard their own fields, whichever way they are written.
        return {*super()._credit_free_fields(), "credit_approval_ids"}

    def write(self, vals):
        if vals.get("state") == "sale":
            self._credit_check_before_state_sale()
        bound = self._credit_approval_bindings() if set(vals) & set(APPROVAL_BINDING_FIELDS) else {}
        result = super().write(vals)
        if bound:
            self._credit_void_changed_approvals(bound)
        return result

    def _credit_check_before_state_sale(self):
        """Writing state 'sale' confirms an order as surely as action_confirm: the
        credit check applies, unless action_confirm ran it for these orders."""
        to_confirm = self.filtered(lambda order: order.state != "sale")
        if not to_confirm:
            return
        check = self.env.context.get("credit_confirmation")
        if isinstance(check, CreditConfirmationCheck) and check.passed(to_confirm):
            return
        refusal = to_confirm._credit_confirmation_errors()
        if refusal:
            raise UserError(refusal)

    def _credit_approval_bindings(self):
        """{order: (ordering customer, invoiced customer, currency, company)} of the
        orders with open approval requests."""
        # Whoever edits the order cancels its requests, including those of another
        # salesperson that record rules hide.
        requests = (
            self.env["credit.approval.request"]
            .sudo()
            .search([("order_id", "in", self.ids), ("state", "in", ("pending", "approved"))])
        )
        return {order: order._credit_approval_binding() for order in requests.order_id}

    def _credit_approval_binding(self):
        self.ensure_one()
        return (
            self.partner_id.commercial_partner_id,
            self.partner_invoice_id.commercial_partner_id,
            self.currency_id,
            self.company_id,
        )

    def _credit_void_changed_approvals(self, bindings):
        for order, binding in bindings.items():
            if order._credit_approval_binding() == binding:
                continue
            # Requests are changed by decisions only; this one follows from the
            # order's own change, whoever makes it.
            order.sudo().credit_approval_ids._credit_cancel(
                self.env._(
                    "the customer, the invoice address or the currency of the order changed."
                )
            )

    # ------------------------------------------------------------------
    # Confirmation hook
    # ------------------------------------------------------------------

    def action_confirm(self):
        # The whole batch is checked once, together, so that the refusal names every
        # blocked order and orders of one customer are added up.
        check = CreditConfirmationCheck(self)
        return super(SaleOrder, self.with_context(credit_confirmation=check)).action_confirm()

    def _confirmation_error_message(self):
        message = super()._confirmation_error_message()
        if message:
            return message
        check = self.env.context.get("credit_confirmation")
        if not isinstance(check, CreditConfirmationCheck) or self.id not in check.order_ids:
            check = CreditConfirmationCheck(self)
        return check.refusal(self) or False

    def _validate_order(self):
        """Orders accepted online: those the credit rules block wait for a credit
        review instead of being confirmed, and the customer is told nothing internal."""
        blocked = self._credit_orders_blocked()
        for order in blocked:
            order._credit_hold_for_review()
        if self - blocked:
            return super(SaleOrder, self - blocked)._validate_order()
        return None

    def _credit_orders_blocked(self):
        orders = self.filtered(lambda order: order.state in ("draft", "sent"))
        snapshots = orders._credit_check(cumulative=True)
        return orders.filtered(lambda order: snapshots[order]["status"] == "blocked")

    def _credit_hold_for_review(self):
        """A customer accepted a quotation that credit rules block: ask the credit
        managers for a decision and tell the salesperson, as the salesperson would."""
        self.ensure_one()
        # Called from the portal (public or portal user): the request and the
        # activities are made on behalf of the salesperson.
        order = self.sudo()
        if not order.credit_approval_ids.filtered(lambda request: request.state == "pending"):
            request = (
                self.env["credit.approval.request"]
                .sudo()
                .create(
                    {
                        "order_id": order.id,
                        "requested_by_id": (order.user_id or self.env.ref("base.user_root")).id,
                        "request_note": self.env._(
                            "Accepted online by the customer (%(name)s): waiting for a credit "
                            "decision before confirmation.",
                            name=order.signed_by or order.partner_id.name,
                        ),
                    }
                )
            )
            request._credit_notify_approvers()
        if order.user_id:
            order.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=order.user_id.id,
                summary=self.env._("Accepted online, held for credit"),
                note=self.env._(
                    "The customer accepted %(order)s online, but it is blocked for credit: "
                    "a credit manager must decide before it is confirmed.",
                    order=order.name,
                ),
            )

    def _credit_is_under_review(self):
        """Whether the quotation waits for a credit decision (shown to the customer
        without any reason)."""
        self.ensure_one()
        # The portal customer may not read requests, only whether one is pending.
        return self.state in ("draft", "sent") and bool(
            self.sudo().credit_approval_ids.filtered(lambda request: request.state == "pending")
        )

    def _credit_confirmation_errors(self):
        """The refusal message for the orders in self that credit rules block, or ''."""
        # Only limits depend on other orders of the customer: serialize those checks.
        to_lock = self.filtered(
            lambda order: (
                order.company_id.account_use_credit_limit
                or order.company_id.credit_zero_limit_policy == "no_credit"
            )
        )
        self.env["credit.exposure"]._lock_partners(to_lock.partner_invoice_id | to_lock.partner_id)
        snapshots = self._credit_check(cumulative=True)
        blocked = [order for order in self if snapshots[order]["status"] == "blocked"]
        if not blocked:
            return ""
        messages = [order._credit_block_message(snapshots[order]) for order in blocked]
        return "\n\n".join(messages)

    def _credit_block_message(self, snapshot):
        self.ensure_one()
        reasons = "\n".join(f"- {reason}" for reason in snapshot["blocking_reasons"])
        return self.env._(
            "Order %(order)s cannot be confirmed: customer %(partner)s is blocked for credit.\n"
            "%(reasons)s\n"
            "%(summary)s\n"
            "%(advice)s",
            order=self.name,
            partner=snapshot["partner"].display_name,
            reasons=reasons,
            summary=self._credit_exposure_summary(snapshot),
            advice=self.env["credit.exposure"]._get_blocking_advice(snapshot["blocking_rules"]),
        )

    def _credit_exposure_summary(self, snapshot):
        self.ensure_one()

        def amount(value):
            return format_amount(self.env, value, snapshot["currency"])

        limit = amount(snapshot["limit"]) if snapshot["has_limit"] else self.env._("no limit")
        return self.env._(
            "Credit limit %(limit)s; exposure %(exposure)s including this order "
            "(%(order)s): open not yet due %(not_due)s, overdue %(overdue)s, orders to "
            "invoice %(orders)s, draft invoices %(drafts)s.",
            limit=limit,
            exposure=amount(snapshot["exposure"]),
            order=amount(snapshot["order_amount"]),
            not_due=amount(snapshot["not_due"]),
            overdue=amount(snapshot["overdue"]),
            orders=amount(snapshot["orders"] + snapshot["other_orders_amount"]),
            drafts=amount(snapshot["draft_invoices"]),
        )

    def _credit_is_paid_in_advance(self):
        """Paid online in full: granting no credit, amount rules do not apply."""
        self.ensure_one()
        return self.currency_id.compare_amounts(self.amount_paid, self.amount_total) >= 0 and bool(
            self.amount_total
        )

    def _credit_order_snapshot(self, base, other_orders_amount, rate, paid=False):
        """Snapshot of one customer of the order as if the order were confirmed now,
        after the orders confirmed with it worth other_orders_amount."""
        self.ensure_one()
        order_amount = 0.0 if paid else self.amount_total * rate
        snapshot = dict(
            base,
            order_amount=order_amount,
            other_orders_amount=other_orders_amount,
            exposure=base["exposure_before_order"] + other_orders_amount + order_amount,
            paid_in_advance=paid,
        )
        snapshot.update(self.env["credit.exposure"]._evaluate(snapshot))
        return snapshot

    def _credit_checked_partners(self):
        """Commercial entities whose credit the order engages: the invoiced customer
        first, then the ordering one when it is another company. A customer on hold
        cannot order through the invoice address of another."""
        self.ensure_one()
        return self.partner_invoice_id.commercial_partner_id | self.partner_id.commercial_partner_id

    def _credit_merge_snapshots(self, snapshots):
        """One verdict for the order: the invoiced customer's snapshot, blocked or
        warned by the ordering customer's as well, its reasons named after it."""
        main = snapshots[0]
        for other in snapshots[1:]:
            if other["status"] == "ok":
                continue

            def named(reason, partner=other["partner"]):
                return self.env._(
                    "Ordering customer %(partner)s: %(reason)s",
                    partner=partner.display_name,
                    reason=reason,
                )

            main["reasons"] = main["reasons"] + [named(reason) for reason in other["reasons"]]
            main["blocking_reasons"] = main["blocking_reasons"] + [
                named(reason) for reason in other["blocking_reasons"]
            ]
            main["blocking_rules"] = main["blocking_rules"] + other["blocking_rules"]
            if other["status"] == "blocked" or main["status"] == "ok":
                main["status"] = other["status"]
        return main

    def _credit_check(self, cumulative=True):
        """Credit snapshot of each order in self, as if it were confirmed now.

        :param cumulative: add up the orders of one customer in self, as when they
            are confirmed together
        :return: {order: snapshot}
        """
        result = {}
        engine = self.env["credit.exposure"]
        # Approvals and online payments only matter to orders the rules block:
        # most checks pass without reading them.
        approvals = None
        for company, orders in self.grouped("company_id").items():
            partners = orders.partner_invoice_id.commercial_partner_id
            partners |= orders.partner_id.commercial_partner_id
            rates = engine._currency_rates(company, set(orders.currency_id.ids))
            base = engine._get_snapshots(partners, company, exclude_orders=orders.ids)
            running = defaultdict(float)
            for order in orders.sorted("id"):
                rate = rates[order.currency_id.id]
                checked = order._credit_checked_partners()
                paid = False
                snapshots = [
                    order._credit_order_snapshot(base[partner.id], running[partner.id], rate)
                    for partner in checked
                ]
                snapshot = order._credit_merge_snapshots(snapshots)
                if snapshot["status"] == "blocked" and order._credit_is_paid_in_advance():
                    paid = True
                    snapshot = order._credit_merge_snapshots(
                        [
                            order._credit_order_snapshot(
                                base[partner.id], running[partner.id], rate, paid=True
                            )
                            for partner in checked
                        ]
                    )
                if snapshot["status"] == "blocked":
                    if approvals is None:
                        approvals = self._credit_valid_approvals()
                    if approval := approvals.get(order):
                        snapshot["status"] = "warning"
                        snapshot["reasons"].append(approval._credit_approval_reason())
                if cumulative and not paid:
                    for partner in checked:
                        running[partner.id] += order.amount_total * rate
                result[order] = snapshot
        return result

    # ------------------------------------------------------------------
    # Approvals
    # ------------------------------------------------------------------

    def _credit_valid_approvals(self):
        """{order: the approval that lets it be confirmed now}."""
        # Salespeople with access to their own documents only still confirm orders
        # whose approval is recorded: the approval binds to the order, not to them.
        requests = (
            self.env["credit.approval.request"]
            .sudo()
            .search(
                [("order_id", "in", self.ids), ("state", "=", "approved")],
                order="decision_date desc",
            )
        )
        approvals = {}
        for request in requests:
            order = self.browse(request.order_id.id)
            if order not in approvals and request._credit_covers_order(order):
                approvals[order] = request.with_env(self.env)
        return approvals

    def _credit_valid_approval(self):
        self.ensure_one()
        return self._credit_valid_approvals().get(self, self.env["credit.approval.request"])

    def action_request_credit_approval(self, note=False):
        self.ensure_one()
        if self.state not in ("draft", "sent"):
            raise UserError(self.env._("Only quotations can be submitted for credit approval."))
        if self.credit_approval_pending:
            raise UserError(
                self.env._(
                    "A credit approval request for %(order)s is already waiting for a credit "
                    "manager.",
                    order=self.name,
                )
            )
        vals = {"order_id": self.id}
        if note:
            vals["request_note"] = note
        request = self.env["credit.approval.request"].create(vals)
        request._credit_notify_approvers()
        return True

    def _prepare_credit_approval_request_vals(self):
        """What a credit approval request captures of the order when it is made."""
        self.ensure_one()
        if self.state not in ("draft", "sent"):
            raise UserError(self.env._("Only quotations can be submitted for credit approval."))
        snapshot = self._credit_check(cumulative=False)[self]
        return {
            "partner_id": self.partner_invoice_id.commercial_partner_id.id,
            "order_partner_id": self.partner_id.commercial_partner_id.id,
            "currency_id": self.currency_id.id,
            "amount": self.amount_total,
            "exposure": snapshot["exposure"],
            "credit_limit": snapshot["limit"],
            "overdue_amount": snapshot["overdue"],
            "reasons": "\n".join(snapshot["reasons"]),
            "validity_days": self.company_id.credit_approval_validity_days,
        }

    def _credit_pending_request(self):
        self.ensure_one()
        return self.credit_approval_ids.filtered(lambda request: request.state == "pending")[:1]

    def action_approve_credit(self):
        self.ensure_one()
        request = self._credit_pending_request()
        if not request:
            raise UserError(
                self.env._("There is no pending credit approval request for this order.")
            )
        return request.action_approve()

    def action_reject_credit(self):
        self.ensure_one()
        request = self._credit_pending_request()
        if not request:
            raise UserError(
                self.env._("There is no pending credit approval request for this order.")
            )
        return request.action_reject()

    def action_open_credit_override(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Confirm Despite Credit Hold"),
            "res_model": "credit.override.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def _credit_override_and_confirm(self, reason):
        """A credit manager confirms a blocked order: recorded as an approval."""
        self.ensure_one()
        request_model = self.env["credit.approval.request"]
        request_model._credit_check_manager()
        self._credit_check_override_segregation()
        pending = self.credit_approval_ids.filtered(lambda request: request.state == "pending")
        pending._credit_cancel(self.env._("superseded by a credit override."))
        # An override is a decision, recorded as an approved request: the request's
        # decision fields are the system's (see credit.approval.request).
        request = request_model.sudo().create(
            {"order_id": self.id, "manager_note": reason, "is_override": True}
        )
        request.with_env(self.env)._credit_decide("approved", reason)
        return self.action_confirm()

    def _credit_check_override_segregation(self):
        self.ensure_one()
        if (
            self.env.su
            or not self.company_id.credit_segregation_of_duties
            or self.user_id != self.env.user
        ):
            return
        raise UserError(
            self.env._(
                "Segregation of duties: %(order)s is your own order, so you cannot confirm it "
                "despite its credit hold. Request a credit approval: another credit manager "
                "will decide.",
                order=self.name,
            )
        )

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "credit_collections.action_credit_approval_request"
        )
        action["domain"] = [("order_id", "=", self.id)]
        action["context"] = {"create": False}
        return action
