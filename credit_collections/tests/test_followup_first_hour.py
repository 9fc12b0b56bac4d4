from datetime import timedelta

from lxml import html

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon

LETTER = "credit_collections.action_report_followup_letter"


@tagged("post_install", "-at_install")
class TestFollowupFirstHour(CreditCollectionsCommon):
    """What a credit controller meets on the first runs: where follow-ups start,
    what the emails and letters say, who signs them, and what the history tells."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "email": "billing@company.example.com",
                "street": "1 Main Street",
                "city": "Springfield",
                "zip": "12345",
                "country_id": cls.env.ref("base.be").id,
            }
        )
        # wkhtmltopdf would ask the test server for style sheets and wait on the
        # test cursor: a closed port gives an unstyled PDF with the same text.
        cls.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.reminder, cls.first, cls.second, cls.final, cls.collection = policy._get_levels()
        cls.bank_journal = cls.company_data["default_journal_bank"]
        cls.bank_journal.bank_account_id = cls.env["res.partner.bank"].create(
            {
                "acc_number": "BE71 0961 2345 6769",
                "partner_id": cls.company.partner_id.id,
                "allow_out_payment": True,
            }
        )

    def _customer(self, name, days_overdue=90, **vals):
        customer = self._create_customer(name, **vals)
        invoice = self._create_invoice(customer, 1200.0, days_overdue=days_overdue)
        return customer, invoice

    def _histories(self, customer):
        return self.env["credit.followup.history"].search(
            [("partner_id", "=", customer.id), ("company_id", "=", self.company.id)],
            order="id",
        )

    def _email_text(self, history):
        mail = self.env["mail.mail"].search([("mail_message_id", "=", history.mail_message_id.id)])
        self.assertEqual(len(mail), 1)
        return " ".join(html.fromstring(mail.body_html).text_content().split()), mail

    def _letter_text(self, history):
        content, _type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(LETTER, history.ids)
        )
        return self._pdf_text(content)

    # ------------------------------------------------------------------
    # 1. Go-live: where follow-ups start
    # ------------------------------------------------------------------

    def test_first_run_starts_at_the_first_reminder_and_climbs_one_level_at_a_time(self):
        self.assertEqual(self.company.credit_followup_start_mode, "first_level")
        customer, _invoice = self._customer("Never Reminded", days_overdue=90)
        self._run_followup_cron()
        histories = self._histories(customer)
        # 90 days overdue reaches "Collection action" (+60), but nobody was ever
        # reminded: the first letter is the first reminder after the due date.
        self.assertEqual(histories.level_id, self.first)
        text, _mail = self._email_text(histories)
        self.assertNotIn("despite", text.lower())

        # The next day nothing more: the second reminder (+15) comes 14 days
        # (15 - 1) after the first one.
        self._run_followup_cron()
        self.assertEqual(len(self._histories(customer)), 1)
        state = customer.with_company(self.company)._get_followup_state()
        self.assertEqual(state["status"], "waiting")
        self.assertEqual(state["next_action_date"], self.today + timedelta(days=14))

        # Fourteen days later (the first reminder moved back in time).
        histories.sudo().date = self.today - timedelta(days=14)
        customer.with_company(self.company).sudo().followup_last_date = histories.date
        self._run_followup_cron()
        second = self._histories(customer)[-1]
        self.assertEqual(second.level_id, self.second)
        text, _mail = self._email_text(second)
        self.assertIn("Despite our previous reminder", text)

    def test_oldest_item_mode_applies_the_level_of_the_oldest_item(self):
        self.company.credit_followup_start_mode = "oldest_item"
        customer, _invoice = self._customer("Jumps Ahead", days_overdue=40)
        self._run_followup_cron()
        self.assertEqual(self._histories(customer).level_id, self.final)
        text, _mail = self._email_text(self._histories(customer))
        # A final notice as first contact never speaks of earlier reminders.
        self.assertIn("This is our final notice: the invoices below are still unpaid.", text)
        self.assertNotIn("despite our reminders", text)

    def test_start_mode_is_in_the_settings(self):
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        self.assertEqual(settings.credit_followup_start_mode, "first_level")
        settings.credit_followup_start_mode = "oldest_item"
        settings.execute()
        self.assertEqual(self.company.credit_followup_start_mode, "oldest_item")
        arch = self.env["res.config.settings"].get_view(view_type="form")["arch"]
        self.assertIn('name="credit_followup_start_mode"', arch)

    # ------------------------------------------------------------------
    # 2-3. Letters: address, title, text, how to pay
    # ------------------------------------------------------------------

    def test_final_notice_letter_is_posted_to_a_complete_address_with_how_to_pay(self):
        customer, invoice = self._customer(
            "Letter Customer",
            days_overdue=35,
            street="Rue de la Loi 16",
            city="Brussels",
            zip="1000",
            country_id=self.env.ref("base.be").id,
        )
        # The first invoice contact has a name but no postal address.
        self.env["res.partner"].create(
            {"name": "Accounts Payable", "parent_id": customer.id, "type": "invoice"}
        )
        customer.with_company(self.company).followup_responsible_id = self.collector
        result = customer.with_company(self.company)._followup_send_manually(level=self.final)
        history = result["done"]
        text = self._letter_text(history)
        # Posted to the customer, whose address is complete.
        self.assertIn("Rue de la Loi 16", text)
        self.assertIn("1000 Brussels", text)
        # The level's own letter: its title, not the internal level name, and a
        # text that matches the final notice email.
        self.assertIn("Final notice", text)
        self.assertIn("This is our final notice", text)
        self.assertNotIn("earliest convenience", text)
        # How to pay: the bank account, the reference, the invoice's pay link.
        self.assertIn("BE71 0961 2345 6769", text)
        self.assertIn(invoice.payment_reference, text)
        self.assertIn("Scan to pay online", text)
        self.assertIn(f"/my/invoices/{invoice.id}", text.replace(" ", ""))
        # Signed by the collector and the company.
        self.assertIn(self.collector.name, text)
        self.assertNotIn("Warning", history.summary)

        collection = customer.with_company(self.company)._followup_preview_history(self.collection)
        title = collection._render_letter()["title"]
        self.assertEqual(title, "Notice before collection proceedings")

    def test_letter_without_any_complete_address_warns_the_collector(self):
        customer, _invoice = self._customer("No Address", days_overdue=20, city="Nowhere")
        result = customer.with_company(self.company)._followup_send_manually(
            level=self.second, send_email=False, send_letter=True
        )
        history = result["done"]
        self.assertTrue(history.letter_attachment_id)
        self.assertIn("no complete postal address", history.summary)
        activity = history.activity_id
        self.assertEqual(activity.summary, "No postal address for follow-up letters")

    # ------------------------------------------------------------------
    # 4. Signature and author
    # ------------------------------------------------------------------

    def test_scheduled_emails_are_signed_by_the_collector_or_the_company(self):
        signed, _invoice = self._customer("Has Collector", days_overdue=3)
        signed.with_company(self.company).followup_responsible_id = self.collector
        unsigned, _invoice = self._customer("No Collector", days_overdue=3)
        self._run_followup_cron()

        text, mail = self._email_text(self._histories(signed))
        self.assertIn(
            f"Best regards, {self.collector.name} {self.collector.email} {self.company.name}", text
        )
        self.assertEqual(mail.author_id, self.collector.partner_id)
        text, mail = self._email_text(self._histories(unsigned))
        self.assertIn(f"Best regards, {self.company.name}", text)
        self.assertEqual(mail.author_id, self.company.partner_id)
        for history in self._histories(signed) | self._histories(unsigned):
            body, _mail = self._email_text(history)
            self.assertNotIn("-- ", body)
            self.assertNotIn("System", body)
            self.assertNotIn("OdooBot", body)

    # ------------------------------------------------------------------
    # 5. What the history says about the email
    # ------------------------------------------------------------------

    def test_history_says_queued_then_sent(self):
        customer, _invoice = self._customer("Queued Customer", days_overdue=3)
        self._run_followup_cron()
        history = self._histories(customer)
        self.assertIn("Email queued for queued.customer@example.com", history.summary)
        self.assertEqual(history.email_state, "queued")
        _text, mail = self._email_text(history)
        # The mail queue runs as a system job.
        mail.sudo().send()
        self.assertIn("Email sent to queued.customer@example.com.", history.summary)
        history.invalidate_recordset(["email_state"])  # as the screen reads it again
        self.assertEqual(history.email_state, "sent")

    def test_invalid_address_is_not_emailed_and_asks_the_collector(self):
        customer, _invoice = self._customer(
            "Invalid Address", days_overdue=3, email="not an email at all"
        )
        customer.with_company(self.company).followup_responsible_id = self.collector
        self._run_followup_cron()
        history = self._histories(customer)
        self.assertFalse(history.mail_message_id)
        self.assertNotIn("Email sent", history.summary)
        self.assertIn("Invalid email address, not emailed", history.summary)
        self.assertIn("not an email at all", history.summary)
        self.assertEqual(history.activity_id.summary, "Invalid email address for follow-ups")
        self.assertEqual(history.activity_id.user_id, self.collector)

    # ------------------------------------------------------------------
    # 8-9. Settings
    # ------------------------------------------------------------------

    def test_settings_menu_opens_at_the_addon_section(self):
        action = self.env.ref("credit_collections.action_credit_collections_config_settings")
        self.assertIn("'module': 'credit_collections'", action.context)
        arch = self.env["res.config.settings"].get_view(view_type="form")["arch"]
        self.assertIn('name="credit_collections"', arch)
        for field in ("credit_followup_min_amount", "credit_followup_fee_product_id"):
            self.assertIn(f'name="{field}"', arch)

    def test_negative_default_credit_limit_is_refused_where_it_is_typed(self):
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        # assertRaises (not ...Regex) rolls the refused write back, as the web
        # client's failed save does.
        with self.assertRaises(ValidationError) as refusal:
            settings.account_default_credit_limit = -100.0
        self.assertIn("Default Credit Limit cannot be negative", str(refusal.exception))
        # Contacts can still be created: the default never became -100.
        partner = self.env["res.partner"].create({"name": "Created After"})
        self.assertGreaterEqual(partner.with_company(self.company).credit_limit, 0.0)

    # ------------------------------------------------------------------
    # 15. Send Now: the collector edits the email
    # ------------------------------------------------------------------

    def _send_wizard(self, customer, **vals):
        return (
            self.env["credit.followup.send.wizard"]
            .with_user(self.collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_ids=customer.ids)
            .create(vals)
        )

    def test_send_now_with_edited_email_recipients_and_copy(self):
        customer, _invoice = self._customer("Edited Customer", days_overdue=20)
        other = self.env["res.partner"].create(
            {"name": "Finance Director", "email": "director@example.com", "parent_id": customer.id}
        )
        wizard = self._send_wizard(
            customer, level_id=self.second.id, send_email=True, send_letter=False
        )
        # The preview shows whom it goes to, with the address.
        self.assertEqual(wizard.recipient_ids, customer)
        self.assertIn(
            "edited.customer@example.com",
            wizard.recipient_ids.with_context(show_email=True).display_name,
        )
        wizard.write(
            {
                "recipient_ids": [Command.set(other.ids)],
                "email_cc": "auditor@example.com",
                "edit_email": True,
                # The auditor is no contact of the customer.
                "confirm_outside_recipients": True,
            }
        )
        # Editing starts from the level's email as the customer would get it.
        self.assertIn("Please pay them without further delay", wizard.edited_body)
        wizard.write(
            {
                "edited_subject": "Your account with us",
                "edited_body": "<p>Dear Sir, as agreed on the phone, please pay today.</p>",
            }
        )
        wizard.action_send()
        history = self._histories(customer)
        self.assertEqual(history.recipient_ids, other)
        mail = self.env["mail.mail"].search([("mail_message_id", "=", history.mail_message_id.id)])
        self.assertEqual(mail.subject, "Your account with us")
        self.assertIn("as agreed on the phone", mail.body_html)
        self.assertEqual(mail.recipient_ids, other)
        self.assertEqual(mail.email_cc, "auditor@example.com")
        self.assertIn("Email queued for director@example.com", history.summary)

    def test_send_now_never_runs_what_the_collector_types_as_a_template(self):
        customer, _invoice = self._customer("Template Typist", days_overdue=20)
        wizard = self._send_wizard(
            customer, level_id=self.second.id, send_email=True, send_letter=False
        )
        wizard.write(
            {
                "edit_email": True,
                "edited_subject": "{{ object.env['res.users'].search([]).mapped('login') }}",
                "edited_body": '<p t-out="object.env.user.login">Pay {{ 6 * 7 }} now</p>',
            }
        )
        wizard.action_send()
        history = self._histories(customer)
        mail = self.env["mail.mail"].search([("mail_message_id", "=", history.mail_message_id.id)])
        # Sent as typed: nothing evaluated, the t-out attribute sanitized away.
        self.assertEqual(mail.subject, "{{ object.env['res.users'].search([]).mapped('login') }}")
        self.assertIn("Pay {{ 6 * 7 }} now", mail.body_html)
        self.assertNotIn(self.collector.login, mail.body_html)

    def test_send_now_personal_note_above_the_level_email(self):
        customer, invoice = self._customer("Noted Customer", days_overdue=20)
        wizard = self._send_wizard(
            customer, level_id=self.second.id, send_email=True, send_letter=False
        )
        wizard.personal_note = "<p>Following our call of this morning.</p>"
        wizard.action_send()
        history = self._histories(customer)
        text, mail = self._email_text(history)
        self.assertIn("Following our call of this morning.", text)
        # The level's own email follows, with its statement and how to pay.
        self.assertIn("Please pay them without further delay", text)
        self.assertIn(invoice.name, text)
        self.assertLess(text.index("Following our call"), text.index("Please pay them"))
        self.assertEqual(mail.recipient_ids, customer)

    # ------------------------------------------------------------------
    # Odoo's own screens keep working
    # ------------------------------------------------------------------

    def test_contacts_merge_works_on_customers_whose_credit_was_checked(self):
        """Contacts > Merge rewrites every column referring to the merged
        partners: the credit lock table must not break it."""
        first = self._create_customer("Duplicate One", limit=5000.0)
        second = self._create_customer("Duplicate Two", limit=5000.0)
        # A credit decision on each: they now have a lock row.
        self.env["credit.exposure"]._lock_partners(first | second)
        wizard = (
            self.env["base.partner.merge.automatic.wizard"]
            .with_context(active_model="res.partner", active_ids=(first | second).ids)
            .create({})
        )
        wizard._merge((first | second).ids, first)
        self.assertTrue(first.exists())
        self.assertFalse(second.exists())
