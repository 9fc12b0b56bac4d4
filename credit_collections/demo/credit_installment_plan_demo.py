"""Demo data of installment plans, built through the plans' own actions, as the
demo users would click them, so that the demo shows what their clicks produce.
Demo only: called from demo/credit_collections_demo.xml, no business code calls
it."""

from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import Command, api, fields, models

# Context key of the demo alone: the day the demo says a plan was activated on,
# the accounting date of its rescheduling entry (a posted entry keeps its date).
DEMO_ACTIVATION_DATE = "credit_demo_activation_date"


class CreditInstallmentPlan(models.Model):
    _inherit = "credit.installment.plan"

    def _prepare_move_vals(self, items):
        vals = super()._prepare_move_vals(items)
        if self.env.context.get(DEMO_ACTIVATION_DATE):
            vals["date"] = self.env.context[DEMO_ACTIVATION_DATE]
        return vals

    @api.model
    def _create_demo_plans(self):
        """Demo: an active plan with its first installment paid, a proposed plan
        and a defaulted plan, on the demo invoices made for them. The demo
        collector drafts and proposes them and is their collector (the defaulted
        plan's activity is hers); the administrator, a credit manager, activates
        them and books the payment."""
        today = fields.Date.context_today(self)
        collector = self.env.ref("credit_collections.demo_user_collector")
        admin = self.env.ref("base.user_admin")
        invoices = {
            key: self.env.ref(f"credit_collections.demo_invoice_plan_{key}")
            for key in ("oakridge", "willow", "quarry")
        }
        for invoice in invoices.values():
            if invoice.state == "draft":
                invoice.action_post()
        company = invoices["oakridge"].company_id
        as_collector = self.with_user(collector).with_company(company)
        plans = {}
        for key, count, first_due in (
            ("oakridge", 6, today),
            ("willow", 4, today + timedelta(days=30)),
            ("quarry", 3, today),
        ):
            invoice = invoices[key]
            plans[key] = as_collector.create(
                {
                    "partner_id": invoice.commercial_partner_id.id,
                    "company_id": invoice.company_id.id,
                    "user_id": collector.id,
                    "source_line_ids": [
                        Command.set(
                            invoice.line_ids.filtered(
                                lambda line: line.account_type == "asset_receivable"
                            ).ids
                        )
                    ],
                    "installment_count": count,
                    "first_due_date": first_due,
                }
            )
            plans[key].action_compute_schedule()
        plans["willow"].action_propose()
        plans["oakridge"].with_user(admin).action_activate()
        first = plans["oakridge"].line_ids[0]
        self.env["account.payment.register"].with_user(admin).with_context(
            active_model="account.move.line", active_ids=first.move_line_id.ids
        ).create({"amount": first.amount, "payment_date": today})._create_payments()
        # Quarry agreed a month before its first installment fell due, and left
        # that installment unpaid one day longer than the company's Days Before
        # Default: today the daily check defaults the plan.
        quarry = plans["quarry"]
        first_due = today - timedelta(days=quarry.company_id.credit_plan_default_days + 1)
        activated = first_due - relativedelta(months=1)
        quarry.with_user(admin).with_context(**{DEMO_ACTIVATION_DATE: activated}).action_activate()
        # sudo: a running plan's dates are frozen for every user; the demo alone
        # moves them back in time.
        quarry.sudo()._demo_backdate(first_due, activated)
        # sudo: the daily check is a system job (see _cron_check_installment_plans).
        checked = self.sudo()
        changes, _more = checked._get_plans_to_update(today, 1, quarry.ids)
        checked._apply_state_changes(changes, today)

    def _demo_backdate(self, first_due, activated):
        """Demo: an activated monthly plan as if activated on `activated` with its
        first installment due on `first_due`: the installments and their
        receivable items fall due a month apart from then, and the plan's
        chatter so far (its creation, schedule, activation) is of that day."""
        self.ensure_one()
        for installment in self.line_ids:
            due = first_due + relativedelta(months=installment.sequence - 1)
            installment.date_due = due
            installment.move_line_id.date_maturity = due
        self.write({"first_due_date": first_due, "date_activated": activated})
        self.message_ids.write({"date": fields.Datetime.to_datetime(activated)})
