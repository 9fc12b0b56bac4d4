# Split from credit_followup_engine.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from odoo import models


class CreditFollowupEngine(models.AbstractModel):
    """What the next scheduled run would do, decided by the run's own code and
    done by nobody (the preview of credit.followup.preview), and the company
    setting that keeps the scheduled run from doing anything until someone has
    looked (res.company.credit_followup_paused)."""

    _inherit = "credit.followup.engine"

    # ------------------------------------------------------------------
    # The scheduled run, paused per company
    # ------------------------------------------------------------------

    def _credit_batch_company_records(self, company, after, limit):
        # A company whose automatic follow-ups are paused has nothing to do: not
        # even its promises are settled, the run leaves it as it is.
        if company.credit_followup_paused:
            return self.env["res.partner"]
        return super()._credit_batch_company_records(company, after, limit)

    # ------------------------------------------------------------------
    # Preview
    # ------------------------------------------------------------------

    def _preview_next_run(self, company):
        """What the next run would do for the customers of company, as it would
        decide it today, in the run's terms: the candidates of the run and their
        states (_candidate_partner_ids, _get_states), the level of those the run
        follows up, the customers it asks to apply their credits. Nothing is
        written.

        :return: [{"partner", "level" (empty: credits to apply), "status",
            "overdue", "channel", "collector"}] in the order of the run
        """
        # sudo: the run is the system's, it counts every customer and item; the
        # preview shows what it would do, whoever looks (a credit manager).
        engine = self.sudo().with_company(company)
        partners = engine.env["res.partner"].browse(engine._candidate_partner_ids(company))
        states = engine._get_states(partners, company)
        result = []
        for partner in partners.with_company(company):
            state = states[partner.id]
            level = state["level"]
            if state["status"] == "action_needed" and level:
                channel = self._preview_channel(partner, level)
            elif state["status"] == "reconcile":
                channel = self.env._("Activity: apply the customer's credits")
            else:
                continue
            result.append(
                {
                    "partner": partner,
                    "level": level,
                    "status": state["status"],
                    "overdue": state["overdue"],
                    "channel": channel,
                    "collector": partner._get_followup_collector(),
                }
            )
        return result

    def _preview_channel(self, partner, level):
        """What the level would do for the customer, in a few words: its email
        (or why none would go), its letter, its activity, hold and fee."""
        parts = []
        if level.send_email:
            if partner._get_followup_recipients().filtered("email"):
                parts.append(self.env._("Email"))
            else:
                parts.append(self.env._("No email address: an activity asks for one"))
        if level.send_letter:
            parts.append(self.env._("Letter"))
        if level.create_activity:
            parts.append(self.env._("Activity"))
        if level.manual_action:
            parts.append(self.env._("Manual action"))
        if level.set_credit_hold:
            parts.append(self.env._("Credit hold"))
        if level.fee_amount:
            parts.append(self.env._("Fee"))
        return ", ".join(parts) or self.env._("Nothing sent")
