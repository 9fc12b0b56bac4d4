from odoo import fields, models


class CreditFollowupExcludeWizard(models.TransientModel):
    _name = "credit.followup.exclude.wizard"
    _description = "Exclude Items from Follow-ups"

    move_line_ids = fields.Many2many("account.move.line", string="Items", required=True)
    reason = fields.Char(string="Exclusion Reason", required=True)

    def action_exclude(self):
        self.ensure_one()
        self.move_line_ids._followup_exclude(self.reason)
        return {"type": "ir.actions.act_window_close"}
