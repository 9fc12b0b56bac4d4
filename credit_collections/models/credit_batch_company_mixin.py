import logging

from odoo import api, models, tools

from .credit_batch_mixin import CONCURRENCY_ERRORS

_logger = logging.getLogger(__name__)


class CreditBatchCompanyMixin(models.AbstractModel):
    """credit.batch.mixin for a job that goes through every company: its records
    are company-bound (a customer's follow-up or review is per company), so a
    batch holds records of one company at a time, handed over in that company
    (``batch.env.company``), and the cursor is the pair (company, last record id),
    kept in the runner's cursor parameter. A run goes through the active
    companies in id order; resuming after a crash restarts from the pair.

    A company whose setup breaks the job before any record is processed (reading
    its settings, choosing its records) is logged and passed: the other companies
    are done, and it is tried again at the next run.

    What a job defines, instead of ``_credit_batch_domain``:
    - ``_credit_batch_company_next(company, after, limit)`` -> the next records of
      company whose id is above after, in id order;
    - optional ``_credit_batch_company_start(company)``: what the run does once per
      company, before its first batch (in the same transaction as that batch).
    """

    _name = "credit.batch.company.mixin"
    _inherit = "credit.batch.mixin"
    _description = "Batch Runner of Scheduled Jobs over Every Company"

    def _credit_batch_company_next(self, company, after, limit):
        raise NotImplementedError

    def _credit_batch_company_start(self, company):
        """Once per company and run, before its first batch."""

    def _credit_batch_companies(self):
        # A system job: every company, whichever the companies of its user.
        return self.env["res.company"].sudo().browse(self._credit_batch_company_ids())

    @api.model
    @tools.ormcache()
    def _credit_batch_company_ids(self):
        # Asked twice a call: res.company empties the caches when a company is
        # created, archived or deleted, as for the companies of users.
        return tuple(self.env["res.company"].sudo().search([("active", "=", True)], order="id").ids)

    def _credit_batch_next(self, limit):
        company_id, after = self._credit_batch_position()
        for company in self._credit_batch_companies():
            if company.id < company_id:
                continue
            start = after if company.id == company_id else 0
            records = self._credit_batch_company_records(company, start, limit)
            if records:
                return records.with_company(company)
        return self.browse()

    def _credit_batch_company_records(self, company, after, limit):
        """The company's next records; none when its setup breaks the job."""
        if after:
            # A later batch of the company: its start went through, and what
            # chooses its records with it.
            return self._credit_batch_company_next(company, after, limit)
        try:
            with self.env.cr.savepoint():
                self._credit_batch_company_start(company)
                return self._credit_batch_company_next(company, after, limit)
        except CONCURRENCY_ERRORS:
            raise
        except Exception:
            self.env.invalidate_all()
            _logger.exception(
                "%s: company %s (id %s) skipped until the next run, the other companies go on",
                self._name,
                company.name,
                company.id,
            )
            return None

    def _credit_batch_remaining(self, batch, candidates, limit):
        if len(candidates) > limit:
            return 1
        if not batch:
            return 0
        # The next call goes on with the later companies (it may find nothing).
        company = batch.env.company
        return len(self._credit_batch_companies().filtered(lambda other: other.id > company.id))

    def _credit_batch_position(self):
        """(company id, last record id done) of the run in progress; (0, 0): none."""
        company_id, _sep, after = (self._credit_batch_cursor_value() or "0").partition(":")
        return int(company_id or 0), int(after or 0)

    def _credit_batch_cursor(self):
        return self._credit_batch_position()[1]

    def _credit_batch_advance(self, batch, remaining):
        cursor = f"{batch.env.company.id}:{batch[-1].id}" if batch and remaining else "0"
        self._credit_batch_set_cursor_value(cursor)
