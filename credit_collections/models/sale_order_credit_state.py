# The sale.order changes that make its customer's credit state stale.
# pylint: disable=consider-merging-classes-inherited
from odoo import models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "credit.customer.state.source"]

    _credit_state_watched = frozenset(
        {
            "amount_total",
            "amount_untaxed",
            "currency_id",
            "partner_invoice_id",
            "state",
        }
    )

    def _credit_state_pairs_sql(self, ids):
        return self._credit_state_pairs_by_partner_sql(ids, "partner_invoice_id")
