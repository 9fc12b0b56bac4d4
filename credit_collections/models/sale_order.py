from collections import defaultdict

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .res_partner import CREDIT_STATUSES


class SaleOrder(models.Model):
    _inherit = "sale.order"

    credit_status = fields.Selection(selection=CREDIT_STATUSES, compute="_compute_credit_status")
    credit_status_reasons = fields.Text(compute="_compute_credit_status")
    credit_exposure_summary = fields.Text(
        string="Exposure Breakdown", compute="_compute_credit_status"
    )
    credit_approval_ids = fields.One2many(
        "credit.approval.request", "order_id", string="Credit Approvals"
    )
    credit_approval_pending = fields.Boolean(compute="_compute_credit_approval_state")
    credit_approval_valid = fields.Boolean(compute="_compute_credit_approval_state")

    @api.depends(
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

    @api.depends("credit_approval_ids.state", "credit_approval_ids.valid_until", "amount_total")
    def _compute_credit_approval_state(self):
        for order in self:
            order.credit_approval_pending = any(
                request.state == "pending" for request in order.credit_approval_ids
            )
            order.credit_approval_valid = bool(order._credit_valid_approval())

    # ------------------------------------------------------------------
    # Confirmation hook
    # ------------------------------------------------------------------

    def action_confirm(self):
        # The whole batch is checked together, so that the refusal names every
        # blocked order and orders of one customer are added up.
        return super(
            SaleOrder, self.with_context(credit_confirm_batch=tuple(self.ids))
        ).action_confirm()

    def _confirmation_error_message(self):
        message = super()._confirmation_error_message()
        if message:
            return message
        batch_ids = self.env.context.get("credit_confirm_batch") or ()
        batch = self.browse(batch_ids) if self.id in batch_ids else self
        batch = batch.filtered(lambda order: order.state in ("draft", "sent"))
        return batch._credit_confirmation_errors() or False

    def _credit_confirmation_errors(self):
        """The refusal message for the orders in self that credit rules block, or ''."""
        # Only limits depend on other orders of the customer: serialize those checks.
        self.env["credit.exposure"]._lock_partners(
            self.filtered(
                lambda order: (
                    order.company_id.account_use_credit_limit
                    or order.company_id.credit_zero_limit_policy == "no_credit"
                )
            ).partner_invoice_id
        )
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
            'What to do: ask a credit manager for an exception with "Request Credit '
            'Approval", get the overdue invoices paid, or reduce the order.',
            order=self.name,
            partner=snapshot["partner"].display_name,
            reasons=reasons,
            summary=self._credit_exposure_summary(snapshot),
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
        """Snapshot of the customer as if the order were confirmed now, after the
        orders confirmed with it worth other_orders_amount."""
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
            rates = engine._currency_rates(company, set(orders.currency_id.ids))
            base = engine._get_snapshots(partners, company, exclude_orders=orders.ids)
            running = defaultdict(float)
            for order in orders.sorted("id"):
                partner = order.partner_invoice_id.commercial_partner_id

                rate = rates[order.currency_id.id]
                snapshot = order._credit_order_snapshot(base[partner.id], running[partner.id], rate)
                if snapshot["status"] == "blocked" and order._credit_is_paid_in_advance():
                    snapshot = order._credit_order_snapshot(
                        base[partner.id], running[partner.id], rate, paid=True
                    )
                if snapshot["status"] == "blocked":
                    if approvals is None:
                        approvals = self._credit_valid_approvals()
                    if approval := approvals.get(order):
                        snapshot["status"] = "warning"
                        snapshot["reasons"].append(approval._credit_approval_reason())
                order_amount = snapshot["order_amount"]
                if cumulative:
                    running[partner.id] += order_amount
                result[order] = snapshot
        return result

    # ------------------------------------------------------------------
    # Approvals
    # ------------------------------------------------------------------

    def _credit_valid_approvals(self):
        requests = self.env["credit.approval.request"].search(
            [("order_id", "in", self.ids), ("state", "=", "approved")], order="decision_date desc"
        )
        approvals = {}
        for request in requests:
            if request.order_id not in approvals and request._credit_covers_order():
                approvals[request.order_id] = request
        return approvals

    def _credit_valid_approval(self):
        self.ensure_one()
        return self._credit_valid_approvals().get(self, self.env["credit.approval.request"])

    def action_request_credit_approval(self):
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
        snapshot = self._credit_check(cumulative=False)[self]
        request = self.env["credit.approval.request"].create(
            self._prepare_credit_approval_request_vals(snapshot)
        )
        request._credit_notify_approvers()
        return True

    def _prepare_credit_approval_request_vals(self, snapshot):
        self.ensure_one()
        return {
            "order_id": self.id,
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
        snapshot = self._credit_check(cumulative=False)[self]
        vals = self._prepare_credit_approval_request_vals(snapshot)
        vals.update(manager_note=reason, is_override=True)
        request = request_model.create(vals)
        request._credit_decide("approved", reason)
        return self.action_confirm()

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "credit_collections.action_credit_approval_request"
        )
        action["domain"] = [("order_id", "=", self.id)]
        action["context"] = {"create": False}
        return action
