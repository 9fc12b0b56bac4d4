from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    credit_warning_percent = fields.Float(
        related="company_id.credit_warning_percent", readonly=False
    )
    credit_hold_overdue_days = fields.Integer(
        related="company_id.credit_hold_overdue_days", readonly=False
    )
