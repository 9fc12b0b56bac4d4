from datetime import timedelta
from unittest.mock import patch

from odoo import Command, fields
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.base.models.ir_mail_server import IrMailServer, MailDeliveryException


@tagged("post_install", "-at_install")
class TestFollowupMailTour(HttpCase):
    def test_collector_retries_a_failed_email_from_the_history(self):
        company = self.env.ref("base.main_company")
        company.email = company.email or "billing@company.example.com"
        company._credit_create_default_followup_policy()
        # The collector with the addon's group alone, as the demo collector.
        collector = new_test_user(
            self.env,
            login="tour_mail_collector",
            name="Tour Collector",
            groups="credit_collections.group_credit_user",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
            tz=self.env.user.tz or "UTC",
        )
        customer = self.env["res.partner"].create(
            {"name": "Tour Failed Payer", "is_company": True, "email": "failed.payer@example.com"}
        )
        today = fields.Date.context_today(customer)
        invoice = (
            self.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": customer.id,
                    "invoice_date": today - timedelta(days=35),
                    "invoice_date_due": today - timedelta(days=5),
                    "invoice_payment_term_id": False,
                    "invoice_line_ids": [
                        Command.create(
                            {"name": "Goods", "quantity": 1, "price_unit": 1234.56, "tax_ids": []}
                        )
                    ],
                }
            )
        )
        invoice.action_post()
        policy = self.env["credit.followup.policy"]._get_company_default(company)
        first = policy._get_levels()[1]
        histories = self.env["credit.followup.history"]
        for _send in range(2):
            (
                self.env["credit.followup.send.wizard"]
                .with_user(collector)
                .with_company(company)
                .with_context(active_model="res.partner", active_ids=customer.ids)
                .create({"level_id": first.id, "send_email": True, "send_letter": False})
                .action_send()
            )
            histories = customer.followup_history_ids
        self.assertEqual(len(histories), 2)
        failed = histories.sorted("id")[0]
        mail = self.env["mail.mail"].search([("mail_message_id", "=", failed.mail_message_id.id)])
        # The mail queue (the scheduler, superuser) meets a mail server that refuses it.
        with patch.object(
            IrMailServer, "send_email", side_effect=MailDeliveryException("Connection refused")
        ):
            mail.sudo().send(raise_exception=False)
        self.assertEqual(failed.email_state, "exception")

        self.start_tour(
            "/odoo/action-credit_collections.action_credit_followup_history",
            "credit_collections_mail_tour",
            login="tour_mail_collector",
        )

        self.assertEqual(mail.state, "outgoing")
        failed.invalidate_recordset()
        self.assertEqual(failed.email_state, "queued")
