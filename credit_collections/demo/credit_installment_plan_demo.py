"""Demo data of installment plans, built through the plans' own actions so that
the demo shows what a collector's clicks produce. Demo only: called from
demo/credit_collections_demo.xml, no business code calls it."""

from datetime import timedelta

from odoo import Command, api, fields, models


class CreditInstallmentPlan(models.Model):
    _inherit = "credit.installment.plan"

    @api.model
    def _create_demo_plans(self):
        """Demo: an active plan with its first installment paid, a proposed plan
        and a defaulted plan, on the demo invoices made for them."""
        today = fields.Date.context_today(self)
        invoices = {
            key: self.env.ref(f"credit_collections.demo_invoice_plan_{key}")
            for key in ("oakridge", "willow", "quarry")
        }
        for invoice in invoices.values():
            if invoice.state == "draft":
                invoice.action_post()
        plans = {}
        for key, count, first_due in (
            ("oakridge", 6, today),
            ("willow", 4, today + timedelta(days=30)),
            ("quarry", 3, today),
        ):
            invoice = invoices[key]
            plans[key] = self.create(
                {
                    "partner_id": invoice.commercial_partner_id.id,
                    "company_id": invoice.company_id.id,
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
        plans["oakridge"].action_activate()
        first = plans["oakridge"].line_ids[0]
        self.env["account.payment.register"].with_context(
            active_model="account.move.line", active_ids=first.move_line_id.ids
        ).create({"amount": first.amount, "payment_date": today})._create_payments()
        quarry = plans["quarry"]
        quarry.action_activate()
        # The first installment left unpaid for three weeks, as if activated then.
        quarry.line_ids[0].move_line_id.date_maturity = today - timedelta(days=21)
        quarry._set_defaulted(today)
