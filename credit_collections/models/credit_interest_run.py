import logging
from datetime import date, timedelta

from markupsafe import Markup, escape
from psycopg2 import errors

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL, format_amount, format_date, mute_logger

from .credit_guarded_mixin import SYSTEM

RUN_STATES = [
    ("draft", "Preview"),
    ("done", "Invoiced"),
]
# Set by the run itself (a preview, its invoicing, the scheduled action), never
# by hand: writing them would close a run without invoicing it, or reopen one.
RUN_SYSTEM_FIELDS = {
    "state",
    "invoice_ids",
    "scheduled",
    "cursor_partner_id",
    "user_id",
    "stop_reason",
    "stopped_date",
    "name",
}
DAY_COUNTS = {"actual_365": 365, "actual_360": 360}
# Customers charged per call of the scheduled action.
BATCH_SIZE = 100
# First key of the transaction-level lock an interest run holds on its company
# while it invoices: "CCIN".
INTEREST_LOCK_KEY = 0x4343494E

# What a second run meets when another one charged the same days first.
CONCURRENT_ERRORS = (errors.UniqueViolation, errors.SerializationFailure)

_logger = logging.getLogger(__name__)


class CreditInterestRun(models.Model):
    """Late interest of a company up to a date: computed as a preview (accruals
    per customer and item), then invoiced, one invoice per customer and currency."""

    _name = "credit.interest.run"
    _inherit = ["mail.thread", "mail.activity.mixin", "credit.guarded.mixin"]
    _description = "Late Interest Run"
    _order = "date desc, id desc"
    _check_company_auto = True

    name = fields.Char(compute="_compute_name", store=True)
    date = fields.Date(
        required=True, default=fields.Date.context_today, help="Interest is charged up to this day."
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(selection=RUN_STATES, default="draft", required=True, tracking=True)
    user_id = fields.Many2one(
        "res.users", string="Run By", default=lambda self: self.env.user, readonly=True, copy=False
    )
    accrual_ids = fields.One2many("credit.interest.accrual", "run_id", string="Charges")
    invoice_ids = fields.Many2many(
        "account.move",
        "credit_interest_run_invoice_rel",
        "run_id",
        "move_id",
        string="Invoices",
        readonly=True,
        copy=False,
        check_company=True,
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    scheduled = fields.Boolean(
        readonly=True,
        copy=False,
        help="Run by the scheduled action, a batch of customers per call.",
    )
    cursor_partner_id = fields.Integer(
        readonly=True, copy=False, help="Last customer charged by a scheduled run in progress."
    )
    stop_reason = fields.Text(
        readonly=True, help="Why the run stopped before charging anything (a rate missing)."
    )
    stopped_date = fields.Date(readonly=True)

    def init(self):
        # One scheduled run per company and month, even when two scheduled
        # actions start at the same moment: the second one's insert is refused.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS credit_interest_run_scheduled_month
                    ON credit_interest_run (company_id, date_trunc('month', date::timestamp))
                 WHERE scheduled
                """
            )
        )

    @api.depends("date")
    def _compute_name(self):
        for run in self:
            run.name = self.env._("Late interest to %(date)s", date=format_date(self.env, run.date))

    @api.constrains("date", "company_id")
    def _check_date(self):
        today = fields.Date.context_today(self)
        for run in self:
            if run.date > today:
                raise ValidationError(self.env._("Date: a run cannot be dated in the future."))
            later = self.search_count(
                [
                    ("company_id", "=", run.company_id.id),
                    ("state", "=", "done"),
                    ("date", ">", run.date),
                    ("id", "!=", run.id),
                ],
                limit=1,
            )
            if later:
                raise ValidationError(
                    self.env._("Date: a run cannot be dated before the last invoiced run.")
                )

    def write(self, vals):
        if not self.env.su:
            if any(run.state != "draft" for run in self):
                raise UserError(self.env._("This run is already invoiced: it cannot be changed."))
        return super().write(vals)

    def _credit_guarded_fields(self):
        return dict.fromkeys(RUN_SYSTEM_FIELDS, SYSTEM)

    def _credit_free_fields(self):
        # What a credit manager sets on a preview; accrual_ids are the run's own
        # records, guarded by credit.interest.accrual.
        return {"date", "company_id", "accrual_ids"}

    def _credit_guard_hint(self):
        return self.env._("Use Compute Preview and Create Invoices.")

    @api.ondelete(at_uninstall=False)
    def _unlink_except_done(self):
        if any(run.state == "done" for run in self):
            raise UserError(
                self.env._("An invoiced run is kept: cancel its invoices to charge again.")
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_compute(self):
        """Compute the preview: what the run would charge, nothing invoiced."""
        self._check_can_run()
        for run in self:
            run._check_draft()
            run.company_id._credit_interest_check_settings()
            # Charges are the run's record (read-only for users): replaced as a whole.
            run.accrual_ids.sudo().unlink()
            if run._stop_if_rate_missing():
                continue
            run.env["credit.interest.accrual"].sudo().create(run._prepare_accrual_vals_list())

    def action_invoice(self):
        """Invoice the preview, computed anew, one invoice per customer and
        currency, and close the run."""
        self._check_can_run()
        for run in self:
            run._check_draft()
            run._lock_company()
            run.action_compute()
            if run.stop_reason:
                continue
            try:
                with self.env.cr.savepoint():
                    run._invoice_accruals()
            except CONCURRENT_ERRORS as error:
                raise UserError(
                    self.env._(
                        "Another run charged some of these items at the same moment. Compute "
                        "the preview again: it leaves out what is charged."
                    )
                ) from error
            # The run's own outcome (see RUN_SYSTEM_FIELDS).
            run.sudo().state = "done"

    def _check_can_run(self):
        """The run records charges and invoices with elevated rights: only who
        may change the run itself (a credit manager of its company) runs it."""
        self.check_access("write")

    def _stop_for_settings(self, error):
        """Stop today's run of a company whose settings are incomplete, saying
        what to fill in; the scheduled action tries again tomorrow."""
        reason = str(error.args[0]) if error.args else str(error)
        today = fields.Date.context_today(self)
        # The run's own outcome (see RUN_SYSTEM_FIELDS).
        run = self.sudo()
        if run.stop_reason != reason or run.stopped_date != today:
            run.write({"stop_reason": reason, "stopped_date": today})
            run.message_post(body=reason, subtype_xmlid="mail.mt_note")
        _logger.warning("Late interest run of %s stopped: %s", run.company_id.name, reason)

    def _stop_if_rate_missing(self):
        """Stop the run when its company's reference has no rate for a half-year
        it charges, rather than charge it at an older rate: say why on the run
        and ask a credit manager to add the rate. :return: whether it stopped"""
        self.ensure_one()
        company = self.company_id
        missing = company._credit_interest_missing_rate(self.date)
        # The run's own outcome (see RUN_SYSTEM_FIELDS).
        run = self.sudo()
        if not missing:
            if run.stop_reason:
                run.write({"stop_reason": False, "stopped_date": False})
            return False
        labels = dict(company._fields["credit_interest_reference"]._description_selection(self.env))
        reason = self.env._(
            "Nothing was charged: the reference rate %(reference)s has no rate for the "
            "half-year from %(date)s. Add it in Credit & Collections > Configuration > "
            "Reference Rates, then compute the run again (the scheduled action retries "
            "daily).",
            reference=labels[company.credit_interest_reference],
            date=format_date(self.env, missing),
        )
        today = fields.Date.context_today(self)
        if run.stop_reason != reason or run.stopped_date != today:
            run.write({"stop_reason": reason, "stopped_date": today})
            run.message_post(body=reason, subtype_xmlid="mail.mt_note")
        if not run.activity_ids.filtered(
            lambda activity: (
                activity.activity_type_id
                == self.env.ref("credit_collections.mail_activity_interest_rate_missing")
            )
        ):
            for user in self.env["credit.approval.request"]._credit_approvers(company):
                run.activity_schedule(
                    "credit_collections.mail_activity_interest_rate_missing",
                    user_id=user.id,
                    note=reason,
                )
        return True

    def _lock_company(self):
        # One run invoices a company at a time; a second one waits, then finds
        # the days charged (or, working on what it read before, is refused by
        # the accruals' unique index).
        self.env.cr.execute(
            SQL("SELECT pg_advisory_xact_lock(%s, %s)", INTEREST_LOCK_KEY, self.company_id.id)
        )

    def _check_draft(self):
        if self.state != "draft":
            raise UserError(self.env._("This run is already invoiced."))

    # ------------------------------------------------------------------
    # Computation
    # ------------------------------------------------------------------

    def _prepare_accrual_vals_list(self, partners=None):
        """Accruals of the customers (all those of the company by default) up to
        the run's date."""
        self.ensure_one()
        company = self.company_id
        items, last_charged = self._get_interest_items(partners)
        items = items.filtered(
            lambda line: (
                not line.partner_id.commercial_partner_id.with_company(
                    company
                ).credit_interest_exempt
            )
        )
        rates = self.env["credit.interest.rate"]._get_item_rate_tables(company, items)
        items = items.filtered(lambda line: rates[line.id] is not None)
        payments = self._get_payments(items)
        vals_list = []
        for line in items:
            partner = line.partner_id.commercial_partner_id
            start = max(
                line.date_maturity + timedelta(days=company.credit_interest_grace_days + 1),
                last_charged.get(line.id, date.min) + timedelta(days=1),
            )
            for period in _interest_periods(
                start,
                self.date,
                abs(line.amount_currency),
                payments.get(line.id, []),
                rates[line.id],
                company.credit_interest_day_count,
            ):
                vals_list.append(
                    dict(
                        period,
                        run_id=self.id,
                        kind="interest",
                        move_line_id=line.id,
                        partner_id=partner.id,
                        currency_id=line.currency_id.id,
                        amount=line.currency_id.round(period["amount"]),
                    )
                )
        vals_list = self._apply_minimum(vals_list)
        return vals_list + self._prepare_compensation_vals_list(items)

    def _interest_items_sql(self, select, partners=None, after=0):
        """The receivable items owing interest up to the run's date: overdue past
        the grace days with days not yet charged, open or paid late since, and
        not covered by the customer's open credits (see
        account.move.line._netted_receivable_sql); of the given commercial
        partners, else of those after `after`."""
        company = self.company_id
        grace = company.credit_interest_grace_days
        self.env["account.move.line"].flush_model()
        self.env["account.move"].flush_model(["credit_charge_type"])
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["credit.interest.accrual"].flush_model()
        customers = SQL(
            "partner.commercial_partner_id > %s "
            "AND (%s OR partner.commercial_partner_id = ANY(%s))",
            after,
            partners is None,
            partners.ids if partners is not None else [],
        )
        return SQL(
            """
            SELECT %(select)s
              FROM account_move_line line
              JOIN account_account account ON account.id = line.account_id
              JOIN account_move move ON move.id = line.move_id
              JOIN res_partner partner ON partner.id = line.partner_id
              LEFT JOIN LATERAL (
                    SELECT GREATEST(MAX(accrual.date_to), MAX(moved.date)) AS date_to
                      FROM (SELECT 1) one
                      LEFT JOIN credit_interest_accrual accrual
                             ON accrual.move_line_id = line.id
                            AND accrual.kind = 'interest' AND accrual.state = 'invoiced'
                      LEFT JOIN account_move moved
                             ON moved.id = line.move_id
                            AND (%(moved_in)s)
              ) charged ON TRUE
             WHERE line.company_id = %(company)s
               AND account.account_type = 'asset_receivable'
               AND line.parent_state = 'posted'
               AND line.balance > 0
               AND NOT COALESCE(line.followup_excluded, FALSE)
               AND (%(on_interest)s OR move.credit_charge_type IS DISTINCT FROM 'interest')
               AND line.date_maturity + %(grace)s < %(date)s
               AND GREATEST(charged.date_to, line.date_maturity + %(grace)s) < %(date)s
               AND (NOT line.reconciled OR EXISTS (
                    SELECT 1
                      FROM account_partial_reconcile partial
                      JOIN account_move_line payment ON payment.id = partial.credit_move_id
                     WHERE partial.debit_move_id = line.id
                       AND payment.date
                           > GREATEST(charged.date_to, line.date_maturity + %(grace)s)
               ))
               AND NOT (%(reversed)s)
               AND partner.commercial_partner_id > %(after)s
               AND (%(all)s OR partner.commercial_partner_id = ANY(%(partners)s))
               AND line.id NOT IN (
                    SELECT id FROM (%(netted)s) netting WHERE netting.net_residual <= 0)
            """,
            select=select,
            moved_in=self._moved_in_sql(),
            reversed=self._reversed_entry_sql(),
            company=company.id,
            on_interest=company.credit_interest_on_interest,
            grace=grace,
            date=self.date,
            after=after,
            all=partners is None,
            partners=partners.ids if partners is not None else [],
            netted=self.env["account.move.line"]._netted_receivable_sql(company, customers),
        )

    def _moved_in_sql(self):
        """Whether the entry `moved` of the item `line` moved an amount owed on
        other receivable items into it (an installment plan's entry, its
        cancellation, the reversal of either, a transfer of debt): it credits
        receivable items too. Those items bore the interest up to the entry's
        date, the day it settled them; the item it created bears it from the
        next day only, whatever its due date (a restored item keeps the
        original one). So a day of an amount is charged once, on the item that
        held it that day, whatever entries it moved through."""
        return SQL(
            """
            moved.move_type = 'entry' AND EXISTS (
                SELECT 1
                  FROM account_move_line settling
                  JOIN account_account settling_account
                    ON settling_account.id = settling.account_id
                 WHERE settling.move_id = moved.id
                   AND settling_account.account_type = 'asset_receivable'
                   AND settling.balance < 0
            )
            """
        )

    def _reversed_entry_sql(self):
        """Whether the item `line` belongs to an entry reversed since (a plan's
        entry or its cancellation undone by Odoo's Reverse): the reversal puts
        the amounts back on the items the entry had settled, which bear the
        interest again from their own last day charged; the entry's own items
        never held the amount and bear no more. A credit note is not such a
        reversal: an invoice was owed until it, and its days stay due."""
        return SQL(
            """
            move.move_type = 'entry' AND EXISTS (
                SELECT 1
                  FROM account_move reversal
                 WHERE reversal.reversed_entry_id = move.id
                   AND reversal.state = 'posted'
            )
            """
        )

    def _get_interest_items(self, partners=None):
        """:return: (account.move.line, {item id: last day charged, or last day
        its amount was owed on other items (see _moved_in_sql)})"""
        rows = self.env.execute_query(
            SQL(
                "%s ORDER BY line.id",
                self._interest_items_sql(SQL("line.id, charged.date_to"), partners),
            )
        )
        items = self.env["account.move.line"].browse([row[0] for row in rows])
        items.fetch(["partner_id", "move_id", "date_maturity", "amount_currency", "currency_id"])
        items.move_id.fetch(["invoice_payment_term_id", "move_type", "credit_charge_type"])
        return items, {row[0]: row[1] for row in rows if row[1]}

    def _get_interest_partner_ids(self, after, limit):
        """Commercial partners owing interest, after `after`, by id."""
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM (%s) owing ORDER BY id LIMIT %s",
                self._interest_items_sql(
                    SQL("DISTINCT partner.commercial_partner_id AS id"), after=after
                ),
                limit,
            )
        )
        return [row[0] for row in rows]

    def _get_payments(self, items):
        """{item id: [(date, amount in the item's currency)]} of what was matched
        with each item, at the date of the payment or credit note."""
        partials = self.env["account.partial.reconcile"].search_fetch(
            [("debit_move_id", "in", items.ids)],
            ["debit_move_id", "credit_move_id", "debit_amount_currency"],
        )
        partials.credit_move_id.fetch(["date"])
        payments = {}
        for partial in partials:
            payments.setdefault(partial.debit_move_id.id, []).append(
                (partial.credit_move_id.date, partial.debit_amount_currency)
            )
        # What the customer's open credits cover of an item counts as paid on its
        # due date: interest runs on what is left.
        net = items._get_net_residuals()
        for line in items:
            covered = line.currency_id.round(line.amount_residual_currency - net[line.id])
            if not line.currency_id.is_zero(covered):
                payments.setdefault(line.id, []).append((line.date_maturity, covered))
        return payments

    def _apply_minimum(self, vals_list):
        """Leave out the customers whose interest is below the company's minimum:
        their days stay uncharged for the next run."""
        company = self.company_id
        minimum = company.credit_interest_min_amount
        if not minimum:
            return vals_list
        currencies = self.env["res.currency"].browse({vals["currency_id"] for vals in vals_list})
        to_company = {
            currency.id: currency._get_conversion_rate(
                currency, company.currency_id, company, self.date
            )
            for currency in currencies
        }
        totals = {}
        for vals in vals_list:
            totals.setdefault(vals["partner_id"], 0.0)
            totals[vals["partner_id"]] += vals["amount"] * to_company[vals["currency_id"]]
        return [vals for vals in vals_list if totals[vals["partner_id"]] >= minimum]

    def _prepare_compensation_vals_list(self, items):
        """The fixed compensation, once per late invoice."""
        company = self.company_id
        Bands = self.env["credit.interest.compensation"]
        bands = Bands._get_bands(company)
        if not company.credit_interest_compensation_amount and not bands:
            return []
        invoices = items.move_id.filtered(
            lambda move: move.move_type == "out_invoice" and not move.credit_charge_type
        )
        compensated = set(
            self.env["credit.interest.accrual"]
            .search([("move_id", "in", invoices.ids), ("kind", "=", "compensation")])
            .filtered(lambda accrual: accrual.state == "invoiced")
            .move_id.ids
        )
        source_currency = company.credit_interest_compensation_currency_id or company.currency_id
        first_item_of = {}
        for item in items:
            first_item_of.setdefault(item.move_id.id, item)
        vals_list = []
        for invoice in invoices:
            partner = invoice.commercial_partner_id
            if invoice.id in compensated or (
                company.credit_interest_compensation_companies_only and not partner.is_company
            ):
                continue
            line = first_item_of[invoice.id]
            # By the size of the debt (the invoice, in the compensation currency).
            amount = Bands._get_amount(
                company,
                invoice.currency_id._convert(
                    invoice.amount_total,
                    source_currency,
                    company,
                    invoice.invoice_date or self.date,
                ),
                bands=bands,
            )
            if not amount:
                continue
            vals_list.append(
                {
                    "run_id": self.id,
                    "kind": "compensation",
                    "move_line_id": line.id,
                    "partner_id": partner.id,
                    "date_from": self.date,
                    "date_to": self.date,
                    "days": 0,
                    "currency_id": invoice.currency_id.id,
                    "amount": source_currency._convert(
                        amount, invoice.currency_id, company, self.date
                    ),
                }
            )
        return vals_list

    # ------------------------------------------------------------------
    # Invoicing
    # ------------------------------------------------------------------

    def _invoice_accruals(self, accruals=None):
        company = self.company_id
        accruals = self.accrual_ids if accruals is None else accruals
        products = {
            "interest": company.credit_interest_product_id,
            "compensation": company.credit_interest_compensation_product_id,
        }
        groups = accruals.grouped(lambda accrual: (accrual.partner_id, accrual.currency_id))
        keys = list(groups)
        invoices = (
            self.env["account.move"]
            .with_company(company)
            ._credit_create_charge_invoices(
                "interest",
                [
                    self._prepare_invoice_vals(
                        partner, currency, groups[partner, currency], products
                    )
                    for partner, currency in keys
                ],
                post=company.credit_interest_auto_post,
            )
        )
        for key, invoice in zip(keys, invoices, strict=True):
            lines = invoice.invoice_line_ids.sorted("id")
            for accrual, line in zip(groups[key], lines, strict=True):
                # Charges are the run's record (read-only for users).
                accrual.sudo().invoice_line_id = line
        # The run's own record of what it invoiced (see RUN_SYSTEM_FIELDS).
        self.sudo().invoice_ids |= invoices
        self._log_on_invoices(groups, keys, invoices)

    def _log_on_invoices(self, groups, keys, invoices):
        """Say in each chatter what was charged for what: on the interest invoice
        its sources, on each source what it was charged, in one batch each."""
        bodies = {}
        for key, invoice in zip(keys, invoices, strict=True):
            accruals = groups[key]
            bodies[invoice.id] = Markup(
                escape(self.env._("Late interest and compensation for %(sources)s."))
            ) % {"sources": Markup(", ").join(move._get_html_link() for move in accruals.move_id)}
            for source in accruals.move_id:
                amount = sum(
                    accruals.filtered(lambda a, source=source: a.move_id == source).mapped("amount")
                )
                bodies[source.id] = Markup(
                    escape(self.env._("Late interest charged in %(invoice)s: %(amount)s."))
                ) % {
                    "invoice": invoice._get_html_link(),
                    "amount": format_amount(self.env, amount, invoice.currency_id),
                }
        self.env["account.move"].browse(bodies)._message_log_batch(bodies=bodies)
        partner_bodies = {}
        for key, invoice in zip(keys, invoices, strict=True):
            partner_bodies.setdefault(key[0].id, []).append(
                Markup(
                    escape(
                        self.env._(
                            "Late interest and compensation invoiced in %(invoice)s: %(amount)s."
                        )
                    )
                )
                % {
                    "invoice": invoice._get_html_link(),
                    "amount": format_amount(self.env, invoice.amount_total, invoice.currency_id),
                }
            )
        self.env["res.partner"].browse(partner_bodies)._message_log_batch(
            bodies={
                partner_id: Markup("<br/>").join(lines)
                for partner_id, lines in partner_bodies.items()
            }
        )

    def _prepare_invoice_vals(self, partner, currency, accruals, products):
        sources = accruals.move_id
        references = {"credit_interest_source_ids": [fields.Command.set(sources.ids)]}
        # Odoo's debit-note link, where its module is installed, names one origin.
        if "debit_origin_id" in self.env["account.move"]._fields and len(sources) == 1:
            references["debit_origin_id"] = sources.id
        if self.company_id.credit_interest_journal_id:
            references["journal_id"] = self.company_id.credit_interest_journal_id.id
        return references | {
            "partner_id": partner.id,
            "company_id": self.company_id.id,
            "currency_id": currency.id,
            "invoice_date": self.date,
            "ref": self.env._("Late payment interest"),
            "invoice_origin": ", ".join(sorted(set(sources.mapped("name")))),
            "invoice_line_ids": [
                fields.Command.create(accrual._prepare_invoice_line_vals(products))
                for accrual in accruals
            ],
        }

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------

    def _process_batch(self, limit):
        """Charge and invoice the next customers of a scheduled run.

        :return: (customers done, whether some are left)
        """
        self.ensure_one()
        partner_ids = self._get_interest_partner_ids(self.cursor_partner_id, limit + 1)
        batch = self.env["res.partner"].browse(partner_ids[:limit])
        if batch:
            self._lock_company()
            self._charge_safely(batch)
            self.cursor_partner_id = batch[-1].id
        more = len(partner_ids) > limit
        if not more:
            self.state = "done"
        return len(batch), more

    def _charge_safely(self, partners):
        """Charge and invoice customers together, in a savepoint: when anything
        fails nothing of the batch is kept and each customer is charged again
        alone, so that a failing customer is logged on it and skipped (its days
        stay uncharged for the next run) and the others go on."""
        try:
            with self.env.cr.savepoint():
                # Charges are the run's record (read-only for users).
                accruals = (
                    self.env["credit.interest.accrual"]
                    .sudo()
                    .create(self._prepare_accrual_vals_list(partners))
                )
                self._invoice_accruals(accruals)
                return
        except Exception as error:
            self.env.invalidate_all()
            if isinstance(error, CONCURRENT_ERRORS):
                _logger.info(
                    "Late interest of partners %s charged by a concurrent run", partners.ids
                )
                return
            if len(partners) > 1:
                _logger.warning(
                    "Late interest of %s customers failed, charged one by one: %s",
                    len(partners),
                    error,
                )
                for partner in partners:
                    self._charge_safely(partner)
                return
            _logger.warning("Late interest of partner %s failed", partners.ids, exc_info=True)
            partners.message_post(
                body=self.env._(
                    "Late interest could not be charged by %(run)s: %(error)s. Nothing was "
                    "charged; the days wait for the next run.",
                    run=self.name,
                    error=str(error),
                ),
                message_type="notification",
                subtype_xmlid="mail.mt_note",
            )

    @api.model
    def _cron_accrue_late_interest(self, limit=BATCH_SIZE):
        """Charge the late interest of the next customers of the next company due
        this month, and report what is left: Odoo's scheduler calls again after
        a commit, until every due company has its run for the month."""
        today = fields.Date.context_today(self)
        # A system job: every company, whichever the companies of its user.
        self = self.sudo()
        companies = (
            self.env["res.company"]
            .search([("credit_interest_enabled", "=", True)], order="id")
            .filtered(lambda company: company.credit_interest_run_day <= today.day)
        )
        this_month = self.search(
            [
                ("company_id", "in", companies.ids),
                ("date", ">=", today.replace(day=1)),
                "|",
                ("state", "=", "done"),
                ("scheduled", "=", True),
            ]
        )
        done = this_month.filtered(lambda run: run.state == "done").company_id
        stopped = this_month.filtered(lambda run: run.stopped_date == today).company_id
        due = companies - done - stopped
        if not due:
            self.env["ir.cron"]._notify_progress(done=0, remaining=0)
            return
        company = due[0]
        run = this_month.filtered(lambda run: run.company_id == company)[:1]
        if not run:
            try:
                # The refused insert of a concurrent start is expected: not an error.
                with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                    run = self.with_company(company).create(
                        {"company_id": company.id, "date": today, "scheduled": True}
                    )
            except errors.UniqueViolation:
                # Another scheduled action started this company's run at the same
                # moment: it goes on with it; called again, this one sees it.
                _logger.info("Late interest run of %s started by another worker", company.name)
                self.env["ir.cron"]._notify_progress(done=0, remaining=len(due))
                return
        if run._stop_if_rate_missing():
            self.env["ir.cron"]._notify_progress(done=0, remaining=len(due) - 1)
            return
        try:
            # Inside the savepoint: a company whose settings are incomplete is
            # stopped, said on its run, and the later companies go on.
            with self.env.cr.savepoint():
                company._credit_interest_check_settings()
                count, more = run._process_batch(limit)
        except (errors.SerializationFailure, errors.DeadlockDetected):
            raise
        except ValidationError as error:
            self.env.invalidate_all()
            run._stop_for_settings(error)
            self.env["ir.cron"]._notify_progress(done=0, remaining=len(due) - 1)
            return
        self.env["ir.cron"]._notify_progress(done=count, remaining=int(more) + len(due) - 1)


