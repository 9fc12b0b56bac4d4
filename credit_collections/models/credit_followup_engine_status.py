# Split from credit_followup_engine.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from odoo import fields, models


class CreditFollowupEngine(models.AbstractModel):
    """Follow-up status rules, one small method each, and the state they give."""

    _inherit = "credit.followup.engine"

    # ------------------------------------------------------------------
    # Status rules
    # ------------------------------------------------------------------

    def _prepare_state(self, facts, status, today):
        partner = facts["partner"]
        next_action_date = False
        if status in ("action_needed", "reconcile"):
            next_action_date = today
        elif status == "paused":
            next_action_date = partner.followup_paused_until
        elif status == "promised":
            next_action_date = facts["promised_date"]
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
            "episode_over": facts["episode_over"],
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
