import threading
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged


@tagged("post_install", "-at_install")
class TestFollowupConcurrency(BaseCase):
    """The scheduled action run twice at the same moment, in two connections, on
    committed data: the customer gets its reminder once."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            company._credit_create_default_followup_policy()
            partner = env["res.partner"].create(
                {"name": "Parallel customer", "is_company": True, "email": "p@example.com"}
            )
            invoice = env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "invoice_date": fields.Date.today() - timedelta(days=5),
                    "invoice_date_due": fields.Date.today() - timedelta(days=5),
                    "invoice_payment_term_id": False,
                    "invoice_line_ids": [
                        Command.create({"name": "Goods", "price_unit": 100.0, "tax_ids": []})
                    ],
                }
            )
            invoice.action_post()
            self.partner_id, self.invoice_id = partner.id, invoice.id
        self.addCleanup(self._remove_data)

    def _remove_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["credit.followup.history"].search([("partner_id", "=", self.partner_id)]).unlink()
            invoice = env["account.move"].browse(self.invoice_id)
            invoice.button_draft()
            invoice.unlink()
            partner = env["res.partner"].browse(self.partner_id)
            env["mail.message"].search(
                [("model", "=", "res.partner"), ("res_id", "=", partner.id)]
            ).unlink()
            partner.unlink()

    def test_two_runs_at_once_send_the_reminder_once(self):
        barrier = threading.Barrier(2)
        errors = []

        def run():
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    engine = env["credit.followup.engine"]
                    company = env.ref("base.main_company")
                    partner = env["res.partner"].browse(self.partner_id)
                    engine._get_states(partner, company)
                    barrier.wait(timeout=30)
                    # What the scheduled action does for each batch of customers.
                    engine._run_batch(partner, company)
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=run) for _index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        self.assertFalse(errors)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            histories = env["credit.followup.history"].search(
                [("partner_id", "=", self.partner_id)]
            )
            self.assertEqual(len(histories), 1, histories.mapped("state"))
            self.assertEqual(histories.state, "done")
            messages = env["mail.message"].search(
                [
                    ("model", "=", "res.partner"),
                    ("res_id", "=", self.partner_id),
                    ("message_type", "=", "comment"),
                ]
            )
            self.assertEqual(len(messages), 1)
