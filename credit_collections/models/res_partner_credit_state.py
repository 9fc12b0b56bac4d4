# Split from res_partner.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from odoo import api, fields, models
from odoo.tools import SQL

from .credit_customer_state import BOOKKEEPING_FIELDS
from .res_partner import DAYS_COMPARISONS

# Operators a search on a number of days supports, in SQL.
DAYS_SQL_OPERATORS = {
    "=": SQL("="),
    "!=": SQL("<>"),
    "<": SQL("<"),
    "<=": SQL("<="),
    ">": SQL(">"),
    ">=": SQL(">="),
}
# What a customer without a state is: nothing open, nothing to do.
STATUS_DEFAULTS = {"credit_status": "ok", "followup_status": "no_action"}


class ResPartner(models.Model):
    """The customer's stored state (credit.customer.state) seen from res.partner:
    the searches on its status fields are SQL subqueries on the states of the
    current company, and its follow-up bookkeeping is read and written there."""

    _inherit = "res.partner"

    # ------------------------------------------------------------------
    # Searches
    # ------------------------------------------------------------------

    def _search_credit_status(self, operator, value):
        return self._search_state_status("credit_status", operator, value)

    def _search_followup_status(self, operator, value):
        return self._search_state_status("followup_status", operator, value)

    def _search_state_status(self, column, operator, value):
        """Partners whose customer's state in the current company has the status."""
        if operator not in ("=", "!=", "in", "not in"):
            raise NotImplementedError(
                self.env._(
                    "Unsupported search on %(field)s.",
                    field=self._fields[column].get_description(self.env)["string"],
                )
            )
        values = tuple({value} if operator in ("=", "!=") else set(value))
        state = SQL("state.%s", SQL.identifier(column))
        if STATUS_DEFAULTS[column] in values:
            # Customers without a state have the default status: match all but
            # those whose state says otherwise.
            domain = [
                (
                    "commercial_partner_id",
                    "not in",
                    self._state_subquery(SQL("%s NOT IN %s", state, values or (None,))),
                )
            ]
        else:
            domain = [
                (
                    "commercial_partner_id",
                    "in",
                    self._state_subquery(SQL("%s IN %s", state, values)),
                )
            ]
        if operator in ("!=", "not in"):
            domain = ["!", *domain]
        return domain

    def _search_credit_over_limit(self, operator, value):
        if operator not in ("=", "!="):
            raise NotImplementedError(self.env._("Unsupported search on credit limit."))
        positive = (operator == "=") == bool(value)
        over = self._state_subquery(SQL("state.over_limit"))
        return [("commercial_partner_id", "in" if positive else "not in", over)]

    def _search_credit_oldest_overdue_days(self, operator, value):
        if operator not in DAYS_SQL_OPERATORS or not isinstance(value, int):
            raise NotImplementedError(self.env._("Unsupported search on oldest overdue days."))
        today = fields.Date.context_today(self)
        days = SQL("(%s - state.oldest_overdue_date)", today)
        matches = SQL("%s %s %s", days, DAYS_SQL_OPERATORS[operator], value)
        if DAYS_COMPARISONS[operator](0, value):
            # Customers with nothing overdue (0 days) match too.
            others = self._state_subquery(
                SQL("state.oldest_overdue_date IS NOT NULL AND NOT (%s)", matches)
            )
            return [("commercial_partner_id", "not in", others)]
        matching = self._state_subquery(
            SQL("state.oldest_overdue_date IS NOT NULL AND %s", matches)
        )
        return [("commercial_partner_id", "in", matching)]

    def _state_subquery(self, condition):
        # The states count for the searches whoever searches: the partners found
        # are then filtered by the user's own rules.
        return (
            self.env["credit.customer.state"].sudo()._credit_subquery(self.env.company, condition)
        )

    # ------------------------------------------------------------------
    # Follow-up bookkeeping, kept on the customer's state
    # ------------------------------------------------------------------

    @api.depends_context("company")
    def _compute_followup_bookkeeping(self):
        company = self.env.company
        commercial = self.commercial_partner_id._origin.filtered("id")
        kept = self.env["credit.customer.state"]._get_bookkeeping(commercial, company)
        Level = self.env["credit.followup.level"]
        for partner in self:
            values = kept.get(partner.commercial_partner_id._origin.id, {})
            partner.followup_level_id = Level.browse(values.get("followup_level_id"))
            partner.followup_episode = values.get("followup_episode", 0)
            partner.followup_last_date = values.get("followup_last_date", False)

    def _inverse_followup_bookkeeping(self):
        """Written on the customers' states, for the current company, as the
        current user: only the system (the follow-ups, under sudo) may."""
        State = self.env["credit.customer.state"]
        State.browse().check_access("write")
        groups = self.grouped(
            lambda partner: (
                partner.followup_level_id.id,
                partner.followup_episode,
                partner.followup_last_date,
            )
        )
        for (level_id, episode, last_date), partners in groups.items():
            State._set_bookkeeping(
                partners,
                self.env.company,
                dict(zip(BOOKKEEPING_FIELDS, (level_id or False, episode, last_date), strict=True)),
            )
        self.env["res.partner"].invalidate_model(list(BOOKKEEPING_FIELDS))
