from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CreditLimitWizard(models.TransientModel):
    _name = "credit.limit.wizard"
    _description = "Change a Customer's Credit Limit"

    partner_id = fields.Many2one("res.partner", string="Customer", required=True, readonly=True)
    currency_id = fields.Many2one(related="partner_id.currency_id")
    current_limit = fields.Monetary(compute="_compute_current_limit")
    credit_exposure = fields.Monetary(related="partner_id.credit_exposure")
    # Starts from the current limit: the credit manager types the change, not the
    # whole limit again from 0.00.
    new_limit = fields.Monetary(
        string="New Credit Limit",
        required=True,
        compute="_compute_new_limit",
        store=True,
        readonly=False,
    )
    reason = fields.Text(required=True)

    @api.depends("partner_id")
    def _compute_current_limit(self):
        for wizard in self:
            # credit_limit is readable by accounting groups only; credit managers
            # who change it may not be in them.
            wizard.current_limit = wizard.partner_id.sudo().credit_limit

    @api.depends("partner_id")
    def _compute_new_limit(self):
        for wizard in self:
            # As current_limit: credit managers may not be in the accounting groups.
            wizard.new_limit = wizard.partner_id.sudo().credit_limit

    @api.constrains("new_limit")
    def _check_new_limit(self):
        if any(wizard.new_limit < 0 for wizard in self):
            raise ValidationError(self.env._("New Credit Limit cannot be negative."))

    def action_apply(self):
        self.ensure_one()
        self.partner_id._credit_set_limit(self.new_limit, self.reason)
        return {"type": "ir.actions.act_window_close"}
