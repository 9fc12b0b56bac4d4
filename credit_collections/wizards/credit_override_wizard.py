from odoo import fields, models


class CreditOverrideWizard(models.TransientModel):
    _name = "credit.override.wizard"
    _description = "Confirm an Order Despite a Credit Hold"

    order_id = fields.Many2one("sale.order", required=True, readonly=True)
    credit_status_reasons = fields.Text(related="order_id.credit_status_reasons")
    reason = fields.Text(string="Override Reason", required=True)

    def action_confirm(self):
        self.ensure_one()
        result = self.order_id._credit_override_and_confirm(self.reason)
        if isinstance(result, dict) and result.get("tag") == "display_notification":
            return result
        return {"type": "ir.actions.act_window_close"}
