# Split from credit_followup_engine.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
import logging

from psycopg2 import errors

from odoo import api, models

_logger = logging.getLogger(__name__)

# Customers the scheduled action follows up per call; Odoo's scheduler calls it
# again, after a commit, while some are left.
BATCH_SIZE = 100


class CreditFollowupEngine(models.AbstractModel):
    """The follow-up run in batches (credit.batch.company.mixin) and the running
    of levels, by the run and by hand."""

    _name = "credit.followup.engine"
    _inherit = ["credit.followup.engine", "credit.batch.company.mixin"]

    _credit_batch_size = BATCH_SIZE

    # ------------------------------------------------------------------
    # Scheduled action: credit.batch.company.mixin
    # ------------------------------------------------------------------

    @api.model
    def _cron_run(self, limit=None):
        """Follow up the next batch of customers of the run in progress and report
        what is left: one company's customers per batch, every company in turn
        (credit.batch.company.mixin). Odoo's scheduler commits and calls again
        until the run is done; an interrupted run resumes after the last batch
        committed. A customer whose batch fails is done alone, and a failure is
        logged on its chatter and tried again at the next run.

        :return: (customers done, number left: 0 when the run is over)
        """
        # A system job: every company's customers, whoever runs it; the cursor
        # is the run's own.
        return self.sudo()._credit_batch_run(limit)

    def _credit_batch_company_start(self, company):
        # Promises whose date passed are broken before the statuses are read.
        self.env["credit.promise"]._update_promises(company)

    def _credit_batch_company_next(self, company, after, limit):
        ids = self._candidate_partner_ids(company, after=after, limit=limit)
        return self.env["res.partner"].browse(ids)

    def _credit_batch_process(self, records):
        self._run_batch(records, records.env.company)

    def _run_batch(self, partners, company):
        states = self._get_states(partners, company)
        partners = partners.commercial_partner_id.with_company(company)
        ended = partners.filtered(lambda partner: self._episode_ended(states[partner.id]))
        if ended:
            self._end_episode(ended)
        due = [
            (partner, states[partner.id]["level"], states[partner.id])
            for partner in partners - ended
            if states[partner.id]["status"] == "action_needed" and states[partner.id]["level"]
        ]
        if due:
            self._apply_levels_safely(due, company, trigger="cron")
        to_reconcile = partners.filtered(
            lambda partner: states[partner.id]["status"] == "reconcile"
        )
        if to_reconcile:
            to_reconcile._followup_request_reconcile(company, states)

    def _episode_ended(self, state):
        """Whether the running episode of a customer ends: nothing open reaches a
        level any more, or nothing is overdue after a level sent for overdue
        items (see _is_episode_over)."""
        return state["episode_over"] or bool(
            not (state["oldest_due"] and state["reached_level"]) and state["current_level"]
        )

    def _end_finished_episodes(self, partners, company):
        """End at once the episodes of the customers that are over (their
        overdue items paid or rescheduled), rather than at the next run: their
        level then reads empty, and their status follows what is left."""
        partners = partners.commercial_partner_id.with_company(company)
        states = self._get_states(partners, company)
        ended = partners.filtered(lambda partner: states[partner.id]["episode_over"])
        if ended:
            self._end_episode(ended)
        return ended

    def _end_episode(self, partners):
        # Follow-up bookkeeping, written whoever runs it (see FOLLOWUP_SYSTEM_FIELDS).
        for episode, group in partners.sudo().grouped("followup_episode").items():
            group.write({"followup_level_id": False, "followup_episode": episode + 1})

    # ------------------------------------------------------------------
    # Running levels
    # ------------------------------------------------------------------

    def _apply_levels_safely(
        self, items, company, trigger="cron", send_email=None, send_letter=None, email_values=None
    ):
        """Record and run the levels of customers together, in a savepoint: when
        anything fails nothing of the batch is kept and each customer is done
        again alone, so that a failure on one customer is logged on it, leaves
        nothing half-done, and the others go on.

        :param items: [(commercial partner, level, state from _get_states)]
        :param send_email, send_letter: channels chosen by hand (None: the level's)
        :param email_values: the email as edited by hand (see
            credit.followup.history._create_batch)
        :return: {partner id: history}
        """
        claimed = self.env["res.partner"].browse([item[0].id for item in items])._followup_claim()
        items = [item for item in items if item[0] in claimed]
        if not items:
            return {}
        History = self.env["credit.followup.history"]
        try:
            with self.env.cr.savepoint():
                histories = History._create_batch(
                    items, company, trigger, send_email, send_letter, email_values
                )
                histories._run_actions()
                return {history.partner_id.id: history for history in histories}
        except Exception as error:
            self.env.invalidate_all()
            if len(items) > 1:
                _logger.warning(
                    "Follow-up batch of %s customers failed, done one by one: %s",
                    len(items),
                    error,
                    exc_info=True,
                )
                result = {}
                for item in items:
                    result.update(
                        self._apply_levels_safely(
                            [item], company, trigger, send_email, send_letter, email_values
                        )
                    )
                return result
            if isinstance(error, (errors.SerializationFailure, errors.ExclusionViolation)):
                _logger.info("Follow-up of partner %s done by a concurrent run", claimed.ids)
                return {}
            _logger.warning("Follow-up of partner %s failed", claimed.ids, exc_info=True)
            partner, level, state = items[0]
            return {
                partner.id: History._record_failure(partner, company, level, state, trigger, error)
            }
