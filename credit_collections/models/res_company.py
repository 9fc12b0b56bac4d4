from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .credit_approval_request import MAX_VALIDITY_DAYS

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
