from datetime import date

from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CreditInterestRate(models.Model):
    """One entry of a late-interest rate table: the annual rate in force from a
    date until the next entry. A company has one table; a customer may have its
    own (entries with the customer set), which then replaces the company's and
    its margin; a payment term may carry its own rate (account.payment.term)."""

    _name = "credit.interest.rate"
    _inherit = ["credit.guarded.mixin"]
    _description = "Late Interest Rate"
    _order = "company_id, partner_id, date_from desc, id desc"
    _check_company_auto = True
    # Set by credit managers (the access rights).
    _credit_configuration = True

    name = fields.Char(required=True, translate=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        index=True,
        help="Empty: the company's table. Set: this customer's own table.",
        check_company=True,
    )
    date_from = fields.Date(string="From", required=True)
    rate = fields.Float(
        string="Annual Rate (%)",
        digits=(16, 4),
        required=True,
        help="Annual percentage; the company's margin is added to it.",
    )

    @api.constrains("rate")
    def _check_rate(self):
        for entry in self:
            if not 0 <= entry.rate <= 100:
                raise ValidationError(
                    self.env._(
                        "Annual Rate (%%): %(rate)s is not a rate between 0 and 100 %% a year.",
                        rate=entry.rate,
                    )
                )

    @api.constrains("company_id", "partner_id", "date_from")
    def _check_one_entry_per_date(self):
        groups = self._read_group(
            [
                ("company_id", "in", self.company_id.ids),
                ("date_from", "in", self.mapped("date_from")),
            ],
            ["company_id", "partner_id", "date_from:day"],
            ["__count"],
        )
        for company, partner, date_from, count in groups:
            if count > 1:
                raise ValidationError(
                    self.env._(
                        "From: the rate table of %(owner)s already has an entry on %(date)s.",
                        owner=(partner or company).display_name,
                        date=date_from.date() if hasattr(date_from, "date") else date_from,
                    )
                )

    @api.model
    def _get_item_rate_tables(self, company, items):
        """Rate table of each receivable item, by precedence: its customer's own
        table, else the late-interest rule of its payment terms, else the
        company's table. The margin is added to the company's table only: a
        customer's table and a term's rate are charged as they stand.

        :return: {item id: [(date_from, annual rate %)] by date, or None when
            its payment terms say no late-payment charges at all}
        """
        partners = items.partner_id.commercial_partner_id
        entries = self.search(
            [
                ("company_id", "=", company.id),
                "|",
                ("partner_id", "=", False),
                ("partner_id", "in", partners.ids),
            ],
            order="date_from, id",
        )
        company_table = self._get_company_table(
            company, entries.filtered(lambda e: not e.partner_id)
        )
        own = {}
        for entry in entries.filtered("partner_id"):
            own.setdefault(entry.partner_id.id, []).append((entry.date_from, entry.rate))
        tables = {}
        for line in items:
            partner = line.partner_id.commercial_partner_id
            term = line.move_id.invoice_payment_term_id
            if partner.id in own:
                tables[line.id] = own[partner.id]
            elif term.credit_interest_rule == "fixed":
                tables[line.id] = [(date.min, term.credit_interest_rate)]
            elif term.credit_interest_rule == "none":
                tables[line.id] = None
            else:
                tables[line.id] = company_table
        return tables

    @api.model
    def _get_company_table(self, company, entries):
        """The company's table plus its margin: its reference's published rates
        when it follows one (ECB, Bank of England), else its own entries."""
        margin = company.credit_interest_margin
        if company.credit_interest_reference:
            reference = self.env["credit.interest.reference.rate"]._get_table(
                company.credit_interest_reference
            )
            return [(date_from, rate + margin) for date_from, rate in reference]
        return [(entry.date_from, entry.rate + margin) for entry in entries]

    @api.model
    def _get_rate_today(self, company, partner, term, day):
        """The annual rate a customer's invoice with these terms bears on a day
        (0 when none), by the precedence of _get_item_rate_tables."""
        own_table = self.search(
            [("company_id", "=", company.id), ("partner_id", "=", partner.id)],
            order="date_from desc, id desc",
        )
        if own_table:
            return next((entry.rate for entry in own_table if entry.date_from <= day), 0.0)
        if term.credit_interest_rule == "fixed":
            return term.credit_interest_rate
        if term.credit_interest_rule == "none":
            return 0.0
        entries = self.search(
            [
                ("company_id", "=", company.id),
                ("partner_id", "=", False),
                ("date_from", "<=", day),
            ],
            order="date_from, id",
        )
        table = self._get_company_table(company, entries)
        return next((rate for date_from, rate in reversed(table) if date_from <= day), 0.0)
