from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL


class CreditDecisionMixin(models.AbstractModel):
    """The pending -> decided workflow of a credit decision, in one place: who may
    decide (a credit manager, under segregation of duties nobody with an interest
    in the documents), the row lock that makes two deciders meet one after the
    other, the decision's activity for the approvers closed, and the decision
    logged on the documents it is about.

    ``credit.approval.request`` inherits it; the overrides of orders and
    deliveries use its manager and segregation check (``_credit_check_decider``)
    without being requests. A model inheriting it has a ``state`` field with a
    "pending" value and a ``company_id``, and answers:

    - ``_credit_interested_users()``: who may not decide under segregation;
    - ``_credit_segregation_refusal()``: the message telling them so;
    - ``_credit_decision_vals(state)``: the values the decision writes;
    - ``_credit_decision_body(state, note)``: what the decision logs;
    - ``_credit_post_on_documents(body, notify=None)``: where it is logged;
    - ``_credit_approver_note()``: the note of the approvers' activity.
    """

    _name = "credit.decision.mixin"
    _description = "Credit Decision Workflow"

    # The activity type of the approvers' to-do, closed by the decision.
    _credit_decision_activity = "credit_collections.mail_activity_credit_approval"

    # ------------------------------------------------------------------
    # Who decides
    # ------------------------------------------------------------------

    @api.model
    def _credit_is_manager(self):
        """Whether the user is a credit manager (lets an invoice be posted despite
        a hold, with the reasons logged on it)."""
        return self.env.user.has_group("credit_collections.group_credit_manager")

    @api.model
    def _credit_check_manager(self):
        if self.env.su or self.env.user._is_superuser():
            return
        if not self._credit_is_manager():
            raise AccessError(
                self.env._("Only credit managers can approve, reject or override credit holds.")
            )

    @api.model
    def _credit_check_decider(self, company, interested_users, refusal):
        """A credit manager decides, and under the company's segregation of duties
        not one of the interested users (refused with the message refusal)."""
        self._credit_check_manager()
        if (
            self.env.su
            or not company.credit_segregation_of_duties
            or self.env.user not in interested_users
        ):
            return
        raise UserError(refusal)

    def _credit_check_segregation(self):
        """Segregation of duties on this pending decision."""
        self.ensure_one()
        if self.env.su or not self.company_id.credit_segregation_of_duties:
            return
        if self.env.user in self._credit_interested_users():
            raise UserError(self._credit_segregation_refusal())

    # ------------------------------------------------------------------
    # Pending -> decided
    # ------------------------------------------------------------------

    @api.model
    def _credit_approvers(self, company):
        if company.credit_approver_id:
            return company.credit_approver_id
        # Who decides is asked by whoever requests: salespeople cannot read groups.
        return (
            self.env.ref("credit_collections.group_credit_manager")
            .sudo()
            .users.filtered(lambda user: not user.share and company in user.company_ids)
            .sorted("id")
        )

    def _credit_notify_approvers(self):
        for record in self:
            for approver in self._credit_approvers(record.company_id):
                # The requester asks; the activity is the approver's.
                record.sudo().activity_schedule(
                    self._credit_decision_activity,
                    user_id=approver.id,
                    note=record._credit_approver_note(),
                )

    def _credit_decide(self, state, note):
        """Decide this pending record: lock it, write the decision, close the
        approvers' activities and log the decision on its documents."""
        self.ensure_one()
        self._credit_check_pending()
        # Row lock: two managers deciding the same record at once, the second one
        # waits and then finds it decided.
        self.env.cr.execute(
            SQL(
                "SELECT id FROM %s WHERE id = %s FOR NO KEY UPDATE",
                SQL.identifier(self._table),
                self.id,
            )
        )
        self.invalidate_recordset(["state"])
        self._credit_check_pending()
        # Decision fields are written by the decision only (guarded as SYSTEM).
        self.sudo().write(self._credit_decision_vals(state))
        self._credit_close_activities(note)
        self._credit_post_on_documents(
            self._credit_decision_body(state, note), notify=self._credit_decision_notify()
        )

    def _credit_check_pending(self):
        if self.state != "pending":
            raise UserError(
                self.env._("%(request)s has already been decided.", request=self.display_name)
            )

    def _credit_decision_vals(self, state):
        return {
            "state": state,
            "approver_id": self.env.user.id,
            "decision_date": fields.Datetime.now(),
        }

    def _credit_decision_notify(self):
        """The partner told of the decision (the requester's)."""
        return None

    def _credit_close_activities(self, feedback):
        activity_type = self.env.ref(self._credit_decision_activity)
        activities = self.activity_ids.filtered(
            lambda activity: activity.activity_type_id == activity_type
        )
        # The activity may be another credit manager's: closing it is part of the
        # decision this manager is entitled to take.
        activities.sudo().action_feedback(feedback=feedback or "")
