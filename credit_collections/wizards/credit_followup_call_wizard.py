from odoo import api, fields, models


class CreditFollowupCallWizard(models.TransientModel):
    _name = "credit.followup.call.wizard"
    _description = "Log a Follow-up Call"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, readonly=True, check_company=True
    )
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    outcome = fields.Selection(
        selection=lambda self: self.env["res.partner"]._get_followup_call_outcomes(),
        required=True,
        default="no_answer",
    )
    note = fields.Text()
    amount = fields.Monetary(
        string="Promised Amount",
        currency_field="currency_id",
        compute="_compute_amount",
        store=True,
        readonly=False,
        help="What the customer promises to pay; starts from what is overdue.",
    )
    promised_date = fields.Date()
    move_line_ids = fields.Many2many(
        "account.move.line",
        string="Disputed Items",
        help="Items the customer disputes: they are left out of follow-ups.",
        check_company=True,
    )
    allowed_line_ids = fields.Many2many(
        "account.move.line", compute="_compute_allowed_line_ids", string="Open Items"
    )
    exclusion_reason = fields.Char(string="Dispute Reason")

    @api.depends("partner_id", "company_id")
    def _compute_allowed_line_ids(self):
        for wizard in self:
            wizard.allowed_line_ids = wizard.partner_id.with_company(
                wizard.company_id
            )._get_followup_disputable_lines()

    @api.depends("partner_id", "company_id")
    def _compute_amount(self):
        for wizard in self:
            wizard.amount = self.env["credit.promise"]._default_amount(
                wizard.partner_id, wizard.company_id
            )

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

    def action_log(self):
        self.ensure_one()
        self.partner_id.with_company(self.company_id)._followup_log_call(
            self.outcome,
            note=self.note,
            amount=self.amount,
            promised_date=self.promised_date,
            lines=self.move_line_ids,
            exclusion_reason=self.exclusion_reason,
        )
        return {"type": "ir.actions.act_window_close"}
