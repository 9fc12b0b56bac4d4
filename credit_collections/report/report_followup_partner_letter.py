from odoo import api, models


class ReportFollowupPartnerLetter(models.AbstractModel):
    """A customer's follow-up letter printed by hand, before any follow-up is
    recorded: the level given in the report data (``level_id``), else the
    customer's own, and the items that level lists today."""

    _name = "report.credit_collections.report_followup_partner_letter"
    _description = "Follow-up Letter of a Customer"

    @api.model
    def _get_report_values(self, docids, data=None):
        partners = self.env["res.partner"].browse(docids)
        chosen = self.env["credit.followup.level"].browse((data or {}).get("level_id"))
        levels = {
            partner.id: chosen or partner._get_followup_default_level() for partner in partners
        }
        return {
            "doc_ids": docids,
            "doc_model": "res.partner",
            "docs": partners,
            "letter_followups": {
                partner.id: partner._followup_preview_history(levels[partner.id])
                for partner in partners
            },
        }
