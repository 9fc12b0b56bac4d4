from datetime import timedelta

from odoo import api, fields, models
from odoo.tools import format_date

from ..models.res_company import FOLLOWUP_MAX_AHEAD_DAYS


class CreditFollowupPauseWizard(models.TransientModel):
    _name = "credit.followup.pause.wizard"
    _inherit = ["credit.bounded.mixin"]
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

    def _credit_field_bounds(self):
        latest = fields.Date.context_today(self) + timedelta(days=FOLLOWUP_MAX_AHEAD_DAYS)
        return {**super()._credit_field_bounds(), "paused_until": (None, latest)}

    def _credit_bound_message(self, field_name, low, high):
        if field_name == "paused_until":
            return self.env._(
                "Follow-ups can be paused for %(days)s days at most: until %(latest)s "
                "at the latest.",
                days=FOLLOWUP_MAX_AHEAD_DAYS,
                latest=format_date(self.env, high),
            )
        return super()._credit_bound_message(field_name, low, high)

    @api.onchange("paused_until")
    def _onchange_paused_until(self):
        return self._credit_bound_warning("paused_until")

    def action_pause(self):
        self.ensure_one()
        self.partner_id._followup_pause(self.paused_until, note=self.note)
        return {"type": "ir.actions.act_window_close"}
