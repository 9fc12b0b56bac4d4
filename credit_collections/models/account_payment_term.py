from odoo import api, fields, models
from odoo.exceptions import ValidationError

INTEREST_RULES = [
    ("company", "Company's Rate Table"),
    ("fixed", "Own Rate"),
    ("none", "No Late-Payment Charges"),
]


class AccountPaymentTerm(models.Model):
    _name = "account.payment.term"
    _inherit = ["account.payment.term", "credit.guarded.mixin"]

    # The late-payment penalty is part of the terms the customer agreed to ("Net
    # 30, 1.5 % a month on overdue balances"): it wins over the company's table,
    # a customer's own rate table wins over it.
    credit_interest_rule = fields.Selection(
        selection=INTEREST_RULES,
        string="Late Interest",
        default="company",
        required=True,
        help="Late interest on invoices with these terms: the company's rate table "
        "(plus its margin), this term's own annual rate, or no late interest nor "
        "compensation at all. A customer's own rate table wins over this rule.",
    )
    credit_interest_rate = fields.Float(
        string="Late Interest Rate (% a Year)",
        digits=(16, 4),
        help="Annual rate charged on overdue invoices with these terms, as it stands "
        "(no margin added): 18 for 1.5 % a month.",
    )

    def _credit_free_fields(self):
        # Part of the terms, set by who edits payment terms.
        return {*super()._credit_free_fields(), "credit_interest_rule", "credit_interest_rate"}

    @api.constrains("credit_interest_rule", "credit_interest_rate")
    def _check_credit_interest_rate(self):
        for term in self:
            if term.credit_interest_rule == "fixed" and not 0 < term.credit_interest_rate <= 100:
                raise ValidationError(
                    self.env._(
                        "Late Interest Rate (%% a Year): %(rate)s is not a rate above 0 and up "
                        "to 100 %% a year (terms %(term)s).",
                        rate=term.credit_interest_rate,
                        term=term.display_name,
                    )
                )
