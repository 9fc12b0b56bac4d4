from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL

from .credit_guarded_mixin import SYSTEM, Guard


class AccountMoveLine(models.Model):
    _name = "account.move.line"
    _inherit = ["account.move.line", "credit.guarded.mixin"]

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    # On an installment plan's entries: the item a line clears (a source item at
    # activation, an open installment at cancellation).
    credit_installment_source_id = fields.Many2one(
        "account.move.line",
        string="Cleared Item",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_user",
    )
    followup_excluded = fields.Boolean(
        string="Excluded from Follow-ups",
        copy=False,
        index="btree_not_null",
        help="Disputed or in litigation: never chased, and not counted by the overdue credit hold.",
        groups="base.group_user",
    )
    followup_exclusion_reason = fields.Char(
        string="Exclusion Reason", copy=False, groups="base.group_user"
    )
    followup_level_id = fields.Many2one(
        "credit.followup.level",
        string="Follow-up Level",
        copy=False,
        readonly=True,
        groups="base.group_user",
    )
    followup_date = fields.Date(
        string="Last Follow-up", copy=False, readonly=True, groups="base.group_user"
    )
    credit_days_overdue = fields.Integer(
        string="Days Overdue",
        compute="_compute_credit_days_overdue",
        groups="base.group_user",
        help="Days since the due date, today; 0 when not yet due.",
    )

    @api.depends("date_maturity")
    def _compute_credit_days_overdue(self):
        today = fields.Date.context_today(self)
        for line in self:
            line.credit_days_overdue = (
                max((today - line.date_maturity).days, 0) if line.date_maturity else 0
            )

    def init(self):
        result = super().init()
        # Every credit and follow-up figure sums a customer's open receivable items.
        # Odoo's indexes on partner_id also hold the customer's settled items and the
        # lines of its invoices (several times the open items): this one holds only
        # open items with a residual, and the columns the sums read, so that they
        # are read from the index alone.
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS account_move_line_credit_open_items_idx
                    ON account_move_line (partner_id)
                    INCLUDE (account_id, company_id, amount_residual, date_maturity,
                             followup_excluded)
                 WHERE parent_state = 'posted' AND NOT reconciled AND amount_residual <> 0
                """
            )
        )
        return result

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def write(self, vals):
        if "followup_excluded" not in vals:
            return super().write(vals)
        changed = self.filtered(
            lambda line: line.followup_excluded != bool(vals["followup_excluded"])
        )
        result = super().write(vals)
        changed._followup_log_exclusion()
        return result

    def _credit_guarded_fields(self):
        """The follow-up level and date of an item are recorded by the follow-ups;
        the item an installment plan's line clears, by the plan; excluding an item
        from follow-ups is a collector's decision."""
        collector = Guard("credit_collections.group_credit_user")
        return {
            **super()._credit_guarded_fields(),
            "credit_installment_source_id": SYSTEM,
            "followup_level_id": SYSTEM,
            "followup_date": SYSTEM,
            "followup_excluded": collector,
            "followup_exclusion_reason": collector,
        }

    def _credit_guard_hint(self):
        return self.env._(
            "Exclude items with Exclude from Follow-ups (collectors); the follow-ups and "
            "installment plans record the rest themselves."
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_followup_exclude(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Exclude from Follow-ups"),
            "res_model": "credit.followup.exclude.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_line_ids": self.ids},
        }

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

        :param joins: SQL joined before WHERE
        :param conditions: SQL conditions added with AND
        """
        return SQL(
            """
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN res_partner partner ON partner.id = line.partner_id
                   %s
             WHERE line.company_id = %s
               AND account.account_type = 'asset_receivable'
               AND line.parent_state = 'posted'
               AND NOT line.reconciled
               AND line.amount_residual <> 0
               AND %s
            """,
            joins or SQL(),
            company.id,
            conditions or SQL("TRUE"),
        )

    def _get_followup_document_name(self):
        """What a statement calls the item: its invoice's number, or for an
        installment of a plan its own label ("Installment 2/6 - PLAN/2026/0001")."""
        self.ensure_one()
        if self.move_id.credit_installment_plan_id and self.name:
            return self.name
        return self.move_id.name

    @api.model
    def _open_receivable_domain(self, company):
        """The ORM domain of _open_receivable_sql."""
        return [
            ("company_id", "=", company.id),
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

    @api.model
    def _followup_figures(self, partners, company):
        """Oldest due date and overdue amount of the chased items of each
        commercial partner, in company currency."""
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       MIN(line.date_maturity),
                       SUM(line.amount_residual) FILTER (WHERE line.date_maturity < %(today)s)
                       %(chased)s
              GROUP BY partner.commercial_partner_id
                """,
                today=fields.Date.context_today(self),
                chased=self._chased_receivable_sql(
                    company, SQL("partner.commercial_partner_id = ANY(%s)", partners.ids)
                ),
            )
        )
        return {
            pid: {"oldest_due": oldest, "overdue": overdue or 0.0} for pid, oldest, overdue in rows
        }

    @api.model
    def _followup_horizon(self, delay, today):
        """Last due date, inclusive, of the items a follow-up of a level with this
        delay lists: overdue items; for a reminder before the due date (a negative
        delay), also those falling due within that delay."""
        return today - timedelta(days=1) if delay >= 0 else today - timedelta(days=delay)

    @api.model
    def _followup_items_by_partner(self, partners, company, delays):
        """Items each customer's follow-up lists, for all customers in one query,
        sorted by due date, with what the statements show read at once.

        :param partners: commercial partners
        :param delays: {partner id: delay of its level}; missing: 0 (overdue items)
        :return: {partner id: account.move.line}
        """
        today = fields.Date.context_today(self)
        horizons = {
            partner.id: self._followup_horizon(delays.get(partner.id, 0), today)
            for partner in partners
        }
        lines = self.search(
            [
                *self._chased_receivable_domain(company),
                ("partner_id.commercial_partner_id", "in", partners.ids),
                ("date_maturity", "<=", max(horizons.values(), default=today)),
            ],
            order="date_maturity, id",
        )
        lines.fetch(["partner_id", "move_id", "date", "date_maturity"])
        lines.fetch(["amount_residual", "amount_residual_currency", "currency_id"])
        lines.partner_id.fetch(["commercial_partner_id"])
        lines.move_id.fetch(["name", "invoice_date", "move_type"])
        items_of = {partner.id: self.browse() for partner in partners}
        for line in lines:
            partner_id = line.partner_id.commercial_partner_id.id
            if line.date_maturity <= horizons[partner_id]:
                items_of[partner_id] |= line
        return items_of

    def _followup_mark(self, level, date):
        """Record on the items the level that chased them and when.

        Written in SQL: the ORM's write of journal items runs the accounting
        synchronisation of their entries (balance, taxes, lock dates) for each of
        them, all pointless for these two bookkeeping fields.
        """
        if not self:
            return
        self.flush_recordset(["followup_level_id", "followup_date"])
        self.env.cr.execute(
            SQL(
                "UPDATE account_move_line SET followup_level_id = %s, followup_date = %s "
                "WHERE id = ANY(%s)",
                level.id,
                date,
                self.ids,
            )
        )
        self.invalidate_recordset(["followup_level_id", "followup_date"])

    def _followup_totals(self):
        """[(currency, open amount)] of the items, per currency, by currency name."""
        totals = {}
        for line in self:
            totals.setdefault(line.currency_id, 0.0)
            totals[line.currency_id] += line.amount_residual_currency
        return sorted(totals.items(), key=lambda item: item[0].name)

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _followup_exclude(self, reason):
        """Leave the items out of follow-ups (disputed, in litigation) for a reason."""
        if not (reason or "").strip():
            raise ValidationError(
                self.env._("Exclusion Reason: say why these items are not followed up.")
            )
        self.write({"followup_excluded": True, "followup_exclusion_reason": reason})

    def _followup_log_exclusion(self):
        """Log on the invoices and their customers that items were left out of
        follow-ups, or followed up again."""
        for move in self.move_id:
            lines = self.filtered(lambda line, move=move: line.move_id == move)
            excluded = lines.filtered("followup_excluded")
            if excluded:
                body = self.env._(
                    "Excluded from follow-ups: %(reason)s",
                    reason=excluded[0].followup_exclusion_reason or "",
                )
            else:
                body = self.env._("Followed up again.")
            move.message_post(body=body, subtype_xmlid="mail.mt_note")
            partner = move.commercial_partner_id or lines.partner_id.commercial_partner_id[:1]
            if partner:
                body = self.env._(
                    "%(document)s: %(change)s", document=move.display_name, change=body
                )
                # The customer's follow-up log is kept also by those who cannot edit it.
                partner.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")
