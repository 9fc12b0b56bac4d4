# Split from res_company.py by responsibility: late-interest settings, their
# checks, defaults and presets.
# pylint: disable=consider-merging-classes-inherited
from datetime import date

from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError

from .credit_interest_reference_rate import REFERENCES

# Bounds of the late-interest settings, where they are typed: a grace of years
# or a margin of hundreds of points is a typing error, not a contract.
MAX_INTEREST_GRACE_DAYS = 365
MAX_INTEREST_MARGIN = 50.0
# The UK Late Payment of Commercial Debts (Interest) Act 1998, s. 5A: a fixed sum
# per late invoice by the size of the debt.
UK_COMPENSATION_BANDS = [(0.0, 40.0), (1000.0, 70.0), (10000.0, 100.0)]


class ResCompany(models.Model):
    _inherit = "res.company"

    # Late interest
    credit_interest_enabled = fields.Boolean(
        string="Charge Late Interest",
        help="Charge interest on overdue receivable items, day by day, and a fixed "
        "compensation per late invoice, by a monthly scheduled action.",
    )
    credit_interest_reference = fields.Selection(
        selection=REFERENCES,
        string="Interest Reference Rate",
        help="The published rate of each half-year (Configuration > Reference Rates) to "
        "which the margin is added, instead of the company's rate table. A run that "
        "reaches a half-year without its rate stops for the company and asks a credit "
        "manager to add it.",
    )
    credit_interest_margin = fields.Float(
        string="Interest Margin (points)",
        digits=(16, 4),
        help="Points added to the rate of the rate table (8 for the EU late payment "
        "directive, 0 otherwise).",
    )
    credit_interest_day_count = fields.Selection(
        selection=[
            ("actual_365", "Actual/365"),
            ("actual_360", "Actual/360"),
            ("actual_actual", "Actual/Actual"),
        ],
        string="Day Count",
        default="actual_365",
        required=True,
    )
    credit_interest_grace_days = fields.Integer(
        string="Interest Grace Days",
        help="Days after the due date before interest runs; they are never charged.",
    )
    credit_interest_min_amount = fields.Monetary(
        string="Minimum Interest",
        currency_field="currency_id",
        help="Below this amount for a customer in a run nothing is invoiced: the days "
        "stay uncharged for the next run.",
    )
    credit_interest_compensation_amount = fields.Monetary(
        string="Compensation per Late Invoice",
        currency_field="credit_interest_compensation_currency_id",
        help="Fixed recovery compensation charged once per late invoice (40 EUR under "
        "the EU late payment directive).",
    )
    credit_interest_compensation_currency_id = fields.Many2one(
        "res.currency",
        string="Compensation Currency",
        default=lambda self: self.env.company.currency_id,
    )
    credit_interest_compensation_companies_only = fields.Boolean(
        string="Compensation to Companies Only",
        help="Do not charge the compensation to private persons.",
    )
    credit_interest_on_interest = fields.Boolean(
        string="Interest on Interest",
        help="Interest invoices themselves bear interest when overdue.",
    )
    credit_interest_product_id = fields.Many2one(
        "product.product",
        string="Interest Product",
        default=lambda self: self.env.ref(
            "credit_collections.product_late_interest", raise_if_not_found=False
        ),
        check_company=True,
    )
    credit_interest_compensation_product_id = fields.Many2one(
        "product.product",
        string="Compensation Product",
        default=lambda self: self.env.ref(
            "credit_collections.product_late_compensation", raise_if_not_found=False
        ),
        check_company=True,
    )
    credit_interest_account_id = fields.Many2one(
        "account.account",
        string="Interest Income Account",
        check_company=True,
        domain="[('account_type', 'in', ('income', 'income_other'))]",
        help="Income account of the late-interest product in this company.",
    )
    credit_interest_compensation_account_id = fields.Many2one(
        "account.account",
        string="Compensation Income Account",
        check_company=True,
        domain="[('account_type', 'in', ('income', 'income_other'))]",
        help="Income account of the late-payment compensation product in this company.",
    )
    credit_interest_journal_id = fields.Many2one(
        "account.journal",
        string="Interest Journal",
        domain="[('type', '=', 'sale'), ('company_id', '=', id)]",
        check_company=True,
    )
    credit_interest_auto_post = fields.Boolean(
        string="Post Interest Invoices",
        default=True,
        help="Off: interest invoices are left in draft for review.",
    )
    credit_interest_print_terms = fields.Boolean(
        string="Print Late-Payment Terms",
        help="Customer invoices say what a late payment costs (rate and compensation), "
        "so that customers are told upfront.",
    )
    credit_interest_run_day = fields.Integer(
        string="Interest Run Day",
        default=1,
        help="Day of the month the scheduled action charges late interest.",
    )

    def write(self, vals):
        if vals.get("credit_interest_enabled"):
            self._credit_interest_fill_defaults(vals)
        result = super().write(vals)
        if {"credit_interest_account_id", "credit_interest_compensation_account_id"} & set(vals):
            self._credit_interest_set_product_accounts()
        return result

    def _credit_interest_fill_defaults(self, vals):
        """Turning late interest on needs products and a journal: take the addon's
        products and the company's first sales journal where none is set or
        given, rather than refusing the settings on their first save."""
        self._credit_set_default_products()
        if vals.get("credit_interest_journal_id"):
            return
        for company in self.filtered(lambda company: not company.credit_interest_journal_id):
            journal = company._credit_interest_default_journal()
            if journal:
                company.write({"credit_interest_journal_id": journal.id})

    def _credit_interest_default_journal(self):
        self.ensure_one()
        return self.env["account.journal"].search(
            [("type", "=", "sale"), *self.env["account.journal"]._check_company_domain(self)],
            limit=1,
        )

    @api.constrains("credit_interest_grace_days", "credit_interest_margin")
    def _check_credit_interest_bounds(self):
        for company in self:
            if not 0 <= company.credit_interest_grace_days <= MAX_INTEREST_GRACE_DAYS:
                raise ValidationError(
                    self.env._(
                        "Interest Grace Days: enter 0 to %(max)s days (company %(company)s).",
                        max=MAX_INTEREST_GRACE_DAYS,
                        company=company.display_name,
                    )
                )
            if not 0 <= company.credit_interest_margin <= MAX_INTEREST_MARGIN:
                max_margin = f"{MAX_INTEREST_MARGIN:g}"
                raise ValidationError(
                    self.env._(
                        "Interest Margin (points): enter 0 to %(max)s points added to the "
                        "reference rate (8 under the EU directive and the UK Act; company "
                        "%(company)s).",
                        max=max_margin,
                        company=company.display_name,
                    )
                )

    @api.constrains("credit_interest_run_day")
    def _check_credit_interest_run_day(self):
        for company in self:
            if not 1 <= company.credit_interest_run_day <= 28:
                raise ValidationError(
                    self.env._("Interest Run Day: choose a day between 1 and 28.")
                )

    @api.constrains(
        "credit_interest_enabled",
        "credit_interest_product_id",
        "credit_interest_compensation_product_id",
        "credit_interest_compensation_amount",
        "credit_interest_journal_id",
    )
    def _check_credit_interest_settings(self):
        self.filtered("credit_interest_enabled")._credit_interest_check_settings()

    def _credit_interest_check_settings(self):
        for company in self:
            missing = [
                company._fields[name].get_description(self.env)["string"]
                for name in ("credit_interest_product_id", "credit_interest_journal_id")
                if not company[name]
            ]
            if company.credit_interest_compensation_amount and not (
                company.credit_interest_compensation_product_id
            ):
                missing.append(
                    company._fields["credit_interest_compensation_product_id"].get_description(
                        self.env
                    )["string"]
                )
            if missing:
                raise ValidationError(
                    self.env._(
                        "Late interest of %(company)s needs: %(fields)s (Settings > Credit & "
                        "Collections > Late Interest).",
                        company=company.name,
                        fields=", ".join(missing),
                    )
                )

    def _credit_interest_apply_preset(self, preset):
        """Late-interest settings and rate table of a common contract.

        :param preset: "monthly" (1.5 % a month, 18 % a year), "eu_directive"
            (EU late payment directive 2011/7/EU: the ECB reference rate of each
            half-year plus 8 points, and 40 EUR per late invoice to businesses) or
            "uk_late_payment" (Late Payment of Commercial Debts (Interest) Act
            1998: the Bank of England base rate of each half-year plus 8 points,
            and 40, 70 or 100 GBP per late invoice by its size)
        """
        self._credit_set_default_products()
        for company in self:
            company.write(company._prepare_interest_preset_vals(preset))
            company._credit_interest_reset_tables(preset)

    def _prepare_interest_preset_vals(self, preset):
        """The settings of the preset (see _credit_interest_apply_preset)."""
        self.ensure_one()
        vals = {"credit_interest_enabled": True, "credit_interest_print_terms": True}
        if not self.credit_interest_journal_id:
            vals["credit_interest_journal_id"] = self._credit_interest_default_journal().id
        if preset == "eu_directive":
            vals.update(
                credit_interest_reference="ecb",
                credit_interest_margin=8.0,
                credit_interest_compensation_amount=40.0,
                credit_interest_compensation_currency_id=self.env.ref("base.EUR").id,
                credit_interest_compensation_companies_only=True,
            )
        elif preset == "uk_late_payment":
            gbp = self.env.ref("base.GBP")
            vals.update(
                credit_interest_reference="boe",
                credit_interest_margin=8.0,
                credit_interest_compensation_amount=0.0,
                credit_interest_compensation_currency_id=gbp.id,
                credit_interest_compensation_companies_only=True,
            )
        else:
            vals.update(
                credit_interest_reference=False,
                credit_interest_margin=0.0,
                credit_interest_compensation_amount=0.0,
            )
        return vals

    def _credit_interest_reset_tables(self, preset):
        """The preset's rate table and compensation bands instead of the company's."""
        self.ensure_one()
        Rate = self.env["credit.interest.rate"]
        Band = self.env["credit.interest.compensation"]
        # The preset's table replaces the company's (customers' own tables stay):
        # a directive's reference rates under "1.5 % a month" would charge them.
        # Charges already computed keep the rate they were computed at.
        Rate.search([("company_id", "=", self.id), ("partner_id", "=", False)]).unlink()
        Band.search([("company_id", "=", self.id)]).unlink()
        if preset == "monthly":
            Rate.create(
                {
                    "name": self.env._("1.5 % a month"),
                    "company_id": self.id,
                    "date_from": date(2000, 1, 1),
                    "rate": 18.0,
                }
            )
        bands = UK_COMPENSATION_BANDS if preset == "uk_late_payment" else []
        Band.create(
            [
                {"company_id": self.id, "amount_from": amount_from, "amount": amount}
                for amount_from, amount in bands
            ]
        )

    def _credit_interest_missing_rate(self, day):
        """The first half-year up to `day` without a rate of the company's
        reference (from the first one known), or None."""
        self.ensure_one()
        if not self.credit_interest_reference:
            return None
        References = self.env["credit.interest.reference.rate"]
        table = References._get_table(self.credit_interest_reference)
        first = table[0][0] if table else day
        return References._get_missing_half_year(self.credit_interest_reference, first, day)

    def _credit_interest_set_income_accounts(self):
        """Interest and compensation are income of their own, not Product Sales:
        the chart's account when it has one, else one created, per company with
        a chart (a setting changes them)."""
        # Part of setting late interest up, whoever turns it on (a settings
        # manager may not manage the chart of accounts).
        Account = self.env["account.account"].sudo()
        for company in self.sudo():
            for field_name, name, words in (
                ("credit_interest_account_id", self.env._("Late Payment Interest"), "interest"),
                (
                    "credit_interest_compensation_account_id",
                    self.env._("Late Payment Compensation"),
                    "compensation",
                ),
            ):
                if company[field_name]:
                    continue
                domain = [
                    *Account._check_company_domain(company),
                    ("account_type", "in", ("income", "income_other")),
                ]
                if not Account.search_count(domain, limit=1):
                    continue  # no chart yet: done when late interest is turned on
                account = Account.search([*domain, ("name", "ilike", words)], order="code", limit=1)
                if not account:
                    # Next to the chart's other income (4500 "Other Income": 4501, 4502).
                    other = Account.search(
                        [*domain, ("account_type", "=", "income_other")], order="code", limit=1
                    ) or Account.search(domain, order="code", limit=1)
                    account = Account.with_company(company).create(
                        {
                            "name": name,
                            "code": company._credit_interest_free_code(other.code),
                            "account_type": "income_other",
                            "company_ids": [Command.set(company.ids)],
                        }
                    )
                company[field_name] = account
        self.sudo()._credit_interest_set_product_accounts()

    def _credit_interest_free_code(self, near):
        """A free account code after `near` (a numeric code), else LPI, LPI2..."""
        self.ensure_one()
        # sudo: every code of the chart counts (see _credit_interest_set_income_accounts).
        Account = self.env["account.account"].sudo().with_company(self)
        codes = set(Account.search(Account._check_company_domain(self)).mapped("code"))
        if near and near.isdigit():
            code = int(near) + 1
            while str(code).zfill(len(near)) in codes:
                code += 1
            return str(code).zfill(len(near))
        code, index = "LPI", 1
        while code in codes:
            index += 1
            code = f"LPI{index}"
        return code

    def _credit_interest_set_product_accounts(self):
        """The income account of the interest and compensation products in each
        company, as its settings say."""
        for company in self:
            for product_field, account_field in (
                ("credit_interest_product_id", "credit_interest_account_id"),
                (
                    "credit_interest_compensation_product_id",
                    "credit_interest_compensation_account_id",
                ),
            ):
                product, account = company[product_field], company[account_field]
                if product and account:
                    # A company-dependent property of a shared product, set as the
                    # company's settings say (whoever saves them).
                    product.product_tmpl_id.sudo().with_company(
                        company
                    ).property_account_income_id = account
