from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CreditInterestCompensation(models.Model):
    """One band of the fixed compensation per late invoice: invoices from this
    amount (tax included, in the compensation currency) owe this sum, until
    the next band (UK Late Payment Act: 40 GBP, 70 GBP from 1,000, 100 GBP from
    10,000). Without bands, the company's single amount applies."""

    _name = "credit.interest.compensation"
    _inherit = ["credit.guarded.mixin"]
    _description = "Late Payment Compensation Band"
    _order = "company_id, amount_from"
    _check_company_auto = True
    # Set by credit managers (the access rights).
    _credit_configuration = True

    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    currency_id = fields.Many2one(
        "res.currency", compute="_compute_currency_id", string="Compensation Currency"
    )
    amount_from = fields.Monetary(
        string="Invoices From", help="Invoice amount (tax included) from which this band applies."
    )
    amount = fields.Monetary(string="Compensation", required=True)

    _sql_constraints = [
        (
            "band_once",
            "UNIQUE(company_id, amount_from)",
            "Two compensation bands start at the same amount: change the existing one.",
        ),
    ]

    @api.depends("company_id.credit_interest_compensation_currency_id")
    def _compute_currency_id(self):
        for band in self:
            company = band.company_id
            band.currency_id = company.credit_interest_compensation_currency_id or (
                company.currency_id
            )

    @api.constrains("amount_from", "amount")
    def _check_amounts(self):
        for band in self:
            if band.amount_from < 0 or not 0 < band.amount <= 100000:
                raise ValidationError(
                    self.env._(
                        "Compensation bands: Invoices From cannot be negative and the "
                        "compensation is between 0.01 and 100,000."
                    )
                )

    @api.model
    def _get_amount(self, company, invoice_amount, bands=None):
        """Compensation owed for a late invoice of `invoice_amount` (in the
        compensation currency): its band, else the company's single amount.

        :param bands: the company's bands (`_get_bands`), read once for many invoices
        """
        if bands is None:
            bands = self._get_bands(company)
        if not bands:
            return company.credit_interest_compensation_amount
        band = next((band for band in bands if band.amount_from <= invoice_amount), bands[-1:])
        return band.amount

    @api.model
    def _get_bands(self, company):
        """The company's bands, largest first."""
        # Read for whoever computes or prints the charges (a salesperson's invoice).
        return self.sudo().search([("company_id", "=", company.id)], order="amount_from desc")
