"""What a customer reads in the emails the addon sends (a letter from the
company, not an Odoo notification), what the collector is told when sending,
and the retry of a failed email from the follow-up history."""

from datetime import timedelta
from unittest.mock import patch

import lxml.html

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.base.models.ir_mail_server import IrMailServer, MailDeliveryException

from .common import CreditCollectionsCommon


def _text(body):
    """The words of an HTML body, whitespace normalized, as the customer reads them."""
    return " ".join(lxml.html.fromstring(body).text_content().split())


@tagged("post_install", "-at_install")
class TestFollowupCustomerEmails(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "name": "Letterhead Supplies",
                "email": "billing@letterhead.example.com",
                "phone": "+1 555 0100",
                "credit_followup_start_mode": "oldest_item",
            }
        )
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.first = policy._get_levels()[1]
        cls.customer.user_id = cls.collector
        cls.invoice = cls._create_invoice(cls.customer, 500.0, days_overdue=5)

    def _send_now(self, partners, **values):
        wizard = (
            self.env["credit.followup.send.wizard"]
            .with_user(self.collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create(values)
        )
        return wizard.action_send()

    def _history(self, partner=None):
        return self.env["credit.followup.history"].search(
            [("partner_id", "=", (partner or self.customer).id)], order="id desc", limit=1
        )

    def _mail_of(self, history):
        return self.env["mail.mail"].search([("mail_message_id", "=", history.mail_message_id.id)])

    def _fail_sending(self, history):
        """The mail queue tries the email against a mail server that refuses it."""
        mail = self._mail_of(history)
        with patch.object(
            IrMailServer,
            "send_email",
            side_effect=MailDeliveryException("Connection refused"),
        ):
            # The mail queue runs as the scheduler (superuser).
            mail.sudo().send(raise_exception=False)
        history.invalidate_recordset()
        return mail

    def _send_queued(self, mail):
        """The mail queue sends the email to a mail server that accepts it."""
        with patch.object(IrMailServer, "send_email", return_value="<sent@example.com>"):
            # The mail queue runs as the scheduler (superuser).
            mail.sudo().send(raise_exception=False)

    def _assert_company_letter(self, body):
        text = _text(body)
        # The company's name on top (letterhead) and its details in the footer.
        header = lxml.html.fromstring(body).xpath("//span[hasclass('o_credit_letter_company')]")
        self.assertEqual([span.text_content() for span in header], ["Letterhead Supplies"])
        self.assertIn("+1 555 0100", text)
        self.assertIn("billing@letterhead.example.com", text)
        # None of Odoo's notification frame.
        for frame in ("Unfollow", "Follow-up History", "Installment Plan", "Powered by"):
            self.assertNotIn(frame, text)
        self.assertNotIn("/mail/unfollow", body)

    # ------------------------------------------------------------------
    # Point 4: a letter from the company
    # ------------------------------------------------------------------

    def test_reminder_email_is_a_letter_from_the_company(self):
        self._send_now(self.customer)
        mail = self._mail_of(self._history())
        self.assertEqual(mail.state, "outgoing")
        self._assert_company_letter(mail.body_html)
        self.assertIn(f"Dear {self.customer.name},", _text(mail.body_html))
        self.assertIn(self.invoice.name, _text(mail.body_html))

    def test_reminder_of_the_scheduled_run_is_a_letter_from_the_company(self):
        self._run_followup_cron()
        mail = self._mail_of(self._history())
        self._assert_company_letter(mail.body_html)

    def test_plan_proposal_is_a_letter_signed_by_its_collector(self):
        plan = (
            self.env["credit.installment.plan"]
            .with_user(self.collector)
            .create(
                {
                    "partner_id": self.customer.id,
                    "source_line_ids": [
                        Command.set(
                            self.invoice.line_ids.filtered(
                                lambda line: line.account_type == "asset_receivable"
                            ).ids
                        )
                    ],
                    "installment_count": 2,
                    "first_due_date": self.today + timedelta(days=30),
                }
            )
        )
        plan.action_compute_schedule()
        self.assertEqual(plan.user_id, self.collector)
        plan.action_propose()
        mail = self.env["mail.mail"].search([("model", "=", plan._name), ("res_id", "=", plan.id)])
        self.assertEqual(len(mail), 1)
        self._assert_company_letter(mail.body_html)
        text = _text(mail.body_html)
        # Signed by the collector, as a person, then the company (the footer
        # names the company again).
        self.assertIn(f"Best regards, {self.collector.name} {self.collector.email}", text)
        self.assertIn("Review and accept", text)

    # ------------------------------------------------------------------
    # Point 5: the personal note, the toast
    # ------------------------------------------------------------------

    def test_personal_note_follows_the_greeting_as_its_own_paragraph(self):
        self._send_now(self.customer, personal_note="<p>As discussed on the phone today.</p>")
        body = self._mail_of(self._history()).body_html
        text = _text(body)
        greeting = text.index(f"Dear {self.customer.name},")
        note = text.index("As discussed on the phone today.")
        letter = text.index("According to our records")
        self.assertLess(greeting, note)
        self.assertLess(note, letter)
        # Its own block, not glued to the greeting's line.
        document = lxml.html.fromstring(body)
        (block,) = document.xpath("//div[p[contains(., 'As discussed on the phone')]]")
        self.assertIn("margin:0px 0px 12px 0px", block.get("style").replace(": ", ":"))
        self.assertIn("Dear", block.getprevious().text_content())

    def test_toast_counts_reminders_queued_and_letters_printed(self):
        action = self._send_now(self.customer)
        self.assertEqual(action["params"]["message"], "1 reminder queued.")
        self.assertEqual(action["params"]["type"], "success")

        other = self._create_customer("Second Customer")
        third = self._create_customer("Third Customer")
        self._create_invoice(other, 100.0, days_overdue=5)
        self._create_invoice(third, 100.0, days_overdue=5)
        action = self._send_now(
            other | third, level_id=self.first.id, send_email=True, send_letter=True
        )
        self.assertEqual(action["params"]["message"], "2 reminders queued. 2 letters printed.")

    def test_toast_says_an_email_not_sent(self):
        self.env["mail.blacklist"].create({"email": self.customer.email})
        action = self._send_now(self.customer)
        self.assertEqual(
            action["params"]["message"], "1 email not sent: see its follow-up history."
        )

    # ------------------------------------------------------------------
    # Point 6: retry a failed email
    # ------------------------------------------------------------------

    def test_collector_retries_a_failed_email_from_the_history(self):
        self._send_now(self.customer)
        history = self._history()
        mail = self._fail_sending(history)
        self.assertEqual(mail.state, "exception")
        self.assertEqual(history.email_state, "exception")
        self.assertIn("Connection refused", history.summary)

        action = history.with_user(self.collector).action_retry_email()

        self.assertEqual(action["params"]["message"], "1 email queued again.")
        self.assertEqual(mail.state, "outgoing")
        history.invalidate_recordset()
        self.assertEqual(history.email_state, "queued")
        retried = f"Email retried by {self.collector.name}: queued again for"
        self.assertIn(retried, history.summary)
        self.assertIn(retried, history.message_ids[0].body)
        self.assertIn(retried, self.customer.message_ids[0].body)
        # Sent once the mail server answers: the history reads Sent.
        self._send_queued(mail)
        history.invalidate_recordset()
        self.assertEqual(history.email_state, "sent")
        self.assertIn("Email sent to", history.summary)

    def test_a_deleted_failed_email_is_sent_anew(self):
        self._send_now(self.customer)
        history = self._history()
        # An administrator deletes it in Technical > Emails (its message goes too).
        self._fail_sending(history).sudo().unlink()
        history.invalidate_recordset()
        self.assertEqual(history.email_state, "exception", "still failed once deleted")

        history.with_user(self.collector).action_retry_email()

        new_mail = self._mail_of(history)
        self.assertEqual(new_mail.state, "outgoing")
        self.assertEqual(new_mail.recipient_ids, history.recipient_ids)
        self._assert_company_letter(new_mail.body_html)
        history.invalidate_recordset()
        self.assertEqual(history.email_state, "queued")

    def test_only_failed_emails_are_retried_from_the_list(self):
        self._send_now(self.customer)
        failed = self._history()
        self._fail_sending(failed)
        other = self._create_customer("Queued Customer")
        self._create_invoice(other, 100.0, days_overdue=5)
        self._send_now(other)
        queued = self._history(other)
        queued_mail = self._mail_of(queued)

        server_action = self.env.ref("credit_collections.action_server_credit_followup_retry_email")
        self.assertEqual(server_action.binding_view_types, "list")
        action = (
            server_action.with_user(self.collector)
            .with_context(active_model=failed._name, active_ids=(failed | queued).ids)
            .run()
        )
        self.assertEqual(action["params"]["message"], "1 email queued again.")
        self.assertEqual(self._mail_of(failed).state, "outgoing")
        self.assertEqual(queued_mail, self._mail_of(queued), "no second email")
        with self.assertRaisesRegex(UserError, "No failed email to retry"):
            queued.with_user(self.collector).action_retry_email()

    def test_salesperson_cannot_retry(self):
        self._send_now(self.customer)
        history = self._history()
        mail = self._fail_sending(history)
        self.assertTrue(history.with_user(self.salesperson).read(["email_state"]))
        with self.assertRaisesRegex(AccessError, "Only collectors and credit managers"):
            history.with_user(self.salesperson).action_retry_email()
        self.assertEqual(mail.state, "exception")

    def test_history_of_another_company_cannot_be_retried(self):
        company_b = self.setup_other_company(name="Retry Company B")["company"]
        company_b.email = "billing@company-b.example.com"
        company_b._credit_create_default_followup_policy()
        customer_b = self._create_customer("Customer Of B", company=company_b)
        self._create_invoice(customer_b, 200.0, days_overdue=5, company=company_b)
        collector_b = self._create_user(
            "cc_collector_b", "credit_collections.group_credit_user", company=company_b
        )
        (
            self.env["credit.followup.send.wizard"]
            .with_user(collector_b)
            .with_company(company_b)
            .with_context(active_model="res.partner", active_ids=customer_b.ids)
            .create({})
            .action_send()
        )
        history = self._history(customer_b)
        self.assertEqual(history.company_id, company_b)
        mail = self._fail_sending(history)
        with self.assertRaises(AccessError):
            history.with_user(self.collector).action_retry_email()
        self.assertEqual(mail.state, "exception")

    # ------------------------------------------------------------------
    # Point 13: the history list adds up nothing that does not add up
    # ------------------------------------------------------------------

    def test_history_list_sums_no_overdue_amounts(self):
        History = self.env["credit.followup.history"].with_user(self.collector)
        arch = History.get_view(view_type="list")["arch"]
        column = lxml.html.fromstring(arch).xpath("//field[@name='overdue_amount']")[0]
        self.assertIsNone(column.get("sum"))
        self.assertFalse(History.fields_get(["overdue_amount"])["overdue_amount"].get("aggregator"))
        self._send_now(self.customer)
        self._send_now(self.customer, level_id=self.first.id)
        groups = History.web_read_group(
            [("partner_id", "=", self.customer.id)],
            fields=["overdue_amount"],
            groupby=["partner_id"],
        )["groups"]
        self.assertNotIn("overdue_amount", groups[0])
