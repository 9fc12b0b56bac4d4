from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL


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

    Split by responsibility through _inherit: the candidates and the states here,
    the facts the statuses are decided on (credit_followup_engine_facts.py), the
    status rules (credit_followup_engine_status.py), the scheduled run in batches
    and the running of levels (credit_followup_engine_run.py).
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
