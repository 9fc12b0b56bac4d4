from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestInterestTour(HttpCase):
    def _late_payer(self, company, manager):
        """A customer owing 10,000.00 due 60 days ago, the only one of the
        company that owes interest. :return: (customer, invoice)"""
        customer = self.env["res.partner"].create(
            {"name": "Tour Interest Payer", "is_company": True, "email": "payer@example.com"}
        )
        # The run is dated in the manager's time zone (none: UTC), not in the
        # test user's: near midnight UTC the two days differ.
        today = fields.Date.context_today(customer.with_user(manager))
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
                        Command.create(
                            {"name": "Goods", "quantity": 1, "price_unit": 10000.0, "tax_ids": []}
                        )
                    ],
                }
            )
        )
        invoice.action_post()
        # The demo customers owe interest too: exempt here, so that the preview
        # shows our customer on its first page.
        self.env["account.move.line"].search(
            [
                ("company_id", "=", company.id),
                ("account_type", "=", "asset_receivable"),
                ("partner_id", "!=", customer.id),
            ]
        ).partner_id.commercial_partner_id.with_company(company).write(
            {"credit_interest_exempt": True}
        )
        return customer, invoice

    def test_credit_manager_enables_interest_previews_and_invoices(self):
        company = self.env.ref("base.main_company")
        # Off to begin with, as on a new database, and with values other than the
        # preset's, which the tour waits for before it leaves the settings.
        company.write(
            {
                "credit_interest_enabled": False,
                "credit_interest_margin": 8.0,
                "credit_interest_print_terms": False,
            }
        )
        manager = new_test_user(
            self.env,
            login="tour_interest_manager",
            groups="base.group_system,account.group_account_manager,"
            "credit_collections.group_credit_manager",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )
        customer, invoice = self._late_payer(company, manager)
        self.start_tour(
            "/odoo/action-credit_collections.action_credit_collections_config_settings",
            "credit_collections_interest_tour",
            login="tour_interest_manager",
        )

        self.assertTrue(company.credit_interest_enabled)
        run = self.env["credit.interest.run"].search(
            [("company_id", "=", company.id), ("user_id.login", "=", "tour_interest_manager")]
        )
        self.assertEqual((len(run), run.state), (1, "done"))
        charged = run.invoice_ids.filtered(lambda move: move.partner_id == customer)
        # 1.5 % a month: 10,000.00 x 18 % x 60 / 365 = 295.890... -> 295.89
        self.assertEqual(charged.amount_total, 295.89)
        self.assertEqual(charged.credit_interest_source_ids, invoice)
