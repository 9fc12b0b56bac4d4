from odoo import api, fields, models
from odoo.exceptions import AccessError


class CreditFollowupPreview(models.TransientModel):
    """What the next scheduled follow-up run would do for a company, before it
    does it: the customers, the level each would get, how (email, letter,
    activity) and the overdue amount, decided by the run's own code
    (credit.followup.engine._preview_next_run). Nothing is sent nor written but
    this preview; the automatic follow-ups of a company that starts paused are
    started from here."""

    _name = "credit.followup.preview"
    _description = "Preview of the Next Follow-up Run"

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    followup_paused = fields.Boolean(
        string="Automatic Follow-ups Paused", related="company_id.credit_followup_paused"
    )
    line_ids = fields.One2many(
        "credit.followup.preview.line", "preview_id", string="Customers", readonly=True
    )
    customer_count = fields.Integer(string="Customers Followed Up", compute="_compute_totals")
    overdue_amount = fields.Monetary(string="Total Overdue", compute="_compute_totals")

    @api.depends("line_ids.overdue_amount")
    def _compute_totals(self):
        for preview in self:
            preview.customer_count = len(preview.line_ids)
            preview.overdue_amount = sum(preview.line_ids.mapped("overdue_amount"))

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    @api.model
    def _action_open(self, company=None):
        """The preview of the next run of company (default: the current one),
        opened as a screen of its own."""
        self._check_credit_manager()
        preview = self.create({"company_id": (company or self.env.company).id})
        preview._fill_lines()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Preview the Next Run"),
            "res_model": self._name,
            "res_id": preview.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
            "context": {"create": False},
        }

    def action_refresh(self):
        self._check_credit_manager()
        self._fill_lines()

    def action_start_automatic_followups(self):
        """The credit manager has looked: the scheduled run follows up the
        company's customers from its next run on (logged in the company's chatter)."""
        self._check_credit_manager()
        self.company_id._credit_start_automatic_followups()

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _check_credit_manager(self):
        if not self.env.user.has_group("credit_collections.group_credit_manager"):
            raise AccessError(
                self.env._(
                    "Only credit managers can preview the follow-up run and start the "
                    "automatic follow-ups: ask a credit manager."
                )
            )

    def _fill_lines(self):
        for preview in self:
            decisions = self.env["credit.followup.engine"]._preview_next_run(preview.company_id)
            preview.line_ids.unlink()
            preview.line_ids = [
                fields.Command.create(preview._prepare_line_vals(decision))
                for decision in decisions
            ]

    def _prepare_line_vals(self, decision):
        return {
            "partner_id": decision["partner"].id,
            "level_id": decision["level"].id,
            "channel": decision["channel"],
            "overdue_amount": decision["overdue"],
            "collector_id": decision["collector"].id,
        }
