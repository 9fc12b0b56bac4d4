# The account.move changes that make its customer's credit state stale.
# pylint: disable=consider-merging-classes-inherited
from odoo import models
from odoo.tools import SQL


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "credit.customer.state.source"]

    _credit_state_watched = frozenset(
        {
            "amount_total_signed",
            "commercial_partner_id",
            "move_type",
            "state",
        }
    )

    def _credit_state_pairs_sql(self, ids):
        # Customer invoices only: drafts count in the exposure.
        return SQL(
            "SELECT move.commercial_partner_id AS partner_id, move.company_id "
            "FROM account_move move WHERE move.id = ANY(%s) AND move.move_type IN %s",
            ids,
            ("out_invoice", "out_refund"),
        )
