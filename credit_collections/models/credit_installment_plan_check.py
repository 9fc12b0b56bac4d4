"""Installment plans: the daily check (done, defaulted, back on schedule)."""

import logging

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

# Plans checked per call of the scheduled action.
BATCH_SIZE = 500
# Namespace of the customer locks of the plan check (pg_try_advisory_xact_lock(key,
# partner id)): "CCPL". Its own, so that follow-ups and interest do not wait for it.
PLAN_LOCK_KEY = 0x4343504C


class CreditInstallmentPlan(models.Model):
    _name = "credit.installment.plan"
    _inherit = ["credit.installment.plan", "credit.batch.mixin"]

    _credit_batch_size = BATCH_SIZE

    # ------------------------------------------------------------------
    # Daily check
    # ------------------------------------------------------------------

    def _get_plans_to_update(self, today, limit, plan_ids=None, after_id=0):
        """Running plans (of plan_ids when given, after after_id in id order)
        whose state changes today: {plan id: "done" | "defaulted" | "active"},
        at most limit of them, and whether more are left. A plan defaults when an
        installment is still overdue its company's days after its due date; a
        defaulted plan is back on schedule (active) once no installment is
        overdue (account.move.line._overdue_sql)."""
        Line = self.env["account.move.line"]
        Line.flush_model(["reconciled", "date_maturity", "amount_residual"])
        self.flush_model(["state"])
        self.env["credit.installment.line"].flush_model(["move_line_id"])
        self.env["res.company"].flush_model(["credit_plan_default_days"])
        # Overdue by the company's days: overdue at today less those days.
        late = SQL("%s::date - COALESCE(company.credit_plan_default_days, 0)", today)
        rows = self.env.execute_query(
            SQL(
                """
                SELECT plan.id,
                       CASE WHEN COUNT(item.id) FILTER (WHERE NOT item.reconciled) = 0
                            THEN 'done'
                            WHEN plan.state = 'defaulted' THEN 'active'
                            ELSE 'defaulted' END
                  FROM credit_installment_plan plan
                  JOIN res_company company ON company.id = plan.company_id
                  JOIN credit_installment_line installment ON installment.plan_id = plan.id
                  JOIN account_move_line item ON item.id = installment.move_line_id
                 WHERE plan.state IN ('active', 'defaulted') AND plan.id > %(after_id)s
                       %(restrict)s
              GROUP BY plan.id, plan.state, company.credit_plan_default_days
                HAVING COUNT(item.id) FILTER (WHERE NOT item.reconciled) = 0
                    OR (plan.state = 'active' AND COUNT(item.id) FILTER (
                            WHERE NOT item.reconciled AND %(late)s) > 0)
                    OR (plan.state = 'defaulted' AND COUNT(item.id) FILTER (
                            WHERE NOT item.reconciled AND %(overdue)s) = 0)
              ORDER BY plan.id
                 LIMIT %(limit)s
                """,
                after_id=after_id,
                late=Line._overdue_sql(late, alias="item"),
                overdue=Line._overdue_sql(today, alias="item"),
                limit=limit + 1,
                restrict=SQL("AND plan.id = ANY(%s)", plan_ids) if plan_ids is not None else SQL(),
            )
        )
        return dict(rows[:limit]), len(rows) > limit

    @api.model
    def _cron_check_installment_plans(self, limit=None):
        """Close the plans paid in full, default those with an installment unpaid
        for the company's days after its due date and return the defaulted ones
        back on schedule to active, a batch per call (credit.batch.mixin: the
        scheduler calls again while some are left).

        :return: (plans checked, number left)
        """
        # A system job: the plans of every company.
        return self.sudo()._credit_batch_run(limit)

    def _credit_batch_next(self, limit):
        """The next plans whose state changes today, after the run's cursor: the
        batch is derived from the plans' state, and the cursor passes a plan that
        failed, so that it is taken again at the next run, not at once."""
        today = fields.Date.context_today(self)
        changes, _more = self._get_plans_to_update(
            today, limit, after_id=self._credit_batch_cursor()
        )
        return self.browse(list(changes))

    def _credit_batch_process(self, records):
        """Apply today's change to each plan of the batch, decided again here (the
        batch may be processed later, as a job) for the customers no concurrent
        transaction is working on: a plan of a customer being paid or cancelled
        at this moment is checked at the next run."""
        today = fields.Date.context_today(self)
        locked = self.env["credit.batch.mixin"]._credit_try_lock_customers(
            records.partner_id, key=PLAN_LOCK_KEY
        )
        plans = records.filtered(lambda plan: plan.partner_id.commercial_partner_id in locked)
        if plans != records:
            _logger.info(
                "Plan check: plans %s passed, their customers are being worked on",
                (records - plans).ids,
            )
        if plans:
            changes, _more = self._get_plans_to_update(today, len(plans), plans.ids)
            self._apply_state_changes(changes, today)

    def _lock_plan_customers(self):
        """Tell the daily check that this transaction works on the plans'
        customers (it passes them): what this transaction decides about a plan
        it decides on a snapshot the check would not see."""
        self.env["credit.batch.mixin"]._credit_try_lock_customers(
            self.partner_id, key=PLAN_LOCK_KEY
        )

    def _apply_state_changes(self, changes, today):
        """Apply {plan id: new state} as the daily check decided it."""
        plans = self.browse(list(changes))
        done = plans.filtered(lambda plan: changes[plan.id] == "done")
        back = plans.filtered(lambda plan: changes[plan.id] == "active")
        done._set_done()
        back._set_back_on_schedule()
        (plans - done - back)._set_defaulted(today)

    @api.model
    def _update_after_payment(self, items):
        """Payments (or credit notes) reconciled with installment items: their
        defaulted plans paid in full are done, and those with every installment
        due paid are active again at once, not at the next daily check."""
        # sudo: which plans the paid items belong to, whoever booked the payment.
        plan_ids = (
            self.env["credit.installment.line"]
            .sudo()
            .search([("move_line_id", "in", items.ids), ("plan_id.state", "=", "defaulted")])
            .plan_id.ids
        )
        if not plan_ids:
            return
        # The plans' own outcome of a payment whoever booked it (see
        # PLAN_SYSTEM_FIELDS): the payment itself needed the booker's rights.
        plans = self.sudo()
        plans.browse(plan_ids)._lock_plan_customers()
        today = fields.Date.context_today(plans)
        changes, _more = plans._get_plans_to_update(today, len(plan_ids), plan_ids)
        plans._apply_state_changes(changes, today)

    def _set_done(self):
        if not self:
            return
        # The message below says it: no tracking message per plan on top.
        self.with_context(tracking_disable=True).write({"state": "done"})
        self._message_log_batch(bodies=dict.fromkeys(self.ids, self.env._("Paid in full.")))

    def _set_back_on_schedule(self):
        """Defaulted plans with every installment due paid again: active, no
        longer holding their customers' orders; logged on them and their
        customers."""
        if not self:
            return
        # The message below says it: no tracking message per plan on top.
        self.with_context(tracking_disable=True).write({"state": "active", "date_defaulted": False})
        self._message_log_batch(
            bodies=dict.fromkeys(
                self.ids,
                self.env._(
                    "Back on schedule: every installment due is paid. The plan is active "
                    "again and no longer holds the customer's orders."
                ),
            )
        )
        partner_bodies = {}
        for plan in self:
            partner_bodies.setdefault(plan.partner_id.id, []).append(
                Markup(escape(self.env._("Installment plan %(plan)s is back on schedule.")))
                % {"plan": plan._get_html_link()}
            )
        self.env["res.partner"].browse(partner_bodies)._message_log_batch(
            bodies={key: Markup("<br/>").join(lines) for key, lines in partner_bodies.items()}
        )

    def _set_defaulted(self, today):
        """Default the plans, all at once: logged on them and their customers, an
        activity for each collector, and with acceleration everything left due
        today."""
        if not self:
            return
        # The message below says it: no tracking message per plan on top.
        self.with_context(tracking_disable=True).write(
            {"state": "defaulted", "date_defaulted": today}
        )
        accelerated = self.filtered("company_id.credit_plan_acceleration")
        # Everything left falls due today: follow-ups escalate on all of it.
        accelerated.line_ids.move_line_id.filtered(
            lambda item: not item.reconciled and item.date_maturity > today
        ).write({"date_maturity": today})
        bodies = {
            plan.id: self.env._(
                "Defaulted: an installment is unpaid %(days)s days after its due date.",
                days=plan.company_id.credit_plan_default_days,
            )
            for plan in self
        }
        self._message_log_batch(bodies=bodies)
        partner_bodies = {}
        for plan in self:
            partner_bodies.setdefault(plan.partner_id.id, []).append(
                Markup(escape(self.env._("Installment plan %(plan)s defaulted.")))
                % {"plan": plan._get_html_link()}
            )
        self.env["res.partner"].browse(partner_bodies)._message_log_batch(
            bodies={key: Markup("<br/>").join(lines) for key, lines in partner_bodies.items()}
        )
        # The collectors see them in their activities: no email per activity.
        plans = self.with_context(mail_activity_quick_update=True)
        admin = self.env.ref("base.user_admin")
        for (user, note), group in plans.grouped(
            lambda plan: (plan.user_id or admin, bodies[plan.id])
        ).items():
            group.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=today,
                summary=self.env._("Installment plan defaulted"),
                note=note,
                user_id=user.id,
            )
