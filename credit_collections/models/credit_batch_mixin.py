import logging

from markupsafe import escape
from psycopg2 import errors

from odoo import api, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Namespace of the advisory locks taken per commercial customer (first key of
# pg_try_advisory_xact_lock(key, partner id)): "CCCU".
CUSTOMER_LOCK_KEY = 0x43434355

# Errors of a concurrent transaction: never swallowed by a batch, the whole call
# is retried (by Odoo's RPC layer or by the scheduler's next call).
CONCURRENCY_ERRORS = (errors.SerializationFailure, errors.DeadlockDetected)


class CreditBatchMixin(models.AbstractModel):
    """One owner for "run a scheduled job in batches", and for customer locks.

    A job inherits this mixin and defines what a batch is and what processing a
    batch means; the runner (``_credit_batch_run``) takes the next batch, hands it
    to ``_credit_batch_dispatch`` which processes it in a savepoint, falls back to
    one record at a time when the batch fails, logs each failure on its record and
    reports ``ir.cron._notify_progress``. Odoo's scheduler commits after each call
    and calls again while something is left: the runner never commits itself, so a
    test or a shell script keeps its transaction.

    Resuming after a crash: the next batch is derived from the records' state
    (override ``_credit_batch_next``) or, by default, from a cursor (the last id
    done) the runner keeps per job in ``ir.config_parameter``; what is done is not
    done again. A record that failed is passed by the cursor and taken again at the
    next run.

    A queue bridge hands each batch to a job by overriding ``_credit_batch_dispatch``
    alone (call ``_credit_batch_process_safely(batch)`` inside the job).
    """

    _name = "credit.batch.mixin"
    _description = "Batch Runner of Scheduled Jobs"

    # Records per call of the scheduled action.
    _credit_batch_size = 100

    # ------------------------------------------------------------------
    # What a job defines
    # ------------------------------------------------------------------

    def _credit_batch_domain(self):
        """Domain of the records the job works on (default runner only)."""
        return []

    def _credit_batch_process(self, records):
        """Process one batch (all or nothing: it runs in a savepoint)."""
        raise NotImplementedError

    def _credit_batch_job_key(self):
        """Name of the job's cursor; override when a model runs several jobs."""
        return self._name

    # ------------------------------------------------------------------
    # Runner
    # ------------------------------------------------------------------

    @api.model
    def _credit_batch_run(self, limit=None):
        """Run the next batch of the job and report the progress.

        :return: (records done, number of records left)
        """
        limit = limit or self._credit_batch_size
        # Read once per call: the batch and the cursor's move compare with it.
        job = self.with_context(credit_batch_cursor_value=self._credit_batch_cursor_value())
        candidates = job._credit_batch_next(limit + 1)
        batch = candidates[:limit]
        if batch:
            job._credit_batch_dispatch(batch)
        remaining = job._credit_batch_remaining(batch, candidates, limit)
        job._credit_batch_advance(batch, remaining)
        self.env["ir.cron"]._notify_progress(done=len(batch), remaining=remaining)
        return batch, remaining

    def _credit_batch_next(self, limit):
        """The next records to process, in id order, after the job's cursor.
        Override to derive the batch from the records' state instead (then
        override ``_credit_batch_advance`` to do nothing)."""
        domain = [*self._credit_batch_domain(), ("id", ">", self._credit_batch_cursor())]
        return self.search(domain, order="id", limit=limit)

    def _credit_batch_remaining(self, batch, candidates, limit):
        """How many are left after this batch (1 meaning "some", as Odoo's
        scheduler only needs to know whether to call again)."""
        return int(len(candidates) > limit)

    def _credit_batch_dispatch(self, batch):
        """Hand a batch to its processing: here, now. The one method a queue
        bridge overrides to run each batch as a job."""
        return self._credit_batch_process_safely(batch)

    def _credit_batch_process_safely(self, batch):
        """Process the batch in a savepoint; when it fails, each record alone, so
        that a failure is logged on its record and the others go on.

        :return: the records that failed
        """
        try:
            with self.env.cr.savepoint():
                self._credit_batch_process(batch)
            return batch.browse()
        except CONCURRENCY_ERRORS:
            raise
        except Exception as error:
            self.env.invalidate_all()
            if len(batch) == 1:
                self._credit_batch_log_failure(batch, error)
                return batch
            _logger.info(
                "%s: batch of %s records failed, done one by one: %s", self._name, len(batch), error
            )
            failed = batch.browse()
            for record in batch:
                failed |= self._credit_batch_process_safely(record)
            return failed

    def _credit_batch_log_failure(self, record, error):
        """Log the failure on the record's chatter (or the server log)."""
        _logger.warning("%s: processing %s failed", self._name, record, exc_info=error)
        if hasattr(record, "message_post"):
            body = self.env._(
                "The scheduled run could not process this record: %(error)s",
                error=str(error),
            )
            # The scheduler's user may not be a follower nor allowed to post on the
            # record: the log is the system's.
            record.sudo().message_post(body=escape(body), message_type="comment")

    # ------------------------------------------------------------------
    # Cursor (default runner)
    # ------------------------------------------------------------------

    def _credit_batch_cursor_param(self):
        return f"credit_collections.batch_cursor.{self._credit_batch_job_key()}"

    # The cursor parameter is read and written in SQL: ir.config_parameter's
    # write empties every cache of the registry, in every worker, which then
    # costs about 30 queries to fill again at each call of a job (measured on the
    # follow-up run). Only the runner reads these parameters.

    def _credit_batch_cursor_value(self):
        """The job's cursor parameter as stored ("" when none)."""
        if "credit_batch_cursor_value" in self.env.context:
            return self.env.context["credit_batch_cursor_value"]
        self.env["ir.config_parameter"].flush_model(["key", "value"])
        rows = self.env.execute_query(
            SQL(
                "SELECT value FROM ir_config_parameter WHERE key = %s",
                self._credit_batch_cursor_param(),
            )
        )
        return (rows and rows[0][0]) or ""

    def _credit_batch_set_cursor_value(self, value):
        """Store the job's cursor parameter (no write when it does not change)."""
        if self.env.context.get("credit_batch_cursor_value") == value:
            return
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO ir_config_parameter
                       (key, value, create_uid, create_date, write_uid, write_date)
                VALUES (%(key)s, %(value)s, %(uid)s, NOW() AT TIME ZONE 'UTC',
                        %(uid)s, NOW() AT TIME ZONE 'UTC')
                    ON CONFLICT (key) DO UPDATE
                   SET value = EXCLUDED.value, write_uid = EXCLUDED.write_uid,
                       write_date = EXCLUDED.write_date
                 WHERE ir_config_parameter.value IS DISTINCT FROM EXCLUDED.value
                """,
                key=self._credit_batch_cursor_param(),
                value=value,
                uid=self.env.uid,
            )
        )
        self.env["ir.config_parameter"].invalidate_model(["value"])

    def _credit_batch_cursor(self):
        return int(self._credit_batch_cursor_value() or 0)

    def _credit_batch_advance(self, batch, remaining):
        """Move the cursor past the batch, or back to the start when the run ends."""
        self._credit_batch_set_cursor_value(str(batch[-1].id if batch and remaining else 0))

    # ------------------------------------------------------------------
    # Customer locks
    # ------------------------------------------------------------------

    @api.model
    def _credit_try_lock_customers(self, partners, key=CUSTOMER_LOCK_KEY):
        """Lock the commercial customers no concurrent transaction holds, until the
        end of this transaction, without waiting.

        :param key: namespace of the lock (one per kind of work)
        :return: the commercial partners locked (the others are being done)
        """
        commercial = partners.commercial_partner_id
        if not commercial:
            return commercial
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM unnest(%s::int[]) AS id "
                "WHERE pg_try_advisory_xact_lock(%s, id) ORDER BY id",
                sorted(commercial.ids),
                key,
            )
        )
        return commercial.browse([row[0] for row in rows])

    @api.model
    def _credit_lock_customers(self, partners):
        """Serialize credit decisions per commercial customer, waiting.

        Two transactions deciding for the same customer would each see an exposure
        without the other's decision. Writing the customer's lock row makes the
        second wait for the first and then fail with a serialization error (its
        snapshot is older than the first's commit), which Odoo retries with a
        fresh snapshot. An advisory lock would make it wait but then decide on its
        stale snapshot: only a row gives this guarantee. The table is created by
        credit.exposure.init.
        """
        commercial = partners.commercial_partner_id
        if commercial:
            self.env.cr.execute(
                SQL(
                    """
                    INSERT INTO credit_collections_partner_lock (partner_id)
                    SELECT id FROM unnest(%s::int[]) AS id ORDER BY id
                        ON CONFLICT (partner_id) DO UPDATE SET partner_id = EXCLUDED.partner_id
                    """,
                    commercial.ids,
                )
            )
        return commercial
