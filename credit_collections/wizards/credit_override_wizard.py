from odoo import fields, models


class CreditOverrideWizard(models.TransientModel):
    _name = "credit.override.wizard"
    _description = "Confirm an Order Despite a Credit Hold"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    credit_status_reasons = fields.Text(related="order_id.credit_status_reasons")
    reason = fields.Text(string="Override Reason", required=True)

    def action_confirm(self):
        self.ensure_one()
        self.order_id._credit_override_and_confirm(self.reason)
        return {"type": "ir.actions.act_window_close"}
