from datetime import date, timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestFirstDayPlansTour(HttpCase):
    """Issue 20, points 11 and 3, as the roles see them: a collector's plan form
    (no Activate where they may not, no Cancel Plan on a new draft), then a
    credit manager's late interest run with nothing to charge."""

    def _user(self, login, groups, company):
        return new_test_user(
            self.env,
            login=login,
            groups=groups,
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
            tz=self.env.user.tz or "UTC",
        )

    def _overdue_items(self, company, customer, amount, today):
        invoice = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_date": today - timedelta(days=60),
                    "invoice_date_due": today - timedelta(days=60),
                    "invoice_payment_term_id": False,
                    "invoice_line_ids": [
                        Command.create({"name": "Goods", "price_unit": amount, "tax_ids": []})
                    ],
                }
            )
        )
        invoice.action_post()
        return invoice.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def test_collector_plan_actions_and_interest_run_with_nothing_to_charge(self):
        company = self.env.ref("base.main_company")
        company.credit_plan_collector_max_amount = 0.0
        collector = self._user(
            "tour_plans_collector", "credit_collections.group_credit_user", company
        )
        manager = self._user(
            "tour_plans_manager",
            "account.group_account_invoice,credit_collections.group_credit_manager",
            company,
        )
        today = fields.Date.context_today(manager)
        customer = self.env["res.partner"].create(
            {"name": "Tour First Day Debtor", "is_company": True}
        )
        plan = self.env["credit.installment.plan"].create(
            {
                "partner_id": customer.id,
                "company_id": company.id,
                "source_line_ids": [
                    Command.set(self._overdue_items(company, customer, 1200.0, today).ids)
                ],
                "installment_count": 3,
                "first_due_date": today + timedelta(days=30),
                "user_id": collector.id,
            }
        )
        plan.action_compute_schedule()
        self.start_tour(
            f"/odoo/action-credit_collections.action_credit_installment_plan/{plan.id}",
            "credit_collections_plan_collector_actions_tour",
            login="tour_plans_collector",
        )
        self.assertEqual(plan.state, "draft")

        company.write(
            {
                "credit_interest_enabled": True,
                # The company's own rate table, not a published reference.
                "credit_interest_reference": False,
                "credit_interest_journal_id": self.env["account.journal"]
                .search([("company_id", "=", company.id), ("type", "=", "sale")], limit=1)
                .id,
            }
        )
        # The demo's rate table may already be there (1.5 % a month); a table
        # with no entry would leave nothing to charge for another reason.
        Rate = self.env["credit.interest.rate"]
        if not Rate.search_count([("company_id", "=", company.id)]):
            Rate.create(
                {
                    "name": "Tour rate",
                    "date_from": date(2000, 1, 1),
                    "rate": 12.0,
                    "company_id": company.id,
                }
            )
        Run = self.env["credit.interest.run"].with_user(manager).with_company(company)
        # The demo's stale preview: computed, left, and another run invoiced since.
        stale = Run.create({"date": today, "company_id": company.id})
        stale.action_compute()
        Run.create({"date": today, "company_id": company.id}).action_invoice()
        self.start_tour(
            f"/odoo/action-credit_collections.action_credit_interest_run/{stale.id}",
            "credit_collections_interest_nothing_tour",
            login="tour_plans_manager",
        )
        self.assertEqual(stale.state, "nothing")
        self.assertFalse(stale.invoice_ids)
