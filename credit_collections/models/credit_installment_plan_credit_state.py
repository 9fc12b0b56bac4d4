# The credit.installment.plan changes that make its customer's credit state stale.
# pylint: disable=consider-merging-classes-inherited
from odoo import models


class CreditInstallmentPlan(models.Model):
    _name = "credit.installment.plan"
    _inherit = ["credit.installment.plan", "credit.customer.state.source"]

    _credit_state_watched = frozenset(
        {
            "company_id",
            "date_defaulted",
            "move_id",
            "partner_id",
            "state",
        }
    )

    def _credit_state_pairs_sql(self, ids):
        return self._credit_state_pairs_by_partner_sql(ids)
