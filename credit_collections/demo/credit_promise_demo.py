"""Demo data of promises to pay, recorded as the demo collector records them
(a call logged on the customer). Demo only: called from
demo/credit_collections_demo.xml, no business code calls it."""

from datetime import timedelta

from odoo import api, fields, models


class CreditPromise(models.Model):
    _inherit = "credit.promise"

    @api.model
    def _create_demo_promises(self):
        """Demo: Sarah Collins, the collector, called Ironbridge Engineering,
        which promised to pay its overdue invoice within a week."""
        collector = self.env.ref("credit_collections.demo_user_collector")
        invoice = self.env.ref("credit_collections.demo_invoice_ironbridge_1")
        customer = invoice.commercial_partner_id.with_user(collector).with_company(
            invoice.company_id
        )
        items = invoice.line_ids.filtered(lambda line: line._credit_is_overdue())
        return customer._followup_log_call(
            "promised",
            note=self.env._("Marcus Bell says the transfer leaves with next week's payment run."),
            amount=sum(items.mapped("amount_residual")),
            promised_date=fields.Date.context_today(self) + timedelta(days=7),
            lines=items,
        )
