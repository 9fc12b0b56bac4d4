from datetime import date

from odoo import Command, api, fields, models
from odoo.exceptions import ValidationError

from .credit_approval_request import MAX_VALIDITY_DAYS
from .credit_interest_reference_rate import REFERENCES

# Bounds of the late-interest settings, where they are typed: a grace of years
# or a margin of hundreds of points is a typing error, not a contract.
MAX_INTEREST_GRACE_DAYS = 365
MAX_INTEREST_MARGIN = 50.0
# The UK Late Payment of Commercial Debts (Interest) Act 1998, s. 5A: a fixed sum
# per late invoice by the size of the debt.
UK_COMPENSATION_BANDS = [(0.0, 40.0), (1000.0, 70.0), (10000.0, 100.0)]

# What may be typed in day counts, [low, high]: beyond them the date arithmetic
# of holds, reviews and plans leaves the calendar (OverflowError on every credit
# figure) or the setting means nothing any more.
CREDIT_MAX_DAYS = 3650  # ten years
CREDIT_DAY_BOUNDS = {
    "credit_hold_overdue_days": (0, CREDIT_MAX_DAYS),
    "credit_approval_validity_days": (0, MAX_VALIDITY_DAYS),
    "credit_review_notice_days": (0, 366),
    "credit_plan_default_days": (0, 366),
}
# How far ahead a follow-up pause or a promise to pay may go: the collector
# looks at the customer again within a year.
FOLLOWUP_MAX_AHEAD_DAYS = 366


def credit_bound_error(record, bounds, owner):
    """The message for the first field of record out of its bounds
    ({field: (low, high)}), or None: what was typed and what is allowed."""
    for field_name, (low, high) in bounds.items():
        value = record[field_name]
        if not low <= value <= high:
            return record.env._(
                "%(field)s must be between %(low)s and %(high)s days (%(owner)s): "
                "%(value)s is out of range.",
                field=record._fields[field_name].get_description(record.env)["string"],
                low=low,
                high=high,
                owner=owner,
                value=value,
            )
    return None


ZERO_LIMIT_POLICIES = [
    ("no_limit", "No limit"),
    ("no_credit", "No credit at all"),
]


