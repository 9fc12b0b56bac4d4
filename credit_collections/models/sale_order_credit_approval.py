# Split from sale_order.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from odoo import models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .credit_approval_request import MAX_VALIDITY_DAYS


class SaleOrder(models.Model):
    """Credit approvals and overrides of sales orders, and the orders accepted or
    paid online that wait for one (the check itself is in sale_order.py)."""

    _inherit = "sale.order"

    # ------------------------------------------------------------------
    # Approvals
    # ------------------------------------------------------------------

    def _credit_interested_users(self):
        """Who may not decide on the order's credit hold under segregation of duties:
        every salesperson it has had, who created it, and who requested an approval
        for it (facts the system records, that nobody can rewrite)."""
        self.ensure_one()
        # sudo: every salesperson and requester counts, whatever the user may read.
        order = self.sudo()
        users = (
            order.user_id
            | order.credit_salesperson_ids
            | order.create_uid
            | order.credit_approval_ids.requested_by_id
        )
        return users - self.env.ref("base.user_root") - self.env.ref("base.public_user")

    def _credit_hold_for_review(self, paid_by=None):
        """A customer accepted (or paid online) a quotation that credit rules block:
        ask the credit managers for a decision and tell the salesperson.

        :param paid_by: the payment transaction, when the customer paid online: the
            request is then the system's, the payment being kept on the quotation
        """
        self.ensure_one()
        # Called from the portal (public or portal user) or the payment processing:
        # the request and the activities are made on behalf of the salesperson, or
        # of the system for a payment.
        order = self.sudo()
        if paid_by:
            requester = self.env.ref("base.user_root")
            note = self.env._(
                "Paid online by the customer (%(amount)s of %(total)s, payment %(reference)s): "
                "the payment is recorded, the order waits for a credit decision before "
                "confirmation.",
                amount=format_amount(self.env, paid_by.amount, paid_by.currency_id),
                total=format_amount(self.env, order.amount_total, order.currency_id),
                reference=paid_by.reference,
            )
            summary = self.env._("Paid online, held for credit")
        else:
            requester = order.user_id or self.env.ref("base.user_root")
            note = self.env._(
                "Accepted online by the customer (%(name)s): waiting for a credit "
                "decision before confirmation.",
                name=order.signed_by or order.partner_id.name,
            )
            summary = self.env._("Accepted online, held for credit")
        if not order.credit_approval_ids.filtered(lambda request: request.state == "pending"):
            request = (
                self.env["credit.approval.request"]
                .sudo()
                .create(
                    {"order_id": order.id, "requested_by_id": requester.id, "request_note": note}
                )
            )
            request._credit_notify_approvers()
        else:
            order.message_post(body=note, subtype_xmlid="mail.mt_note")
        if order.user_id:
            order.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=order.user_id.id,
                summary=summary,
                note=self.env._(
                    "%(what)s %(order)s is blocked for credit: a credit manager must decide "
                    "before it is confirmed.",
                    what=note,
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

    def action_open_credit_approval_request(self):
        """Request Credit Approval on the order's form: a dialog asks why an
        exception is needed, then requests it (action_request_credit_approval)."""
        self.ensure_one()
        self._credit_check_can_request()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Request Credit Approval"),
            "res_model": "credit.approval.request.wizard",
            "view_mode": "form",
            "views": [
                (
                    self.env.ref("credit_collections.view_credit_approval_request_wizard_form").id,
                    "form",
                )
            ],
            "target": "new",
            "context": {"default_order_id": self.id},
        }

    def action_request_credit_approval(self, note=False):
        """Request a credit approval for the order, with why an exception is
        needed (note). Without a note (API callers of old), the request is made
        and its requester writes Why an Exception while it is pending."""
        self.ensure_one()
        self._credit_check_can_request()
        vals = {"order_id": self.id}
        if note:
            vals["request_note"] = note
        request = self.env["credit.approval.request"].create(vals)
        request._credit_notify_approvers()
        return True

    def _credit_check_can_request(self):
        self._credit_check_approval_state()
        if self.credit_approval_pending:
            raise UserError(
                self.env._(
                    "A credit approval request for %(order)s is already waiting for a credit "
                    "manager.",
                    order=self.name,
                )
            )

    def _prepare_credit_approval_request_vals(self):
        """What a credit approval request captures of the order when it is made."""
        self.ensure_one()
        self._credit_check_approval_state()
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
            # A company setting beyond the bound (set before it existed) gives the
            # longest validity allowed, not a request nobody can make.
            "validity_days": min(
                max(self.company_id.credit_approval_validity_days, 0), MAX_VALIDITY_DAYS
            ),
        }

    def _credit_check_approval_state(self):
        """Quotations are approved before confirmation; a confirmed order is approved
        before it grows (the credit manager approves up to the new amount)."""
        self.ensure_one()
        if self.state not in ("draft", "sent", "sale"):
            raise UserError(
                self.env._(
                    "Only quotations and confirmed orders can be submitted for credit approval; "
                    "%(order)s is cancelled.",
                    order=self.name,
                )
            )

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
        """A credit manager confirms a blocked order: recorded as an approval. A credit
        manager without Sales rights records the decision, and the salesperson confirms.

        :return: the action of the confirmation, or a notification saying who confirms
        """
        self.ensure_one()
        request_model = self.env["credit.approval.request"]
        self._credit_check_override_segregation()
        if self.state not in ("draft", "sent"):
            raise UserError(
                self.env._(
                    "%(order)s is not a quotation: only quotations are confirmed despite a "
                    "credit hold.",
                    order=self.name,
                )
            )
        pending = self.credit_approval_ids.filtered(lambda request: request.state == "pending")
        pending._credit_cancel(self.env._("superseded by a credit override."))
        # An override is a decision, recorded as an approved request: the request's
        # decision fields are the system's (see credit.approval.request).
        request = request_model.sudo().create(
            {"order_id": self.id, "manager_note": reason, "is_override": True}
        )
        request.with_env(self.env)._credit_decide("approved", reason)
        if self.has_access("write"):
            return self.action_confirm()
        return self._credit_hand_over_confirmation()

    def _credit_hand_over_confirmation(self):
        """The override of a credit manager who may not confirm orders: the salesperson
        gets an activity to confirm it, and the manager is told so."""
        self.ensure_one()
        # sudo: the consequence of the decision lands on another user's order.
        order = self.sudo()
        salesperson = order.user_id
        if salesperson:
            # The decision's consequence on another user's order.
            order.activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=salesperson.id,
                summary=self.env._("Credit hold overridden: confirm the order"),
                note=self.env._(
                    "%(user)s overrode the credit hold of %(order)s: you can confirm it now.",
                    user=self.env.user.name,
                    order=order.name,
                ),
            )
        message = self.env._(
            "Credit override recorded for %(order)s, up to %(amount)s. Confirming the order "
            "needs Sales rights you do not have: %(who)s can confirm it now.",
            order=order.name,
            amount=format_amount(self.env, order.amount_total, order.currency_id),
            who=salesperson.name if salesperson else self.env._("a salesperson"),
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Credit override recorded"),
                "message": message,
                "type": "success",
                "sticky": True,
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _credit_check_override_segregation(self):
        """A credit manager overrides, and under segregation of duties not one who
        sold, created or asked an approval for the order (credit.decision.mixin)."""
        self.ensure_one()
        self.env["credit.decision.mixin"]._credit_check_decider(
            self.company_id,
            self._credit_interested_users(),
            self.env._(
                "Segregation of duties: %(order)s is an order you sold, created or asked an "
                "approval for (now or before it was reassigned), so you cannot confirm it "
                "despite its credit hold. Request a credit approval: another credit manager "
                "will decide.",
                order=self.name,
            ),
        )

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "credit_collections.action_credit_approval_request"
        )
        action["domain"] = [("order_id", "=", self.id)]
        action["context"] = {"create": False}
        return action