def _interest_periods(start, end, amount, payments, rate_table, day_count):
    """Interest on one item from start to end, both included, one period per rate
    table entry: each day on the amount open at its start (payments lower it from
    the day after their date), at the rate in force that day.

    :param amount: amount of the item, in its currency
    :param payments: [(date, amount)] matched with the item
    :param rate_table: [(date_from, annual rate %)] by date
    :return: [{date_from, date_to, days, base_amount, rate, amount (not rounded)}]
    """
    if start > end:
        return []
    changes = {start, end + timedelta(days=1)}
    changes |= {paid_on + timedelta(days=1) for paid_on, _paid in payments}
    changes |= {date_from for date_from, _rate in rate_table}
    if day_count == "actual_actual":
        changes |= {date(year, 1, 1) for year in range(start.year, end.year + 2)}
    bounds = sorted(day for day in changes if start <= day <= end + timedelta(days=1))
    periods = {}
    for segment_start, next_start in zip(bounds[:-1], bounds[1:], strict=True):
        days = (next_start - segment_start).days
        base = amount - sum(paid for paid_on, paid in payments if paid_on < segment_start)
        entry = next(
            (entry for entry in reversed(rate_table) if entry[0] <= segment_start), (None, 0.0)
        )
        if base <= 0 or not entry[1]:
            continue
        year_days = DAY_COUNTS.get(day_count) or (366 if _is_leap(segment_start.year) else 365)
        period = periods.setdefault(
            entry[0],
            {
                "date_from": segment_start,
                "days": 0,
                "weighted": 0.0,
                "rate": entry[1],
                "amount": 0.0,
            },
        )
        period["date_to"] = next_start - timedelta(days=1)
        period["days"] += days
        period["weighted"] += base * days
        period["amount"] += base * entry[1] / 100 * days / year_days
    return [
        {
            "date_from": period["date_from"],
            "date_to": period["date_to"],
            "days": period["days"],
            "base_amount": period["weighted"] / period["days"],
            "rate": period["rate"],
            "amount": period["amount"],
        }
        for period in periods.values()
    ]


def _is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
