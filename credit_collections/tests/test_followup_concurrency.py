import threading
from datetime import timedelta
from unittest.mock import patch

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
        self.order_ids = []

    def _remove_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].browse(self.order_ids)
            orders.filtered(lambda order: order.state == "sale")._action_cancel()
            orders.unlink()
            env["credit.followup.history"].search([("partner_id", "=", self.partner_id)]).unlink()
            invoice = env["account.move"].browse(self.invoice_id)
            invoice.button_draft()
            invoice.unlink()
            partner = env["res.partner"].browse(self.partner_id)
            env["mail.message"].search(
                [("model", "=", "res.partner"), ("res_id", "=", partner.id)]
            ).unlink()
            partner.unlink()

    def _restore_company(self, values):
        # The settings were committed: later tests of this database must not see them.
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company_id = values.pop("id")
            env["res.company"].browse(company_id).write(values)

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
        # The run that finds the customer taken leaves it quietly: no failed query.
        with self.assertNoLogs("odoo.sql_db", "ERROR"):
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
            emails = env["mail.mail"].search([("recipient_ids", "in", self.partner_id)])
            self.assertEqual(len(emails), 1)
            self.assertEqual(histories.mail_message_id, emails.mail_message_id)

    def test_two_runners_taking_the_same_batch_send_the_reminder_once(self):
        """Two workers hand the same batch of customers to the batch runner at
        once (two scheduler calls, or a queue bridge's jobs): its savepoint, its
        one-by-one fallback and the customer locks of the follow-ups let one of
        them send; the other leaves the customer, without an error logged on it."""
        barrier = threading.Barrier(2)
        errors = []
        failed = []

        def run():
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    engine = env["credit.followup.engine"].sudo()
                    company = env.ref("base.main_company")
                    batch = env["res.partner"].browse(self.partner_id).with_company(company)
                    engine._get_states(batch, company)
                    barrier.wait(timeout=30)
                    # What the runner does with each batch it takes.
                    failed.append(engine._credit_batch_dispatch(batch))
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=run) for _index in range(2)]
        with self.assertNoLogs("odoo.sql_db", "ERROR"):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=180)
        self.assertFalse(errors)
        self.assertEqual(len(failed), 2)
        self.assertFalse(any(failed), "the customer left to the other run is no failure")
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            histories = env["credit.followup.history"].search(
                [("partner_id", "=", self.partner_id)]
            )
            self.assertEqual(len(histories), 1, histories.mapped("state"))
            self.assertEqual(histories.state, "done")
            emails = env["mail.mail"].search([("recipient_ids", "in", self.partner_id)])
            self.assertEqual(len(emails), 1)
            partner = env["res.partner"].browse(self.partner_id)
            self.assertFalse(
                [body for body in partner.message_ids.mapped("body") if "could not" in body]
            )

    def test_confirmation_does_not_wait_for_a_running_followup_batch(self):
        """A follow-up batch is stopped while it sends its emails (as it would be
        while wkhtmltopdf prints its letters); meanwhile a salesperson confirms an
        order of the same customer, under the credit limit check: it goes through
        at once, and the batch then ends normally."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            settings = ["account_use_credit_limit", "credit_check_over_limit"]
            self.addCleanup(self._restore_company, company.read(settings)[0])
            company.write({"account_use_credit_limit": True, "credit_check_over_limit": True})
            partner = env["res.partner"].browse(self.partner_id)
            partner.with_company(company).write(
                {"credit_limit": 100000.0, "use_partner_credit_limit": True}
            )
            product = env["product.product"].create({"name": "Concurrent product"})
            order = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "order_line": [Command.create({"product_id": product.id, "price_unit": 10})],
                }
            )
            self.order_ids = order.ids
        in_batch, release = threading.Event(), threading.Event()
        history_class = self.registry["credit.followup.history"]
        send_emails = history_class._action_send_email

        def paused_send_emails(histories, *args, **kwargs):
            in_batch.set()
            release.wait(timeout=60)
            return send_emails(histories, *args, **kwargs)

        errors = []

        def run_batch():
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    partner = env["res.partner"].browse(self.partner_id)
                    env["credit.followup.engine"]._run_batch(partner, env.ref("base.main_company"))
            except Exception as error:
                errors.append(error)

        with patch.object(history_class, "_action_send_email", paused_send_emails):
            thread = threading.Thread(target=run_batch)
            thread.start()
            try:
                self.assertTrue(in_batch.wait(timeout=60))
                with self.registry.cursor() as cr:
                    # Waiting for the batch would fail after 5 s instead of hanging.
                    cr.execute("SET LOCAL lock_timeout = '5s'")
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    order = env["sale.order"].browse(self.order_ids)
                    order.action_confirm()
                    self.assertEqual(order.state, "sale")
            finally:
                release.set()
                thread.join(timeout=180)
        self.assertFalse(errors)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            history = env["credit.followup.history"].search([("partner_id", "=", self.partner_id)])
            self.assertEqual(history.state, "done")
            self.assertEqual(env["sale.order"].browse(self.order_ids).state, "sale")
