# The company settings the stored customer states depend on.
# pylint: disable=consider-merging-classes-inherited
from odoo import models

# Company settings deciding the credit status and follow-up status of its
# customers: changing one makes every state of the company stale.
STATE_SETTINGS = frozenset(
    {
        "credit_check_over_limit",
        "credit_limit_tolerance",
        "credit_warning_percent",
        "credit_zero_limit_policy",
        "credit_check_overdue",
        "credit_hold_overdue_days",
        "credit_overdue_threshold",
        "credit_overdue_limit",
        "credit_include_not_due",
        "credit_include_overdue",
        "credit_include_orders",
        "credit_include_draft_invoices",
        "credit_followup_min_amount",
        "credit_followup_start_mode",
        "credit_plan_count_in_exposure",
        "credit_plan_default_escalates",
        "account_use_credit_limit",
        "currency_id",
    }
)


class ResCompany(models.Model):
    _inherit = "res.company"

    def write(self, vals):
        result = super().write(vals)
        if STATE_SETTINGS.intersection(vals):
            self.env["credit.customer.state"]._credit_mark_company_stale(self)
        return result
