# The credit.promise changes that make its customer's credit state stale.
# pylint: disable=consider-merging-classes-inherited
from odoo import models


class CreditPromise(models.Model):
    _name = "credit.promise"
    _inherit = ["credit.promise", "credit.customer.state.source"]

    _credit_state_watched = frozenset(
        {
            "company_id",
            "partner_id",
            "promised_date",
            "state",
        }
    )

    def _credit_state_pairs_sql(self, ids):
        return self._credit_state_pairs_by_partner_sql(ids)