class ResCompany(models.Model):
    _name = "res.company"
    _inherit = ["res.company", "credit.guarded.mixin"]

    # Rules deciding a credit hold
    # Off by default, as in core, where a credit limit only warns: a credit manager
    # turns the holds on once limits are set.
    credit_check_over_limit = fields.Boolean(
        string="Hold Over Credit Limit",
        help="Refuse to confirm orders that take exposure over the credit limit. When off, "
        "going over the limit is a warning.",
    )
    credit_limit_tolerance = fields.Float(
        string="Credit Limit Tolerance (%)",
        default=0.0,
        help="Exposure may exceed the credit limit by this percentage before orders are held.",
    )
    credit_warning_percent = fields.Float(
        string="Credit Warning Threshold (%)",
        default=90.0,
        help="Customers whose exposure reaches this share of their credit limit "
        "are shown a warning before they are blocked.",
    )
    credit_zero_limit_policy = fields.Selection(
        selection=ZERO_LIMIT_POLICIES,
        string="Customers Without Credit Limit",
        default="no_limit",
        required=True,
        help="What a credit limit of 0 means: no limit at all, or no credit granted.",
    )
    credit_check_overdue = fields.Boolean(
        string="Hold When Overdue",
        help="Refuse to confirm orders of customers with amounts overdue for too long. "
        "When off, such amounts are a warning.",
    )
    credit_hold_overdue_days = fields.Integer(
        string="Hold After Overdue Days",
        default=30,
        help="Customers with an amount overdue for more than this number of days "
        "are put on credit hold.",
    )
    credit_overdue_threshold = fields.Monetary(
        string="Overdue Hold Threshold",
        currency_field="currency_id",
        help="Overdue amounts up to this amount do not hold orders.",
    )
    credit_overdue_limit = fields.Monetary(
        string="Overdue Sub-limit",
        currency_field="currency_id",
        help="When set, orders are held as soon as the customer's overdue amount "
        "exceeds it, whatever the credit limit.",
    )
    # What exposure is made of
    credit_include_not_due = fields.Boolean(string="Count Open Invoices Not Yet Due", default=True)
    credit_include_overdue = fields.Boolean(string="Count Overdue Invoices", default=True)
    credit_include_orders = fields.Boolean(string="Count Orders Not Yet Invoiced", default=True)
    credit_include_draft_invoices = fields.Boolean(string="Count Draft Invoices", default=True)
    # Enforcement
    credit_check_invoices = fields.Boolean(
        string="Check Invoices Without Order",
        help="Apply the credit check when posting customer invoices that do not come "
        "from a sales order.",
    )
    credit_approval_validity_days = fields.Integer(
        string="Approval Validity (Days)",
        default=7,
        help="How long an approved credit exception lets its order be confirmed.",
    )
    credit_approver_id = fields.Many2one(
        "res.users",
        domain=lambda self: [
            ("groups_id", "in", self.env.ref("credit_collections.group_credit_manager").ids)
        ],
        help="Who receives approval requests. When empty, every credit manager of the "
        "company does.",
    )
    credit_review_notice_days = fields.Integer(
        string="Credit Review Notice (Days)",
        default=14,
        help="How many days before a customer's credit review date the credit manager "
        "gets a review activity.",
    )
    credit_segregation_of_duties = fields.Boolean(
        string="Segregation of Duties",
        default=True,
        help="A credit manager cannot approve a credit exception they requested or for "
        "their own order, nor confirm their own order despite a credit hold: another "
        "credit manager decides.",
    )

    # Follow-ups
    credit_followup_min_amount = fields.Monetary(
        string="Follow-up Minimum Overdue",
        currency_field="currency_id",
        help="Customers owing less than this overdue amount get no follow-up.",
    )
    credit_followup_start_mode = fields.Selection(
        selection=[
            ("first_level", "At the first level, one level at a time"),
            ("oldest_item", "At the level of the oldest overdue item"),
        ],
        string="Follow-ups Start",
        default="first_level",
        required=True,
        help="Where a customer's follow-ups start, at go-live or when a new dunning "
        "episode begins. First level: every customer gets the first reminder its "
        "overdue items call for, then climbs one level at a time, each after the days "
        "between two levels since the last follow-up. Oldest item: the customer gets "
        "at once the level its oldest overdue item has reached.",
    )
    credit_followup_fee_product_id = fields.Many2one(
        "product.product",
        string="Dunning Fee Product",
        default=lambda self: self.env.ref(
            "credit_collections.product_dunning_fee", raise_if_not_found=False
        ),
        help="Invoiced when a follow-up level charges a fee.",
        check_company=True,
    )
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
    # Installment plans
    credit_plan_journal_id = fields.Many2one(
        "account.journal",
        string="Installment Plan Journal",
        domain="[('type', '=', 'general'), ('company_id', '=', id)]",
        help="Journal of the entries that reschedule items into installments (the first "
        "miscellaneous journal when empty).",
        check_company=True,
    )
    credit_plan_fee_product_id = fields.Many2one(
        "product.product",
        string="Plan Fee Product",
        default=lambda self: self.env.ref(
            "credit_collections.product_plan_fee", raise_if_not_found=False
        ),
        check_company=True,
    )
    credit_plan_default_days = fields.Integer(
        string="Days Before Default",
        default=15,
        help="Days an installment may stay unpaid after its due date before its plan is defaulted.",
    )
    credit_plan_acceleration = fields.Boolean(
        string="Acceleration on Default",
        help="When a plan is defaulted, every installment left falls due that day.",
    )
    credit_plan_collector_max_amount = fields.Monetary(
        string="Collectors Activate Plans Up To",
        currency_field="currency_id",
        help="0: only credit managers activate plans.",
    )
    credit_plan_count_in_exposure = fields.Boolean(
        string="Installments Count in Exposure",
        default=True,
        help="Installments not yet due count in the exposure against the credit limit.",
    )
    credit_plan_default_escalates = fields.Boolean(
        string="Defaulted Plans Escalate Follow-ups",
        help="When a plan defaults, its customer reaches the next follow-up level at once.",
    )
    credit_plan_acceptance_needs_manager = fields.Boolean(
        string="Accepted Plans Wait for a Credit Manager",
        help="A plan the customer accepts is activated by a credit manager, not at once.",
    )
    credit_followup_run_cursor = fields.Integer(
        string="Follow-up Run Progress",
        copy=False,
        groups="base.group_system",
        help="Last customer followed up by the run in progress in this company; 0: not "
        "started, -1: done.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies._credit_create_default_followup_policy()
        return companies

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

    @api.model
    def _credit_create_default_followup_policies(self):
        """The default follow-up ladder of every company of the database that has no
        policy yet, archived companies included (run at install)."""
        # Every company is meant: a database has few of them.
        companies = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all
        companies._credit_create_default_followup_policy()

    def _credit_free_fields(self):
        """What Settings edit (settings administrators), and the follow-up run's
        bookmark, which only they may write (its field's groups)."""
        settings = self.env["res.config.settings"]._fields.values()
        return {
            *super()._credit_free_fields(),
            *(
                field.related.split(".")[1]
                for field in settings
                if field.related and field.related.startswith("company_id.")
            ),
            "credit_followup_run_cursor",
        }

    def _credit_create_default_followup_policy(self):
        """The default follow-up ladder, for companies that have no policy yet."""
        # Part of creating a company, whoever creates it (a settings manager may not
        # manage follow-up policies).
        policies = self.env["credit.followup.policy"].sudo().with_context(active_test=False)
        # An archived policy is a credit manager's choice: the company keeps it.
        with_policy = {
            company.id
            for [company] in policies._read_group([("company_id", "in", self.ids)], ["company_id"])
        }
        missing = self.filtered(lambda company: company.id not in with_policy)
        if missing:
            policies.create(
                [company._prepare_default_followup_policy_vals() for company in missing]
            )

    def _prepare_default_followup_policy_vals(self):
        self.ensure_one()

        def template(xmlid):
            return self.env.ref(f"credit_collections.{xmlid}", raise_if_not_found=False).id

        todo = self.env.ref("mail.mail_activity_data_todo").id
        levels = [
            {
                "name": self.env._("Reminder before due date"),
                "delay": -3,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_reminder"),
                "letter_template_id": template("mail_template_followup_letter_reminder"),
            },
            {
                "name": self.env._("First reminder"),
                "delay": 1,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_first"),
                "letter_template_id": template("mail_template_followup_letter_first"),
            },
            {
                "name": self.env._("Second reminder"),
                "delay": 15,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_second"),
                "letter_template_id": template("mail_template_followup_letter_second"),
                "send_letter": True,
            },
            {
                "name": self.env._("Final notice"),
                "delay": 30,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_final"),
                "letter_template_id": template("mail_template_followup_letter_final"),
                "send_letter": True,
                "attach_invoices": True,
                "set_credit_hold": True,
                "create_activity": True,
                "activity_type_id": todo,
                "activity_summary": self.env._("Call the customer about the final notice"),
            },
            {
                "name": self.env._("Collection action"),
                "delay": 60,
                "manual_action": True,
                "create_activity": True,
                "activity_type_id": todo,
                "activity_summary": self.env._("Decide on collection action"),
                "letter_template_id": template("mail_template_followup_letter_collection"),
            },
        ]
        return {
            "name": self.env._("Standard follow-up"),
            "company_id": self.id,
            "is_default": True,
            "level_ids": [
                Command.create(dict(level, sequence=index)) for index, level in enumerate(levels)
            ],
        }

    @api.constrains("credit_limit_tolerance", "credit_warning_percent")
    def _check_credit_percentages(self):
        for company in self:
            for field_name in ("credit_limit_tolerance", "credit_warning_percent"):
                if not 0.0 <= company[field_name] <= 100.0:
                    raise ValidationError(
                        self.env._(
                            "%(field)s must be between 0 and 100 (company %(company)s).",
                            field=self._fields[field_name].get_description(self.env)["string"],
                            company=company.display_name,
                        )
                    )

    @api.constrains(
        "credit_hold_overdue_days",
        "credit_overdue_threshold",
        "credit_overdue_limit",
        "credit_approval_validity_days",
        "credit_review_notice_days",
        "credit_followup_min_amount",
        "credit_interest_min_amount",
        "credit_interest_compensation_amount",
    )
    def _check_credit_non_negative(self):
        for company in self:
            for field_name in (
                "credit_hold_overdue_days",
                "credit_overdue_threshold",
                "credit_overdue_limit",
                "credit_approval_validity_days",
                "credit_review_notice_days",
                "credit_followup_min_amount",
                "credit_interest_min_amount",
                "credit_interest_compensation_amount",
            ):
                if company[field_name] < 0:
                    raise ValidationError(
                        self.env._(
                            "%(field)s cannot be negative (company %(company)s).",
                            field=self._fields[field_name].get_description(self.env)["string"],
                            company=company.display_name,
                        )
                    )

    @api.constrains(*CREDIT_DAY_BOUNDS)
    def _check_credit_day_bounds(self):
        for company in self:
            error = credit_bound_error(
                company,
                CREDIT_DAY_BOUNDS,
                self.env._("company %(company)s", company=company.display_name),
            )
            if error:
                raise ValidationError(error)

    @api.constrains("credit_followup_fee_product_id", "credit_plan_fee_product_id")
    def _check_credit_fee_products(self):
        """A fee product is what the fees of levels and plans are invoiced with: it
        cannot be removed while they charge one."""
        # sudo: every level and plan of the company counts, whichever companies the
        # person changing the setting has selected; only their names are shown.
        for company in self:
            if not company.credit_followup_fee_product_id:
                levels = (
                    self.env["credit.followup.level"]
                    .sudo()
                    .search(
                        [
                            ("company_id", "=", company.id),
                            ("fee_amount", ">", 0),
                            ("policy_id.active", "=", True),
                        ]
                    )
                )
                if levels:
                    raise ValidationError(
                        self.env._(
                            "Dunning Fee Product: follow-up levels %(levels)s charge a fee in "
                            "%(company)s. Keep a product, or set their fee to 0 first.",
                            levels=", ".join(
                                f"{level.policy_id.name} / {level.name}" for level in levels
                            ),
                            company=company.display_name,
                        )
                    )
            if not company.credit_plan_fee_product_id:
                plans = (
                    self.env["credit.installment.plan"]
                    .sudo()
                    .search(
                        [
                            ("company_id", "=", company.id),
                            ("fee_amount", ">", 0),
                            ("state", "in", ("draft", "proposed")),
                        ]
                    )
                )
                if plans:
                    raise ValidationError(
                        self.env._(
                            "Plan Fee Product: installment plans %(plans)s charge a fee at "
                            "activation in %(company)s. Keep a product, or remove their fee "
                            "first.",
                            plans=", ".join(
                                self.env._(
                                    "%(plan)s for %(customer)s",
                                    plan=plan.name,
                                    customer=plan.partner_id.display_name,
                                )
                                for plan in plans
                            ),
                            company=company.display_name,
                        )
                    )

    @api.constrains("credit_plan_default_days", "credit_plan_collector_max_amount")
    def _check_credit_plan_settings(self):
        for company in self:
            if company.credit_plan_default_days < 0 or company.credit_plan_collector_max_amount < 0:
                raise ValidationError(
                    self.env._(
                        "Days Before Default and Collectors Activate Plans Up To cannot be "
                        "negative."
                    )
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

    @api.model
    def _credit_set_default_products(self):
        """The addon's products on the companies that existed before it was
        installed (field defaults only reach companies created after)."""
        defaults = {
            "credit_followup_fee_product_id": "credit_collections.product_dunning_fee",
            "credit_plan_fee_product_id": "credit_collections.product_plan_fee",
            "credit_interest_product_id": "credit_collections.product_late_interest",
            "credit_interest_compensation_product_id": (
                "credit_collections.product_late_compensation"
            ),
        }
        companies = self.with_context(active_test=False).search([("active", "in", (True, False))])
        for field_name, xmlid in defaults.items():
            product = self.env.ref(xmlid, raise_if_not_found=False)
            if product:
                companies.filtered(lambda company, f=field_name: not company[f]).write(
                    {field_name: product.id}
                )
        companies._credit_interest_set_income_accounts()

    def _credit_interest_apply_preset(self, preset):
        """Late-interest settings and rate table of a common contract.

        :param preset: "monthly" (1.5 % a month, 18 % a year), "eu_directive"
            (EU late payment directive 2011/7/EU: the ECB reference rate of each
            half-year plus 8 points, and 40 EUR per late invoice to businesses) or
            "uk_late_payment" (Late Payment of Commercial Debts (Interest) Act
            1998: the Bank of England base rate of each half-year plus 8 points,
            and 40, 70 or 100 GBP per late invoice by its size)
        """
        Rate = self.env["credit.interest.rate"]
        Band = self.env["credit.interest.compensation"]
        self._credit_set_default_products()
        for company in self:
            vals = {"credit_interest_enabled": True, "credit_interest_print_terms": True}
            if not company.credit_interest_journal_id:
                vals["credit_interest_journal_id"] = company._credit_interest_default_journal().id
            bands = []
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
                bands = UK_COMPENSATION_BANDS
            else:
                vals.update(
                    credit_interest_reference=False,
                    credit_interest_margin=0.0,
                    credit_interest_compensation_amount=0.0,
                )
            company.write(vals)
            # The preset's table replaces the company's (customers' own tables stay):
            # a directive's reference rates under "1.5 % a month" would charge them.
            # Charges already computed keep the rate they were computed at.
            Rate.search([("company_id", "=", company.id), ("partner_id", "=", False)]).unlink()
            Band.search([("company_id", "=", company.id)]).unlink()
            if preset == "monthly":
                Rate.create(
                    {
                        "name": self.env._("1.5 % a month"),
                        "company_id": company.id,
                        "date_from": date(2000, 1, 1),
                        "rate": 18.0,
                    }
                )
            Band.create(
                [
                    {"company_id": company.id, "amount_from": amount_from, "amount": amount}
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
