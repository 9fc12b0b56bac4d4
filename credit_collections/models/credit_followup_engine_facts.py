# Split from credit_followup_engine.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from datetime import timedelta

from odoo import fields, models


class CreditFollowupEngine(models.AbstractModel):
    """What the follow-up statuses are decided on: the facts of each customer,
    from its receivable items and levels, and the fact providers features extend."""

    _inherit = "credit.followup.engine"

    # ------------------------------------------------------------------
    # Facts
    # ------------------------------------------------------------------

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
        """ "promised": the customer promised to pay and the date has not passed;
        "promised_date": the earliest such date."""
        # Promises count for the status whoever looks at it.
        promised = {
            partner.id: promised_date
            for partner, promised_date in self.env["credit.promise"]
            .sudo()
            ._read_group(
                [
                    ("partner_id", "in", partners.ids),
                    ("company_id", "=", company.id),
                    ("state", "=", "open"),
                    ("promised_date", ">=", fields.Date.context_today(self)),
                ],
                ["partner_id"],
                ["promised_date:min"],
            )
        }
        for partner_id, facts in facts_of.items():
            facts["promised"] = partner_id in promised
            # The follow-ups wait for the first promised date: the next one then.
            facts["promised_date"] = promised.get(partner_id, False)

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
        episode_over = self._is_episode_over(partner, current, figures)
        if episode_over:
            # The items the levels were sent for are gone: what is left starts
            # a new episode, from the first level.
            current = Level
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
            "episode_over": episode_over,
            # Set by the fact providers (see _get_fact_providers).
            "promised": False,
            "promised_date": False,
        }

    def _is_episode_over(self, partner, current, figures):
        """Whether the customer's dunning episode is over: a level sent for
        overdue items (past their due date), and nothing overdue any more, nor
        covered by credits to apply (paid, credited, rescheduled into an
        installment plan). A reminder sent before the due date keeps its
        episode: it would be sent again every day otherwise."""
        currency = partner.env.company.currency_id
        return bool(
            current
            and current.delay > 0
            and currency.is_zero(figures.get("overdue", 0.0))
            and currency.is_zero(figures.get("overdue_covered", 0.0))
        )

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
