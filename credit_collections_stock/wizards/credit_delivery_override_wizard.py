from odoo import fields, models


class CreditDeliveryOverrideWizard(models.TransientModel):
    _name = "credit.delivery.override.wizard"
    _description = "Validate a Delivery Despite a Credit Hold"

    picking_id = fields.Many2one("stock.picking", string="Delivery", required=True, readonly=True)
    credit_hold_reasons = fields.Text(related="picking_id.credit_hold_reasons")
    reason = fields.Text(string="Override Reason", required=True)

    def action_validate(self):
        self.ensure_one()
        return self.picking_id._credit_override_and_validate(self.reason)
