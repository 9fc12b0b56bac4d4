# The sale.order.line changes that make its customer's credit state stale.
# pylint: disable=consider-merging-classes-inherited
from odoo import models
from odoo.tools import SQL


class SaleOrderLine(models.Model):
    _name = "sale.order.line"
    _inherit = ["sale.order.line", "credit.customer.state.source"]

    _credit_state_watched = frozenset(
        {
            "is_downpayment",
            "price_subtotal",
            "price_total",
            "untaxed_amount_invoiced",
        }
    )

    def _credit_state_pairs_sql(self, ids):
        return SQL(
            "SELECT partner.commercial_partner_id AS partner_id, sale.company_id "
            "FROM sale_order_line line JOIN sale_order sale ON sale.id = line.order_id "
            "JOIN res_partner partner ON partner.id = sale.partner_invoice_id "
            "WHERE line.id = ANY(%s)",
            ids,
        )
