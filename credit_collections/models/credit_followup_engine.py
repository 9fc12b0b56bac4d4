import logging
from datetime import timedelta

from psycopg2 import errors

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Customers the scheduled action follows up per call; Odoo's scheduler calls it
# again, after a commit, while some are left.
BATCH_SIZE = 100


class CreditFollowupEngine(models.AbstractModel):
    """Decides which follow-up level each customer has reached, and runs it.

    Works on receivable items (account.move.line owns which ones), never on
    invoice totals: each installment has its own due date. The level reached is
    decided by the oldest chased item left open once the customer's open credits
    are netted against its items, oldest first (account.move.line owns the
    netting): a customer whose credits cover what is overdue is not chased, its
    collector is asked to reconcile. A level runs once per customer and dunning
    episode; an episode ends when nothing is due any more. What a level does is
    the follow-up history's (credit.followup.history), the dunning record.
    """

    _name = "credit.followup.engine"
    _description = "Follow-up Engine"

    # ------------------------------------------------------------------
    # Statuses
    # ------------------------------------------------------------------

    def _candidate_partner_ids(self, company, after=0, limit=None):
        """Commercial partners that may have something to do, by id: chased items
        due within the earliest level's delay, or a level reached in a running
        episode."""
        # Levels of every policy of the company, whoever runs it: the scheduled
        # action's user may have another company selected.
        levels = (
            self.env["credit.followup.level"]
            .sudo()
            .search([("company_id", "=", company.id), ("policy_id.active", "=", True)])
        )
        if not levels:
            return []
        horizon = fields.Date.context_today(self) - timedelta(days=min(levels.mapped("delay")))
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["credit.customer.state"].flush_model(["followup_level_id"])
        self.env["account.move.line"].flush_model()
        chased = self.env["account.move.line"]._chased_receivable_sql(
            company, SQL("line.date_maturity <= %s", horizon)
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id FROM (
                    SELECT partner.commercial_partner_id AS id %(chased)s
                     UNION
                    SELECT state.partner_id FROM credit_customer_state state
                     WHERE state.company_id = %(company)s AND state.followup_level_id IS NOT NULL
                ) candidate
                 WHERE id > %(after)s
              ORDER BY id
                 LIMIT %(limit)s
                """,
                chased=chased,
                company=company.id,
                after=after,
                limit=limit,
            )
        )
        return [row[0] for row in rows]

    def _get_states(self, partners, company):
        """Follow-up state of each commercial partner in company, in constant queries.

        :return: {partner id: {status, next_action_date, level (due now or empty),
            reached_level, current_level, overdue, oldest_due}}
        """
        partners = partners.commercial_partner_id.with_company(company)
        today = fields.Date.context_today(self)
        facts_of = self._prepare_all_facts(partners, company, today)
        for provider in self._get_fact_providers():
            provider(partners, company, facts_of)
        rules = self._get_status_rules()
        states = {}
        for partner in partners:
            facts = facts_of[partner.id]
            status = next((status for rule in rules if (status := rule(facts))), "no_action")
            states[partner.id] = self._prepare_state(facts, status, today)
        return states

    def _prepare_all_facts(self, partners, company, today):
        """{partner id: facts} from the customers' receivable items and levels."""
        figures = self.env["account.move.line"]._followup_figures(partners, company)
        # sudo: the company's default policy decides, whoever runs the follow-ups.
        default_policy = self.env["credit.followup.policy"].sudo()._get_company_default(company)
        levels_of = {}
        facts_of = {}
        for partner in partners:
            policy = partner.followup_policy_id or default_policy
            if policy not in levels_of:
                levels_of[policy] = policy._get_levels()
            facts_of[partner.id] = self._prepare_facts(
                partner, levels_of[policy], figures.get(partner.id, {}), today
            )
        return facts_of

    # ------------------------------------------------------------------
    # Fact providers
    # ------------------------------------------------------------------

    def _get_fact_providers(self):
        """What else the status rules decide on, beyond the receivable items: each
        provider takes (partners, company, facts_of: {partner id: facts}) and adds
        or changes the facts of all the partners at once, in one query. Override
        to add facts (disputes, risk scores, credit applications) and a status
        rule reading them."""
        return [self._facts_promises, self._facts_defaulted_plans]

    def _facts_promises(self, partners, company, facts_of):
        """ "promised": the customer promised to pay and the date has not passed."""
        # Promises count for the status whoever looks at it.
        promised = {
            partner.id
            for (partner,) in self.env["credit.promise"]
            .sudo()
            ._read_group(
                [
                    ("partner_id", "in", partners.ids),
                    ("company_id", "=", company.id),
                    ("state", "=", "open"),
                    ("promised_date", ">=", fields.Date.context_today(self)),
                ],
                ["partner_id"],
            )
        }
        for partner_id, facts in facts_of.items():
            facts["promised"] = partner_id in promised

    def _facts_defaulted_plans(self, partners, company, facts_of):
        """A defaulted installment plan escalates the customer's follow-up, when
        the company says so (see _escalate_defaulted_plan)."""
        if not company.credit_plan_default_escalates:
            return
        # Defaulted plans count for the status whoever looks at it.
        defaulted = (
            self.env["credit.installment.plan"]
            .sudo()
            ._read_group(
                [
                    ("partner_id", "in", partners.ids),
                    ("company_id", "=", company.id),
                    ("state", "=", "defaulted"),
                ],
                ["partner_id"],
                ["date_defaulted:max"],
            )
        )
        for partner, date_defaulted in defaulted:
            if partner.id in facts_of:
                self._escalate_defaulted_plan(facts_of[partner.id], date_defaulted)

    def _prepare_facts(self, partner, levels, figures, today):
        """What the status rules decide on, for one customer."""
        Level = self.env["credit.followup.level"]
        oldest_due = figures.get("oldest_due")
        current = partner.followup_level_id
        days = (today - oldest_due).days if oldest_due else None
        reached = levels.filtered(lambda level: level.delay <= days)[-1:] if oldest_due else Level
        next_level = (
            levels.filtered(lambda level: not current or level.delay > current.delay)[:1]
            if oldest_due
            else Level
        )
        due_level = reached if reached and (not current or reached.delay > current.delay) else Level
        next_date = oldest_due + timedelta(days=next_level.delay) if next_level else False
        if partner.env.company.credit_followup_start_mode == "first_level" and oldest_due:
            due_level, next_date = self._climb_one_level(partner, levels, current, days, today)
        overdue = figures.get("overdue", 0.0)
        covered = figures.get("overdue_covered", 0.0)
        minimum = partner.env.company.credit_followup_min_amount
        if due_level and due_level.delay >= 0 and overdue < minimum:
            due_level = Level
        return {
            "partner": partner,
            "oldest_due": oldest_due,
            "overdue": overdue,
            "overdue_covered": covered,
            # Credits cover every overdue item: a bookkeeping matter, not a debt.
            "credits_cover_overdue": covered > 0
            and partner.env.company.currency_id.is_zero(overdue),
            "current_level": current,
            "reached_level": reached,
            "next_level": next_level,
            "next_date": next_date,
            "due_level": Level if current.manual_action else due_level,
            # Set by the fact providers (see _get_fact_providers).
            "promised": False,
        }

    def _climb_one_level(self, partner, levels, current, days, today):
        """Level due under the "first level" start: a customer starts at the first
        level its items call for and climbs one level at a time, each once the
        days between the two levels have passed since its last follow-up. Nobody
        gets a final notice as a first letter at go-live, and each letter gives
        the customer the time the ladder means to give.

        :return: (level due now or empty, date the next level falls due or False)
        """
        Level = self.env["credit.followup.level"]
        reached = levels.filtered(lambda level: level.delay <= days)
        if not current:
            # Overdue items start at the first reminder after the due date: the
            # reminder before it says they "fall due shortly".
            start = (reached.filtered(lambda level: level.delay > 0) if days > 0 else Level) or (
                reached
            )
            first = levels[:1]
            return start[:1], (today + timedelta(days=first.delay - days)) if not start else False
        following = levels.filtered(lambda level: level.delay > current.delay)[:1]
        if not following:
            return Level, False
        last = partner.followup_last_date or today
        next_date = max(
            last + timedelta(days=following.delay - current.delay),
            today + timedelta(days=following.delay - days),
        )
        return (following if next_date <= today else Level), next_date

    def _escalate_defaulted_plan(self, facts, date_defaulted):
        """A customer whose plan defaulted reaches the next level at once, once
        per default: not again when followed up since."""
        partner = facts["partner"]
        last = partner.followup_last_date
        if (
            not facts["due_level"]
            and facts["next_level"]
            and not facts["current_level"].manual_action
            and (not last or last < date_defaulted)
        ):
            facts["due_level"] = facts["next_level"]

    def _prepare_state(self, facts, status, today):
        partner = facts["partner"]
        next_action_date = False
        if status in ("action_needed", "reconcile"):
            next_action_date = today
        elif status == "paused":
            next_action_date = partner.followup_paused_until
        elif status in ("waiting", "no_action") and facts["oldest_due"]:
            next_action_date = facts["next_date"]
        return {
            "status": status,
            "level": facts["due_level"]
            if status == "action_needed"
            else facts["due_level"].browse(),
            "reached_level": facts["reached_level"],
            "current_level": facts["current_level"],
            "next_action_date": next_action_date,
            "overdue": facts["overdue"],
            "overdue_covered": facts["overdue_covered"],
            "oldest_due": facts["oldest_due"],
        }

    def _get_status_rules(self):
        """Follow-up status rules, the first that answers wins. Each takes the facts
        of a customer (see _prepare_facts) and returns a status or None; override
        to add a status."""
        return [
            self._status_excluded,
            self._status_paused,
            self._status_promised,
            self._status_reconcile,
            self._status_action_needed,
            self._status_waiting,
        ]

    def _status_excluded(self, facts):
        return "excluded" if facts["partner"].followup_excluded else None

    def _status_paused(self, facts):
        paused_until = facts["partner"].followup_paused_until
        return (
            "paused" if paused_until and paused_until >= fields.Date.context_today(self) else None
        )

    def _status_promised(self, facts):
        return "promised" if facts.get("promised") else None

    def _status_reconcile(self, facts):
        return "reconcile" if facts["credits_cover_overdue"] else None

    def _status_action_needed(self, facts):
        if facts["due_level"] or facts["current_level"].manual_action:
            return "action_needed"
        return None

    def _status_waiting(self, facts):
        return "waiting" if facts["oldest_due"] and facts["reached_level"] else None

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------

    @api.model
    def _cron_run(self, limit=BATCH_SIZE):
        """Follow up the next batch of customers of the run in progress, company by
        company, and report what is left: Odoo's scheduler calls again, after a
        commit, until the run is done; an interrupted run resumes where it was."""
        # A system job: every company, whichever the companies of its user, and
        # its bookmark (credit_followup_run_cursor) is the run's own.
        self = self.sudo()
        companies = self.env["res.company"].search([("active", "=", True)], order="id")
        pending = companies.filtered(lambda company: company.credit_followup_run_cursor >= 0)
        if not pending:
            companies.credit_followup_run_cursor = 0
            pending = companies
        for company in pending:
            try:
                with self.env.cr.savepoint():
                    batch, more = self._run_company_batch(company, limit)
            except (errors.SerializationFailure, errors.DeadlockDetected):
                raise  # a concurrent run: Odoo's scheduler tries the whole call again
            except Exception:
                # One company's broken setup must not stop the others: its run ends
                # here, logged, and its customers are followed up at the next run.
                self.env.invalidate_all()
                _logger.exception(
                    "Follow-up run of company %s (id %s) failed; it is skipped until the "
                    "next run, the other companies go on",
                    company.name,
                    company.id,
                )
                company.credit_followup_run_cursor = -1
                continue
            if not batch:
                continue
            later = pending.filtered(lambda other, company=company: other.id > company.id)
            self.env["ir.cron"]._notify_progress(done=len(batch), remaining=int(more) + len(later))
            return
        self.env["ir.cron"]._notify_progress(done=0, remaining=0)

    def _run_company_batch(self, company, limit):
        """Follow up the next batch of the company's customers and move its
        bookmark on.

        :return: (ids of the customers done, whether some are left)
        """
        if not company.credit_followup_run_cursor:
            self.env["credit.promise"]._update_promises(company)
        partner_ids = self._candidate_partner_ids(
            company, after=company.credit_followup_run_cursor, limit=limit + 1
        )
        if not partner_ids:
            company.credit_followup_run_cursor = -1
            return [], False
        batch = partner_ids[:limit]
        self._run_batch(self.env["res.partner"].browse(batch), company)
        more = len(partner_ids) > limit
        company.credit_followup_run_cursor = batch[-1] if more else -1
        return batch, more

    def _run_batch(self, partners, company):
        states = self._get_states(partners, company)
        partners = partners.commercial_partner_id.with_company(company)
        ended = partners.filtered(
            lambda partner: (
                not (states[partner.id]["oldest_due"] and states[partner.id]["reached_level"])
                and states[partner.id]["current_level"]
            )
        )
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
