# Split from res_partner.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from odoo import api, fields, models
from odoo.tools import SQL

from .credit_customer_state import BOOKKEEPING_FIELDS, PARTNER_STATUS_FIELDS
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
# The status fields sorted and grouped in SQL, on the customer's state in the
# current company: {partner field: (state column, value without a state)}.
STATE_SQL_FIELDS = {
    "credit_status": ("credit_status", STATUS_DEFAULTS["credit_status"]),
    "credit_over_limit": ("over_limit", False),
    "followup_status": ("followup_status", STATUS_DEFAULTS["followup_status"]),
    # Where a collector starts: who owes the most, who is late the longest.
    "credit_overdue_amount": ("overdue_amount", 0.0),
    "credit_oldest_overdue_days": ("oldest_overdue_date", 0),
}
# Of STATE_SQL_FIELDS, the numbers of days since a date of the state (today less it).
STATE_SQL_DAYS_SINCE = {"credit_oldest_overdue_days"}


class ResPartner(models.Model):
    """The customer's stored state (credit.customer.state) seen from res.partner:
    its status fields are shown from the state of the current company, sorted
    and grouped in SQL on it (a LEFT JOIN) and searched through SQL subqueries
    on it; its follow-up bookkeeping is read and written there."""

    _inherit = "res.partner"

    # ------------------------------------------------------------------
    # Display: the statuses as the stored state has them
    # ------------------------------------------------------------------

    @api.depends_context("company")
    def _compute_credit_state_display(self):
        """credit_status, credit_over_limit, followup_status and
        followup_next_action_date of the customer's state in the current
        company, read for all the partners at once (one query when the states
        are fresh; the stale ones among them recomputed first): what the
        searches, sorts and groupings on them find."""
        company = self.env.company
        commercial = self.commercial_partner_id._origin.filtered("id")
        # sudo: the states count whoever reads the statuses (see _state_subquery).
        rows = self.env["credit.customer.state"].sudo()._credit_read_fresh(commercial, company)
        for partner in self:
            row = rows.get(partner.commercial_partner_id._origin.id)
            for fname, column in PARTNER_STATUS_FIELDS.items():
                value = row[column] if row is not None else None
                partner[fname] = value or STATUS_DEFAULTS.get(fname, False)

    # ------------------------------------------------------------------
    # Sorting and grouping: SQL on the state
    # ------------------------------------------------------------------

    def _field_to_sql(self, alias, fname, query=None, flush=True):
        """The status fields, the overdue amount and the oldest overdue days as
        SQL on the customer's state in the current company (a LEFT JOIN), so
        that lists sort and group on them."""
        if fname not in STATE_SQL_FIELDS or query is None:
            return super()._field_to_sql(alias, fname, query, flush)
        self.check_field_access_rights("read", [fname])
        column, default = STATE_SQL_FIELDS[fname]
        state_alias = query.make_alias(alias, "credit_state")
        query.add_join(
            "LEFT JOIN",
            state_alias,
            "credit_customer_state",
            SQL(
                "%s = %s AND %s = %s",
                SQL.identifier(state_alias, "partner_id"),
                super()._field_to_sql(alias, "commercial_partner_id", query, flush),
                SQL.identifier(state_alias, "company_id"),
                self.env.company.id,
            ),
        )
        to_flush = self.env["credit.customer.state"]._fields[column] if flush else None
        value = SQL.identifier(state_alias, column, to_flush=to_flush)
        if fname in STATE_SQL_DAYS_SINCE:
            # The days the partner's compute gives (see credit.exposure's
            # oldest_overdue_days), counted in SQL from the stored date.
            value = SQL("(%s::date - %s)", fields.Date.context_today(self), value)
        return SQL("COALESCE(%s, %s)", value, default)

    def _order_field_to_sql(self, alias, field_name, direction, nulls, query):
        """Statuses sort in the order of their selection (OK, Warning, Blocked),
        not alphabetically."""
        if field_name not in ("credit_status", "followup_status"):
            return super()._order_field_to_sql(alias, field_name, direction, nulls, query)
        keys = [key for key, _label in self._fields[field_name].selection]
        rank = SQL(
            "ARRAY_POSITION(%s::varchar[], %s::varchar)",
            keys,
            self._field_to_sql(alias, field_name, query),
        )
        if query.groupby:
            query.groupby = SQL("%s, %s", query.groupby, rank)
        return SQL("%s %s %s", rank, direction, nulls)

    @api.model
    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        if order and self._credit_names_state_field(order):
            self._credit_refresh_states()
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    @api.model
    def _read_group(
        self, domain, groupby=(), aggregates=(), having=(), offset=0, limit=None, order=None
    ):
        if self._credit_names_state_field(",".join([*groupby, order or ""])):
            self._credit_refresh_states()
        return super()._read_group(
            domain, groupby, aggregates, having=having, offset=offset, limit=limit, order=order
        )

    @api.model
    def _credit_names_state_field(self, terms):
        """Whether the order or groupby terms (comma-separated) name a status."""
        names = {term.strip().split(" ")[0].split(":")[0] for term in terms.split(",")}
        return bool(names & set(STATE_SQL_FIELDS))

    @api.model
    def _credit_refresh_states(self):
        # sudo: the states are the system's, recomputed whoever sorts on them.
        self.env["credit.customer.state"].sudo()._credit_refresh(self.env.company)

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
