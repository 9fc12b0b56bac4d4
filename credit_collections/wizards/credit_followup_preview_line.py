from odoo import fields, models


class CreditFollowupPreviewLine(models.TransientModel):
    """One customer of the preview of the next follow-up run."""

    _name = "credit.followup.preview.line"
    _description = "Customer in the Preview of the Next Follow-up Run"
    _order = "overdue_amount desc, id"

    preview_id = fields.Many2one("credit.followup.preview", required=True, ondelete="cascade")
    currency_id = fields.Many2one(related="preview_id.currency_id")
    partner_id = fields.Many2one("res.partner", string="Customer", readonly=True)
    level_id = fields.Many2one(
        "credit.followup.level",
        readonly=True,
        help="Empty: the customer's credits cover what is overdue; its collector is asked "
        "to apply them.",
    )
    channel = fields.Char(string="Sent By", readonly=True)
    overdue_amount = fields.Monetary(string="Overdue", readonly=True)
    collector_id = fields.Many2one("res.users", readonly=True)
