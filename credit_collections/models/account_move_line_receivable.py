from odoo import api, fields, models
from odoo.tools import SQL


class AccountMoveLine(models.Model):
    """The owners of "open receivable item", "overdue" and "the position of a
    customer's receivables at a date": what exposure, follow-ups, interest,
    plans, promises, aging, KPIs and statements all work on, defined once."""

    _inherit = "account.move.line"

    # ------------------------------------------------------------------
    # Open receivable items
    #
    # What exposure, follow-ups, statements and, next, interest, plans and aging
    # all work on, defined here once: as SQL for figures over many customers,
    # and as the matching ORM domain for records. "Chased" items are the open
    # ones a collector asks the customer to pay: amounts due to us (not credit
    # notes nor payments), not excluded from follow-ups (disputed).
    # ------------------------------------------------------------------

    @api.model
    def _open_receivable_sql(self, company, joins=None, conditions=None):
        """FROM and WHERE clauses of the open receivable items of company: items
        as ``line``, their account as ``account``, their partner as ``partner``.
        The conditions match the index account_move_line_credit_open_items_idx.

        :param company: a company, or several (the exposure sums a company's branches)
        :param joins: SQL joined before WHERE
        :param conditions: SQL conditions added with AND
        """
        return SQL(
            """
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN res_partner partner ON partner.id = line.partner_id
                   %s
             WHERE line.company_id = ANY(%s)
               AND account.account_type = 'asset_receivable'
               AND line.parent_state = 'posted'
               AND NOT line.reconciled
               AND line.amount_residual <> 0
               AND %s
            """,
            joins or SQL(),
            company.ids,
            conditions or SQL("TRUE"),
        )

    @api.model
    def _open_receivable_domain(self, company):
        """The ORM domain of _open_receivable_sql."""
        return [
            ("company_id", "in", company.ids),
            ("account_id.account_type", "=", "asset_receivable"),
            ("parent_state", "=", "posted"),
            ("reconciled", "=", False),
            ("amount_residual", "!=", 0),
        ]

    @api.model
    def _chased_receivable_sql(self, company, conditions=None):
        """FROM and WHERE clauses of the open items collectors chase (see
        _open_receivable_sql)."""
        return self._open_receivable_sql(
            company,
            conditions=SQL(
                "line.amount_residual > 0 AND NOT COALESCE(line.followup_excluded, FALSE) AND %s",
                conditions or SQL("TRUE"),
            ),
        )

    @api.model
    def _chased_receivable_domain(self, company):
        """The ORM domain of _chased_receivable_sql."""
        return [
            *self._open_receivable_domain(company),
            ("amount_residual", ">", 0),
            ("followup_excluded", "=", False),
        ]

    # ------------------------------------------------------------------
    # Open credits netted against chased items
    #
    # Credit notes and payments not matched with an invoice yet (open items with
    # a negative residual) pay for the customer's chased items, oldest first, as
    # a collector reconciling them would: follow-ups choose their level, the
    # overdue hold rules and the interest run their base from what is left, and
    # a customer whose credits cover what is due is neither chased nor charged.
    # In company currency, as the exposure counts credits. Disputed items and
    # credits (excluded from follow-ups) take no part.
    # ------------------------------------------------------------------

    @api.model
    def _open_credit_sql(self, company, conditions=None):
        """FROM and WHERE clauses of the open credits of company (see
        _open_receivable_sql)."""
        return self._open_receivable_sql(
            company,
            conditions=SQL(
                "line.amount_residual < 0 AND NOT COALESCE(line.followup_excluded, FALSE) AND %s",
                conditions or SQL("TRUE"),
            ),
        )

    @api.model
    def _open_credit_domain(self, company):
        """The ORM domain of _open_credit_sql."""
        return [
            *self._open_receivable_domain(company),
            ("amount_residual", "<", 0),
            ("followup_excluded", "=", False),
        ]

    @api.model
    def _netted_receivable_sql(self, company, conditions=None):
        """A SELECT of the chased items of company with what the open credits of
        their customer cover of each, oldest first (by due date, then id), in
        company currency. Columns: id, partner_id (the commercial partner),
        date_maturity, amount_residual, netted, net_residual.

        :param conditions: SQL conditions on the customers (``partner``), applied
            to items and credits alike; never on the items alone, which would
            net the credits against a part of the items.
        """
        return SQL(
            """
            WITH credit AS (
                SELECT partner.commercial_partner_id AS partner_id,
                       -SUM(line.amount_residual) AS amount
                       %(credits)s
              GROUP BY partner.commercial_partner_id
            ), item AS (
                SELECT line.id, partner.commercial_partner_id AS partner_id,
                       line.date_maturity, line.amount_residual,
                       COALESCE(SUM(line.amount_residual) OVER (
                           PARTITION BY partner.commercial_partner_id
                           ORDER BY line.date_maturity, line.id
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                       ), 0) AS before
                       %(chased)s
            )
            SELECT item.id, item.partner_id, item.date_maturity, item.amount_residual,
                   covered.amount AS netted,
                   item.amount_residual - covered.amount AS net_residual
              FROM item
              LEFT JOIN credit ON credit.partner_id = item.partner_id
             CROSS JOIN LATERAL (
                   SELECT LEAST(item.amount_residual,
                                GREATEST(COALESCE(credit.amount, 0) - item.before, 0)) AS amount
             ) covered
            """,
            credits=self._open_credit_sql(company, conditions),
            chased=self._chased_receivable_sql(company, conditions),
        )

    @api.model
    def _get_credit_netting(self, partners, company):
        """What open credits cover of the chased items of each customer.

        :param partners: commercial partners
        :return: {item id: amount covered, in company currency} of the items
            credits cover, wholly or partly
        """
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                "SELECT id, netted FROM (%s) netting WHERE netted > 0",
                self._netted_receivable_sql(
                    company, SQL("partner.commercial_partner_id = ANY(%s)", partners.ids)
                ),
            )
        )
        return dict(rows)

    def _get_net_residuals(self):
        """Open amount of each item, in its currency, once the open credits of its
        customer are netted against the customer's items, oldest first.

        :return: {item id: amount}
        """
        net = {line.id: line.amount_residual_currency for line in self}
        for company, lines in self.grouped("company_id").items():
            netted = self._get_credit_netting(lines.partner_id.commercial_partner_id, company)
            for line in lines:
                covered = netted.get(line.id)
                if not covered:
                    continue
                if covered >= line.amount_residual:
                    net[line.id] = 0.0
                elif line.currency_id == company.currency_id:
                    net[line.id] = line.amount_residual_currency - covered
                else:
                    # The part covered, at the item's own rate.
                    net[line.id] = line.currency_id.round(
                        line.amount_residual_currency * (1 - covered / line.amount_residual)
                    )
        return net

    # ------------------------------------------------------------------
    # Overdue
    #
    # An item is overdue at a date when an amount is still due on it (a
    # positive residual) and its due date is before that date: an item due
    # today is not overdue yet. The date is today (the user's) when not given.
    # ------------------------------------------------------------------

    @api.model
    def _overdue_sql(self, date=None, alias="line"):
        """SQL condition: the item `alias` (an account_move_line, open) is overdue
        at date."""
        return SQL(
            "(%(line)s.amount_residual > 0 AND %(line)s.date_maturity < %(date)s)",
            line=SQL.identifier(alias),
            date=date or fields.Date.context_today(self),
        )

    @api.model
    def _overdue_domain(self, date=None):
        """The ORM domain of _overdue_sql (add it to an open-item domain)."""
        return [
            ("amount_residual", ">", 0),
            ("date_maturity", "<", date or fields.Date.context_today(self)),
        ]

    def _credit_is_open_receivable(self):
        """Whether this item is an open receivable item (the record predicate of
        _open_receivable_domain, whatever its company)."""
        self.ensure_one()
        return bool(
            self.account_id.account_type == "asset_receivable"
            and self.parent_state == "posted"
            and not self.reconciled
            and not self.company_currency_id.is_zero(self.amount_residual)
        )

    def _credit_is_overdue(self, date=None):
        """Whether this item is an open receivable item overdue at date (the
        record predicate of _overdue_domain)."""
        self.ensure_one()
        date = date or fields.Date.context_today(self)
        return bool(
            self._credit_is_open_receivable()
            and self.amount_residual > 0
            and self.date_maturity
            and self.date_maturity < date
        )

    # ------------------------------------------------------------------
    # Position at a date
    #
    # The receivables of a customer as they stood at the end of a day: the
    # items posted by then (by accounting date), minus what was reconciled
    # with them by then (a partial reconciliation counts from its max_date, the
    # later date of its two items, as Odoo's aged balance reads it). At today
    # it is the open receivable items, to the cent. Entries posted then
    # cancelled count as they are now (not posted).
    # ------------------------------------------------------------------

    @api.model
    def _receivable_position_sql(self, company, date=None, conditions=None, joins=None):
        """A SELECT of the receivable items of company as they stood at the end of
        date, one row per item still open then. Columns: id, partner_id (the
        commercial partner), company_id, currency_id, date, date_maturity,
        followup_excluded, amount_residual (company currency) and
        amount_residual_currency (item currency), both as of date.

        :param date: a date, or an SQL expression giving each item its own date
            (on ``line`` and the joins: the interest run values each item at
            its last day charged)
        :param conditions: SQL conditions on the items (``line``), their account
            (``account``), their partner (``partner``) and the joins
        :param joins: SQL joined before the position is computed
        """
        date = date or fields.Date.context_today(self)
        return SQL(
            """
            SELECT line.id, partner.commercial_partner_id AS partner_id,
                   line.company_id, line.currency_id, line.date, line.date_maturity,
                   COALESCE(line.followup_excluded, FALSE) AS followup_excluded,
                   line.balance - COALESCE(debited.amount, 0) + COALESCE(credited.amount, 0)
                       AS amount_residual,
                   line.amount_currency - COALESCE(debited.amount_currency, 0)
                       + COALESCE(credited.amount_currency, 0) AS amount_residual_currency
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN res_partner partner ON partner.id = line.partner_id
                   %(joins)s
              LEFT JOIN LATERAL (
                    SELECT SUM(partial.amount) AS amount,
                           SUM(partial.debit_amount_currency) AS amount_currency
                      FROM account_partial_reconcile partial
                     WHERE partial.debit_move_id = line.id AND partial.max_date <= %(date)s
              ) debited ON TRUE
              LEFT JOIN LATERAL (
                    SELECT SUM(partial.amount) AS amount,
                           SUM(partial.credit_amount_currency) AS amount_currency
                      FROM account_partial_reconcile partial
                     WHERE partial.credit_move_id = line.id AND partial.max_date <= %(date)s
              ) credited ON TRUE
             WHERE line.company_id = %(company)s
               AND account.account_type = 'asset_receivable'
               AND line.parent_state = 'posted'
               AND line.date <= %(date)s
               AND (NOT line.reconciled OR EXISTS (
                    SELECT 1 FROM account_partial_reconcile partial
                     WHERE (partial.debit_move_id = line.id OR partial.credit_move_id = line.id)
                       AND partial.max_date > %(date)s))
               AND line.balance - COALESCE(debited.amount, 0) + COALESCE(credited.amount, 0) <> 0
               AND %(conditions)s
            """,
            date=date,
            company=company.id,
            conditions=conditions or SQL("TRUE"),
            joins=joins or SQL(),
        )

    @api.model
    def _get_receivable_position(self, partners, company, date=None):
        """The receivables of each customer at the end of date, in company
        currency: what it owed (open items, credits deducted), of which overdue
        at that date, and its oldest overdue due date.

        :param partners: commercial partners
        :return: {partner id: {"total", "due", "overdue", "credits", "oldest_overdue"}}
        """
        date = date or fields.Date.context_today(self)
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["account.partial.reconcile"].flush_model()
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT position.partner_id,
                       SUM(position.amount_residual),
                       SUM(position.amount_residual) FILTER (WHERE position.amount_residual > 0),
                       SUM(position.amount_residual) FILTER (WHERE %(overdue)s),
                       SUM(position.amount_residual) FILTER (WHERE position.amount_residual < 0),
                       MIN(position.date_maturity) FILTER (WHERE %(overdue)s)
                  FROM (%(position)s) position
              GROUP BY position.partner_id
                """,
                overdue=self._overdue_sql(date, alias="position"),
                position=self._receivable_position_sql(
                    company,
                    date,
                    SQL("partner.commercial_partner_id = ANY(%s)", partners.ids),
                ),
            )
        )
        return {
            pid: {
                "total": total or 0.0,
                "due": due or 0.0,
                "overdue": overdue or 0.0,
                "credits": credits or 0.0,
                "oldest_overdue": oldest,
            }
            for pid, total, due, overdue, credits, oldest in rows
        }
