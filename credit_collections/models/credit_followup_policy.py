from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CreditFollowupPolicy(models.Model):
    _name = "credit.followup.policy"
    _inherit = ["mail.thread", "credit.guarded.mixin"]
    _description = "Follow-up Policy"
    _order = "company_id, sequence, id"
    _check_company_auto = True
    # Set by credit managers (the access rights).
    _credit_configuration = True

    name = fields.Char(required=True, translate=True, tracking=True)
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    is_default = fields.Boolean(
        string="Default Policy",
        tracking=True,
        help="Applies to every customer of the company who has no policy of its own.",
    )
    level_ids = fields.One2many("credit.followup.level", "policy_id", string="Levels", copy=True)

    @api.constrains("is_default", "company_id", "active")
    def _check_one_default_per_company(self):
        defaults = self._read_group(
            [("is_default", "=", True), ("company_id", "in", self.company_id.ids)],
            ["company_id"],
            ["__count"],
        )
        for company, count in defaults:
            if count > 1:
                raise ValidationError(
                    self.env._(
                        "Default Policy: company %(company)s can have only one default "
                        "follow-up policy.",
                        company=company.display_name,
                    )
                )

    @api.model
    def _get_company_default(self, company):
        return self.search([("company_id", "=", company.id), ("is_default", "=", True)], limit=1)

    def _get_levels(self):
        """Active levels of the policy (none without a policy), by delay."""
        return self.level_ids.filtered("active").sorted(lambda level: (level.delay, level.id))
