from odoo import api, fields, models
from odoo.exceptions import ValidationError


class ResCompany(models.Model):
    _inherit = "res.company"

    credit_warning_percent = fields.Float(
        string="Credit Warning Threshold (%)",
        default=90.0,
        help="Customers whose exposure reaches this share of their credit limit "
        "are shown a warning before they are blocked.",
    )
    credit_hold_overdue_days = fields.Integer(
        string="Hold After Overdue Days",
        default=30,
        help="Customers with an amount overdue for more than this number of days "
        "are put on credit hold.",
    )

    @api.constrains("credit_warning_percent")
    def _check_credit_warning_percent(self):
        for company in self:
            if not 0.0 <= company.credit_warning_percent <= 100.0:
                raise ValidationError(
                    self.env._(
                        "Credit Warning Threshold must be a percentage between 0 and 100 "
                        "(company %(company)s).",
                        company=company.display_name,
                    )
                )

    @api.constrains("credit_hold_overdue_days")
    def _check_credit_hold_overdue_days(self):
        for company in self:
            if company.credit_hold_overdue_days < 0:
                raise ValidationError(
                    self.env._(
                        "Hold After Overdue Days cannot be negative (company %(company)s).",
                        company=company.display_name,
                    )
                )
