import logging

from psycopg2 import errors

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import mute_logger

from .credit_batch_mixin import CONCURRENCY_ERRORS
from .credit_interest_run import INTEREST_LOCK_KEY

# Customers charged per call of the scheduled action.
BATCH_SIZE = 100
# The accruals' unique indexes (credit.interest.accrual.init): what refuses the
# charge of a run that read the items before a concurrent one charged them.
CHARGED_ONCE_INDEXES = {
    "credit_interest_accrual_day_once",
    "credit_interest_accrual_compensation_once",
}

_logger = logging.getLogger(__name__)


class CreditInterestRun(models.Model):
    """The scheduled action: one scheduled run per company and month, charged a
    batch of customers per call through credit.batch.mixin.

    The batch source is the run record itself (the runner's "derived from
    state" way): the next customers owing interest after the run's
    ``cursor_partner_id``, moved past each batch and closing the run after the
    last one. The run is unique per company and month, so a crash resumes from
    the last batch committed, a company never resumes from another one's
    cursor, and no configuration parameter is written per batch (writing one
    clears the registry cache of every worker).
    """

    _inherit = "credit.interest.run"

    _credit_batch_size = BATCH_SIZE

    @api.model
    def _cron_accrue_late_interest(self, limit=BATCH_SIZE):
        """Charge the late interest of the next customers of the next company due
        this month, and report what is left: Odoo's scheduler calls again after
        a commit, until every due company has its run for the month."""
        today = fields.Date.context_today(self)
        # A system job: every company, whichever the companies of its user.
        self = self.sudo()
        Cron = self.env["ir.cron"]
        due, this_month = self._get_due_companies(today)
        if not due:
            Cron._notify_progress(done=0, remaining=0)
            return
        company = due[0]
        run = this_month.filtered(lambda run: run.company_id == company)[:1]
        run = run or self._start_scheduled_run(company, today)
        if not run:
            # Started by another worker at the same moment: it goes on with it.
            Cron._notify_progress(done=0, remaining=len(due))
            return
        if not run._check_settings_for_batch():
            Cron._notify_progress(done=0, remaining=len(due) - 1)
            return
        batch, more = run._credit_batch_run(limit)
        # The runner reported this company's customers; the companies still due
        # come after.
        Cron._notify_progress(done=len(batch), remaining=more + len(due) - 1)

    @api.model
    def _get_due_companies(self, today):
        """:return: (companies due for this month's run, by id, none of them
        stopped today; this month's scheduled or invoiced runs)"""
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
        # A scheduled run closed with nothing to charge is the month's run too.
        done = this_month.filtered(
            lambda run: run.state == "done" or (run.scheduled and run.state == "nothing")
        ).company_id
        stopped = this_month.filtered(lambda run: run.stopped_date == today).company_id
        return companies - done - stopped, this_month

    @api.model
    def _start_scheduled_run(self, company, today):
        """This month's scheduled run of company, or none when another worker
        started it at the same moment (one scheduled run per company and month:
        the second insert is refused by the database)."""
        try:
            # The refused insert of a concurrent start is expected: not an error.
            with mute_logger("odoo.sql_db"), self.env.cr.savepoint():
                return self.with_company(company).create(
                    {"company_id": company.id, "date": today, "scheduled": True}
                )
        except errors.UniqueViolation:
            _logger.info("Late interest run of %s started by another worker", company.name)
            return self.browse()

    def _check_settings_for_batch(self):
        """Whether the run's company may be charged today: its settings complete
        and its reference rates known. Checked in a savepoint, so that a company
        set up wrong (whatever it raises) is stopped for the day with the reason
        on its run, and the later companies go on.

        :return: whether to charge
        """
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self.company_id._credit_interest_check_settings()
                return not self._stop_if_rate_missing()
        except CONCURRENCY_ERRORS:
            raise
        except Exception as error:
            # Whatever one company's setup raises stops that company alone.
            if not isinstance(error, UserError):
                _logger.warning(
                    "Late interest setup of %s failed", self.company_id.name, exc_info=error
                )
            self.env.invalidate_all()
            self._stop_for_settings(error)
            return False

    # ------------------------------------------------------------------
    # credit.batch.mixin
    # ------------------------------------------------------------------

    def _credit_batch_next(self, limit):
        """The next customers owing interest after the run's cursor, by id
        (commercial partners)."""
        self.ensure_one()
        return self.env["res.partner"].browse(
            self._get_interest_partner_ids(self.cursor_partner_id, limit)
        )

    def _credit_batch_advance(self, batch, remaining):
        """Move the run's cursor past the batch; after the last one, the run is
        invoiced, or closed saying why it had nothing to charge (see
        RUN_SYSTEM_FIELDS: the run's own state)."""
        if batch:
            self.cursor_partner_id = batch[-1].id
        if not remaining:
            if self.invoice_ids:
                self.state = "done"
            else:
                self._close_nothing_to_charge()

    def _credit_batch_process(self, records):
        """Charge and invoice the customers of a batch that no other run is
        charging at this moment (those are left to it)."""
        partners = self.env["credit.batch.mixin"]._credit_try_lock_customers(
            records, key=INTEREST_LOCK_KEY
        )
        if partners != records:
            _logger.info(
                "Late interest of partners %s left to a concurrent run", (records - partners).ids
            )
        if not partners:
            return
        # Charges are the run's record (read-only for users).
        accruals = (
            self.env["credit.interest.accrual"]
            .sudo()
            .create(self._prepare_accrual_vals_list(partners))
        )
        self._invoice_accruals(accruals)

    def _credit_batch_log_failure(self, record, error):
        """Say on the customer why it was not charged; its days wait for the next
        run. A customer a concurrent run charged first (refused by the accruals'
        unique index) is no failure."""
        if (
            isinstance(error, errors.UniqueViolation)
            and error.diag.constraint_name in CHARGED_ONCE_INDEXES
        ):
            _logger.info("Late interest of partner %s charged by a concurrent run", record.ids)
            return
        _logger.warning("Late interest of partner %s failed", record.ids, exc_info=error)
        record.message_post(
            body=self.env._(
                "Late interest could not be charged by %(run)s: %(error)s. Nothing was "
                "charged; the days wait for the next run.",
                run=self.name,
                error=str(error),
            ),
            message_type="notification",
            subtype_xmlid="mail.mt_note",
        )
