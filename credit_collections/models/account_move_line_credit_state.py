# The account.move.line changes that make its customer's credit state stale.
# pylint: disable=consider-merging-classes-inherited
from odoo import models
from odoo.tools import SQL


class AccountMoveLine(models.Model):
    _name = "account.move.line"
    _inherit = ["account.move.line", "credit.customer.state.source"]

    _credit_state_watched = frozenset(
        {
            "account_id",
            "amount_residual",
            "amount_residual_currency",
            "balance",
            "date_maturity",
            "followup_excluded",
            "parent_state",
            "partner_id",
        }
    )

    def _credit_state_pairs_sql(self, ids):
        # Receivable items only: the states sum nothing else.
        return SQL(
            "SELECT partner.commercial_partner_id AS partner_id, line.company_id "
            "FROM account_move_line line "
            "JOIN res_partner partner ON partner.id = line.partner_id "
            "JOIN account_account account ON account.id = line.account_id "
            "WHERE line.id = ANY(%s) AND account.account_type = %s",
            ids,
            "asset_receivable",
        )
