"""Demo data of late interest. Demo only: called from
demo/credit_collections_demo.xml, no business code calls it."""

from datetime import timedelta

from odoo import api, fields, models


class CreditInterestRun(models.Model):
    _inherit = "credit.interest.run"

    @api.model
    def _create_demo_interest_run(self):
        """Demo: the administrator, a credit manager, charged and invoiced the
        late interest due up to the end of last month; the scheduled action
        charges this month's days at its first run. No preview is left behind:
        a preview computed at install would be emptied by that run (it charges
        the same days) and be of another day than today once someone opens it."""
        company = self.env.ref("base.main_company")
        admin = self.env.ref("base.user_admin")
        today = fields.Date.context_today(self)
        run = (
            self.with_user(admin)
            .with_company(company)
            .create({"company_id": company.id, "date": today.replace(day=1) - timedelta(days=1)})
        )
        run.action_invoice()
        self.env["ir.model.data"]._update_xmlids(
            [{"xml_id": "credit_collections.demo_credit_interest_run", "record": run}]
        )
        return run
