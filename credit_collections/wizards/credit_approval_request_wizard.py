from odoo import fields, models
from odoo.exceptions import UserError


class CreditApprovalRequestWizard(models.TransientModel):
    """Request Credit Approval on a sales order: the salesperson says why an
    exception is needed; the request itself is made by the order
    (sale.order.action_request_credit_approval), which API callers call directly."""

    _name = "credit.approval.request.wizard"
    _description = "Request a Credit Approval"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    currency_id = fields.Many2one(related="order_id.currency_id")
    amount = fields.Monetary(
        related="order_id.amount_total",
        string="Requested Amount",
        help="The order total: the credit manager approves the order up to it.",
    )
    credit_status_reasons = fields.Text(related="order_id.credit_status_reasons", string="Reasons")
    request_note = fields.Text(
        string="Why an Exception",
        required=True,
        help="What you tell the credit manager to support the request.",
    )

    def action_request(self):
        self.ensure_one()
        note = (self.request_note or "").strip()
        if not note:
            raise UserError(
                self.env._(
                    "Why an Exception: tell the credit manager why %(order)s should be "
                    "confirmed despite the credit hold.",
                    order=self.order_id.name,
                )
            )
        self.order_id.action_request_credit_approval(note=note)
        return {"type": "ir.actions.act_window_close"}
