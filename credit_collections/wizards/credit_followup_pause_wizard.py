from datetime import timedelta

from odoo import api, fields, models


class CreditFollowupPauseWizard(models.TransientModel):
    _name = "credit.followup.pause.wizard"
    _description = "Pause Follow-ups"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, readonly=True)
    paused_until = fields.Date(
        string="Pause Until",
        required=True,
        default=lambda self: fields.Date.context_today(self) + timedelta(days=7),
    )
    note = fields.Text(string="Why")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            "partner_id" in fields_list
            and not values.get("partner_id")
            and context.get("active_model") == "res.partner"
            and context.get("active_id")
        ):
            partner = self.env["res.partner"].browse(context["active_id"])
            values["partner_id"] = partner.commercial_partner_id.id
        return values

    def action_pause(self):
        self.ensure_one()
        self.partner_id._followup_pause(self.paused_until, note=self.note)
        return {"type": "ir.actions.act_window_close"}
