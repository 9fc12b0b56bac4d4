from odoo import api, fields, models
from odoo.exceptions import ValidationError

from .res_company import CREDIT_DAY_BOUNDS, credit_bound_error


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    credit_check_over_limit = fields.Boolean(
        related="company_id.credit_check_over_limit", readonly=False
    )
    credit_limit_tolerance = fields.Float(
        related="company_id.credit_limit_tolerance", readonly=False
    )
    credit_warning_percent = fields.Float(
        related="company_id.credit_warning_percent", readonly=False
    )
    credit_zero_limit_policy = fields.Selection(
        related="company_id.credit_zero_limit_policy", readonly=False
    )
    credit_check_overdue = fields.Boolean(related="company_id.credit_check_overdue", readonly=False)
    credit_hold_overdue_days = fields.Integer(
        related="company_id.credit_hold_overdue_days", readonly=False
    )
    credit_overdue_threshold = fields.Monetary(
        related="company_id.credit_overdue_threshold", readonly=False
    )
    credit_overdue_limit = fields.Monetary(
        related="company_id.credit_overdue_limit", readonly=False
    )
    credit_include_not_due = fields.Boolean(
        related="company_id.credit_include_not_due", readonly=False
    )
    credit_include_overdue = fields.Boolean(
        related="company_id.credit_include_overdue", readonly=False
    )
    credit_include_orders = fields.Boolean(
        related="company_id.credit_include_orders", readonly=False
    )
    credit_include_draft_invoices = fields.Boolean(
        related="company_id.credit_include_draft_invoices", readonly=False
    )
    credit_check_invoices = fields.Boolean(
        related="company_id.credit_check_invoices", readonly=False
    )
    credit_approval_validity_days = fields.Integer(
        related="company_id.credit_approval_validity_days", readonly=False
    )
    credit_approver_id = fields.Many2one(related="company_id.credit_approver_id", readonly=False)
    credit_review_notice_days = fields.Integer(
        related="company_id.credit_review_notice_days", readonly=False
    )
    credit_segregation_of_duties = fields.Boolean(
        related="company_id.credit_segregation_of_duties", readonly=False
    )
    credit_followup_min_amount = fields.Monetary(
        related="company_id.credit_followup_min_amount", readonly=False
    )
    credit_followup_fee_product_id = fields.Many2one(
        related="company_id.credit_followup_fee_product_id", readonly=False
    )
    credit_followup_start_mode = fields.Selection(
        related="company_id.credit_followup_start_mode", readonly=False
    )
    credit_followup_paused = fields.Boolean(
        related="company_id.credit_followup_paused", readonly=False
    )
    credit_interest_enabled = fields.Boolean(
        related="company_id.credit_interest_enabled", readonly=False
    )
    credit_interest_reference = fields.Selection(
        related="company_id.credit_interest_reference", readonly=False
    )
    credit_interest_margin = fields.Float(
        related="company_id.credit_interest_margin", readonly=False
    )
    credit_interest_day_count = fields.Selection(
        related="company_id.credit_interest_day_count", readonly=False
    )
    credit_interest_grace_days = fields.Integer(
        related="company_id.credit_interest_grace_days", readonly=False
    )
    credit_interest_min_amount = fields.Monetary(
        related="company_id.credit_interest_min_amount", readonly=False
    )
    credit_interest_compensation_amount = fields.Monetary(
        related="company_id.credit_interest_compensation_amount",
        readonly=False,
        currency_field="credit_interest_compensation_currency_id",
    )
    credit_interest_compensation_currency_id = fields.Many2one(
        related="company_id.credit_interest_compensation_currency_id", readonly=False
    )
    credit_interest_compensation_companies_only = fields.Boolean(
        related="company_id.credit_interest_compensation_companies_only", readonly=False
    )
    credit_interest_on_interest = fields.Boolean(
        related="company_id.credit_interest_on_interest", readonly=False
    )
    credit_interest_product_id = fields.Many2one(
        related="company_id.credit_interest_product_id", readonly=False
    )
    credit_interest_compensation_product_id = fields.Many2one(
        related="company_id.credit_interest_compensation_product_id", readonly=False
    )
    credit_interest_account_id = fields.Many2one(
        related="company_id.credit_interest_account_id", readonly=False
    )
    credit_interest_compensation_account_id = fields.Many2one(
        related="company_id.credit_interest_compensation_account_id", readonly=False
    )
    credit_interest_journal_id = fields.Many2one(
        related="company_id.credit_interest_journal_id", readonly=False
    )
    credit_interest_auto_post = fields.Boolean(
        related="company_id.credit_interest_auto_post", readonly=False
    )
    credit_interest_print_terms = fields.Boolean(
        related="company_id.credit_interest_print_terms", readonly=False
    )
    credit_interest_run_day = fields.Integer(
        related="company_id.credit_interest_run_day", readonly=False
    )

    credit_plan_journal_id = fields.Many2one(
        related="company_id.credit_plan_journal_id", readonly=False
    )
    credit_plan_fee_product_id = fields.Many2one(
        related="company_id.credit_plan_fee_product_id", readonly=False
    )
    credit_plan_default_days = fields.Integer(
        related="company_id.credit_plan_default_days", readonly=False
    )
    credit_plan_acceleration = fields.Boolean(
        related="company_id.credit_plan_acceleration", readonly=False
    )
    credit_plan_collector_max_amount = fields.Monetary(
        related="company_id.credit_plan_collector_max_amount", readonly=False
    )
    credit_plan_count_in_exposure = fields.Boolean(
        related="company_id.credit_plan_count_in_exposure", readonly=False
    )
    credit_plan_default_escalates = fields.Boolean(
        related="company_id.credit_plan_default_escalates", readonly=False
    )
    credit_plan_acceptance_needs_manager = fields.Boolean(
        related="company_id.credit_plan_acceptance_needs_manager", readonly=False
    )

    @api.onchange(*CREDIT_DAY_BOUNDS)
    def _onchange_credit_day_bounds(self):
        # Said as it is typed; the company's constraint refuses it on save.
        error = credit_bound_error(
            self,
            CREDIT_DAY_BOUNDS,
            self.env._("company %(company)s", company=self.company_id.display_name),
        )
        if error:
            return {"warning": {"title": self.env._("Credit & Collections"), "message": error}}
        return None

    @api.onchange("account_default_credit_limit")
    def _onchange_account_default_credit_limit(self):
        if self.account_default_credit_limit < 0:
            return {
                "warning": {
                    "title": self.env._("Default Credit Limit"),
                    "message": self._default_credit_limit_error(),
                }
            }
        return None

    def _default_credit_limit_error(self):
        return self.env._(
            "Default Credit Limit cannot be negative: every new customer would get it, and "
            "creating a contact would fail. Enter 0 for no default limit."
        )

    def _inverse_account_default_credit_limit(self):
        # Odoo stores the default limit as a fallback of every customer's limit:
        # refuse it here, where it is typed, not when a contact is created later.
        if any(settings.account_default_credit_limit < 0 for settings in self):
            raise ValidationError(self._default_credit_limit_error())
        return super()._inverse_account_default_credit_limit()

    def action_credit_interest_preset_monthly(self):
        self.company_id._credit_interest_apply_preset("monthly")

    def action_credit_interest_preset_eu_directive(self):
        self.company_id._credit_interest_apply_preset("eu_directive")

    def action_credit_interest_preset_uk_late_payment(self):
        self.company_id._credit_interest_apply_preset("uk_late_payment")

    def action_credit_followup_preview(self):
        """What the next follow-up run would send for the company shown."""
        self.ensure_one()
        return self.env["credit.followup.preview"]._action_open(self.company_id)
