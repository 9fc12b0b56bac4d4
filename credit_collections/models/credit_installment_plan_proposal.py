"""Installment plans: the proposal to the customer and its acceptance in the portal."""

from odoo import fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .credit_followup_history_mail import CUSTOMER_EMAIL_LAYOUT
from .credit_installment_plan import (
    ACTIVATION_ACTIVITY,
    PLAN_STATES,
)


class CreditInstallmentPlan(models.Model):
    _inherit = "credit.installment.plan"

    # ------------------------------------------------------------------
    # Proposal and the customer's acceptance
    # ------------------------------------------------------------------

    def action_propose(self):
        """Offer the schedule to the customer: an email with a link to accept it
        in the portal."""
        self.check_access("write")
        template = self.env.ref("credit_collections.mail_template_installment_plan_proposal")
        for plan in self:
            if plan.state != "draft":
                raise UserError(
                    self.env._(
                        "Plan %(plan)s is %(state)s: only a draft plan can be proposed.",
                        plan=plan.name,
                        state=dict(PLAN_STATES)[plan.state],
                    )
                )
            plan._check_schedule()
            # The plan's own progress (see PLAN_SYSTEM_FIELDS); a new proposal
            # starts unsigned, whatever was accepted before.
            plan.sudo().write(
                {
                    "state": "proposed",
                    "proposed_by_id": self.env.user.id,
                    "signed_by": False,
                    "signed_on": False,
                    "signature_ip": False,
                }
            )
            plan._portal_ensure_token()
            plan.message_post_with_source(
                template,
                subtype_xmlid="mail.mt_comment",
                partner_ids=plan.partner_id.ids,
                # A letter from the company, not a notification of the plan.
                email_layout_xmlid=CUSTOMER_EMAIL_LAYOUT,
            )
        return True

    def _get_proposal_signer(self):
        """Who signs the proposal: the plan's collector when a real person, else
        the customer's (see credit.payment.instructions._get_signer); nobody (the
        company signs) otherwise."""
        self.ensure_one()
        return self.env["credit.payment.instructions"]._get_signer(
            self.partner_id, user=self.user_id
        )

    def _action_customer_accept(self, name, ip_address):
        """The customer accepts the proposal in the portal, typing their name:
        the plan becomes active when its proposer could have activated it, else
        (or when the company says so) it waits for a credit manager."""
        self.ensure_one()
        if self.state != "proposed":
            raise UserError(self.env._("This plan is no longer waiting for your acceptance."))
        if self.signed_by:
            raise UserError(self.env._("This plan was already accepted."))
        if not (name or "").strip():
            raise UserError(self.env._("Type your name to accept the plan."))
        # The customer's acceptance, recorded as the plan's own (see PLAN_SYSTEM_FIELDS).
        plan = self.sudo()
        plan.write(
            {
                "signed_by": name.strip(),
                "signed_on": fields.Datetime.now(),
                "signature_ip": ip_address,
            }
        )
        plan.message_post(
            body=self.env._(
                "Accepted by %(name)s from %(ip)s.", name=name.strip(), ip=ip_address or "?"
            ),
            subtype_xmlid="mail.mt_note",
        )
        review = plan._get_acceptance_review_reason()
        if review:
            plan._request_activation(review)
            return False
        plan._lock_for_activation()
        try:
            with self.env.cr.savepoint():
                plan._check_schedule()
                plan._activate()
        except UserError as error:
            # Accepted too late (an installment now past due, a payment since): the
            # collector proposes the schedule again.
            plan.activity_schedule(
                "mail.mail_activity_data_todo",
                summary=self.env._("Accepted plan could not be activated"),
                note=str(error),
                user_id=(plan.user_id or self.env.ref("base.user_admin")).id,
            )
            return False
        return True

    def _get_acceptance_review_reason(self):
        """Why the customer's acceptance does not activate the plan at once, or
        an empty string: an acceptance activates only what its proposer could
        have activated."""
        self.ensure_one()
        if self.company_id.credit_plan_acceptance_needs_manager:
            return self.env._("the company has accepted plans activated by a credit manager.")
        proposer = self.proposed_by_id
        if not proposer:
            return self.env._("nobody is recorded as having proposed it.")
        if not self._may_activate(proposer):
            return self.env._(
                "%(user)s, who proposed it, may not activate a plan of %(total)s.",
                user=proposer.name,
                total=format_amount(self.env, self.amount_total, self.currency_id),
            )
        return ""

    def _request_activation(self, reason):
        """Log why an accepted plan waits and ask a credit manager to activate it
        (the company's credit approver, else every credit manager)."""
        self.ensure_one()
        note = self.env._(
            "Accepted by the customer; waits for a credit manager to activate it: %(reason)s",
            reason=reason,
        )
        self.message_post(body=note, subtype_xmlid="mail.mt_note")
        approvers = self.env["credit.approval.request"]._credit_approvers(self.company_id)
        self.activity_unlink([ACTIVATION_ACTIVITY])
        for approver in approvers or self.user_id or self.env.ref("base.user_admin"):
            self.activity_schedule(ACTIVATION_ACTIVITY, note=note, user_id=approver.id)

    def action_draft(self):
        """Back to draft to change the schedule: the proposal sent, and any
        acceptance of it, are void (its link no longer opens the plan)."""
        self.check_access("write")
        for plan in self:
            if plan.state != "proposed":
                raise UserError(
                    self.env._(
                        "Plan %(plan)s is %(state)s: only a proposed plan goes back to draft.",
                        plan=plan.name,
                        state=dict(PLAN_STATES)[plan.state],
                    )
                )
            # The plan's own progress (see PLAN_SYSTEM_FIELDS); a new token so that
            # the link emailed with the void proposal opens nothing.
            plan.sudo().write(
                {
                    "state": "draft",
                    "proposed_by_id": False,
                    "signed_by": False,
                    "signed_on": False,
                    "signature_ip": False,
                    "access_token": False,
                }
            )
            plan.sudo().activity_unlink([ACTIVATION_ACTIVITY])
            plan.message_post(
                body=self.env._(
                    "Back to draft: the proposal sent to the customer, and any acceptance of "
                    "it, are void. Propose the plan again once changed."
                ),
                subtype_xmlid="mail.mt_note",
            )
        return True
