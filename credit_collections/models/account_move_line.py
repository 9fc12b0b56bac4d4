import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL

from .credit_guarded_mixin import SYSTEM

_logger = logging.getLogger(__name__)

# A collector's decision on an item: leave it out of follow-ups (disputed, in
# litigation) or follow it up again, and why.
FOLLOWUP_EXCLUSION_FIELDS = frozenset({"followup_excluded", "followup_exclusion_reason"})


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
        check_company=True,
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
        check_company=True,
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

    credit_document_label = fields.Char(
        string="Document",
        compute="_compute_credit_document_label",
        groups="base.group_user",
        help="The item's invoice, or for an installment of a plan which one of the plan.",
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
        exclusion = {name: vals[name] for name in FOLLOWUP_EXCLUSION_FIELDS if name in vals}
        if exclusion and not self.env.su:
            # Every path a user excludes items by (this write over RPC, the
            # invoice's fields, the exclusion wizard, the call log) ends here.
            others = {name: value for name, value in vals.items() if name not in exclusion}
            if others:
                super().write(others)
            return self._followup_write_exclusion(exclusion)
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
        from follow-ups is a collector's decision, which only
        _followup_write_exclusion records (who, which items, why)."""
        return {
            **super()._credit_guarded_fields(),
            "credit_installment_source_id": SYSTEM,
            "followup_level_id": SYSTEM,
            "followup_date": SYSTEM,
            "followup_excluded": SYSTEM,
            "followup_exclusion_reason": SYSTEM,
        }

    def _credit_guard_hint(self):
        return self.env._(
            "Exclude items with Exclude from Follow-ups (collectors); the follow-ups and "
            "installment plans record the rest themselves."
        )

    def _followup_write_exclusion(self, vals):
        """Exclude items from follow-ups or follow them up again, for a user: the
        one owner of the exclusion rule, which every path goes through.

        Only collectors decide it, only on receivable items they can read, and
        never without a reason (an item followed up again loses its reason).
        Collectors read journal items (Odoo's read-only accounting role) and may
        not edit them: once the rule is met, only the exclusion fields are
        written, as the system, and the change is logged on the invoices and
        their customers."""
        if not self.env.user.has_group("credit_collections.group_credit_user"):
            raise AccessError(
                self.env._(
                    "Only collectors can exclude items from follow-ups or follow them up "
                    "again. Ask a collector."
                )
            )
        self.check_access("read")
        others = self.filtered(lambda line: line.account_type != "asset_receivable")
        if others:
            raise ValidationError(
                self.env._(
                    "Only receivable items of customers can be excluded from follow-ups "
                    "(%(items)s is not one).",
                    items=others[0].display_name,
                )
            )
        vals = self._followup_check_exclusion_reason(vals)
        _logger.info(
            "Follow-up exclusion of items %s set to %s by user %s",
            self.ids,
            vals,
            self.env.uid,
        )
        # sudo: the exclusion fields only, checked above (see the docstring).
        return self.sudo().write(vals)

    def _followup_check_exclusion_reason(self, vals):
        """The values of an exclusion once its reason is judged: an excluded item
        has a reason, an item followed up has none.

        :return: the values to write
        """
        vals = dict(vals)
        if "followup_excluded" in vals and not vals["followup_excluded"]:
            vals["followup_exclusion_reason"] = False
        excluded = self.filtered(lambda line: vals.get("followup_excluded", line.followup_excluded))
        reasons = (
            [vals["followup_exclusion_reason"]]
            if "followup_exclusion_reason" in vals
            else excluded.mapped("followup_exclusion_reason")
        )
        if vals.get("followup_exclusion_reason") and self - excluded:
            raise ValidationError(
                self.env._(
                    "Exclusion Reason: %(item)s is followed up; exclude it from follow-ups "
                    "to give a reason.",
                    item=(self - excluded)[0].move_id.name or (self - excluded)[0].display_name,
                )
            )
        if excluded and not all((reason or "").strip() for reason in reasons):
            raise ValidationError(
                self.env._(
                    "Exclusion Reason: say why %(item)s is not followed up (disputed "
                    "quantity, litigation...).",
                    item=excluded[0].move_id.name or excluded[0].display_name,
                )
            )
        return vals

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

    @api.depends("move_id.name")
    @api.depends_context("lang")
    def _compute_credit_document_label(self):
        # The installments' labels come from their plan, in the reader's language
        # (the item's own label is the one written at activation): one read for all
        # the items shown.
        # (A follow-up's preview lists new records of saved items: _origin.)
        items = self.filtered("move_id.credit_installment_plan_id")._origin
        installments = {
            installment.move_line_id.id: installment
            # sudo: an installment's number and plan are what its item is called,
            # for whoever reads the item (the customer's own emails and letters).
            for installment in self.env["credit.installment.line"]
            .sudo()
            .search([("move_line_id", "in", items.ids)])
        }
        for line in self:
            installment = installments.get(line._origin.id)
            line.credit_document_label = (
                installment._get_label() if installment else line.move_id.name
            )

    def _get_followup_document_name(self):
        """What a statement, an email or the Follow-up tab calls the item: its
        invoice's number, or for an installment of a plan the installment's label
        (``credit.installment.line._get_label``: "Installment 2/6 of PLAN/2026/0001")."""
        self.ensure_one()
        return self.credit_document_label

    @api.model
    def _followup_figures(self, partners, company):
        """Oldest due date and overdue amount of the chased items of each
        commercial partner, in company currency, once its open credits are netted
        (see _netted_receivable_sql), and the overdue amount they cover."""
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner_id,
                       MIN(date_maturity) FILTER (WHERE net_residual > 0),
                       SUM(net_residual) FILTER (WHERE date_maturity < %(today)s),
                       SUM(netted) FILTER (WHERE date_maturity < %(today)s)
                  FROM (%(netted)s) netting
              GROUP BY partner_id
                """,
                today=fields.Date.context_today(self),
                netted=self._netted_receivable_sql(
                    company, SQL("partner.commercial_partner_id = ANY(%s)", partners.ids)
                ),
            )
        )
        return {
            pid: {
                "oldest_due": oldest,
                "overdue": overdue or 0.0,
                "overdue_covered": covered or 0.0,
            }
            for pid, oldest, overdue, covered in rows
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

    # ------------------------------------------------------------------
    # Installment plans
    # ------------------------------------------------------------------

    def _reconcile_plan(self, reconciliation_plan):
        result = super()._reconcile_plan(reconciliation_plan)
        self._credit_update_plans_after_reconcile(reconciliation_plan)
        return result

    def _credit_update_plans_after_reconcile(self, reconciliation_plan):
        """A payment or a credit note reconciled with installments may put their
        defaulted plan back on schedule at once. The plans' own entries
        (activation, cancellation) reconcile lines that clear an item: they
        change no plan's state here."""

        def flatten(plan):
            lines = self.browse()
            for element in plan:
                lines |= flatten(element) if isinstance(element, list) else element
            return lines

        installments = self.browse()
        for group in reconciliation_plan:
            # sudo: which lines are installments, whoever reconciles them.
            lines = (flatten(group) if isinstance(group, list) else group).sudo()
            if not lines.credit_installment_source_id:
                installments |= lines.filtered("move_id.credit_installment_plan_id")
        if installments:
            self.env["credit.installment.plan"]._update_after_payment(installments)
