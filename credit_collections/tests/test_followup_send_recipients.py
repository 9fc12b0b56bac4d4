from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.mail.tests.common import MailCommon

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestFollowupSendRecipients(CreditCollectionsCommon, MailCommon):
    """Send Now emails a customer's statement to the customer's own contacts
    (the contacts of its commercial entity). Anyone else, in To or in Cc, only
    when the collector confirms it, logged on the customer and the follow-up:
    checked by the server whatever the screen shows, as the bare collector
    calls it over RPC."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {"email": "billing@company.example.com", "credit_followup_start_mode": "oldest_item"}
        )
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        _reminder, cls.first, cls.second, _final, _collection = policy._get_levels()
        # The collector as the addon ships the role: nothing else.
        cls.bare_collector = cls._create_user(
            "cc_send_collector", "credit_collections.group_credit_user"
        )
        cls.invoice = cls._create_invoice(cls.customer, 900.0, days_overdue=5)
        cls.accounts = cls.env["res.partner"].create(
            {
                "name": "Accounts Payable",
                "parent_id": cls.customer.id,
                "type": "invoice",
                "email": "ap@credit-customer.example.com",
            }
        )
        cls.buyer = cls.env["res.partner"].create(
            {"name": "Head Buyer", "parent_id": cls.customer.id, "email": "buyer@example.com"}
        )
        cls.competitor = cls._create_customer("Competitor Inc")
        cls.competitor_contact = cls.env["res.partner"].create(
            {
                "name": "Competitor Finance",
                "parent_id": cls.competitor.id,
                "email": "finance@competitor.example.com",
            }
        )
        cls._create_invoice(cls.competitor, 100.0, days_overdue=5)

    def _wizard(self, partners, **vals):
        """The wizard as an RPC call creates it: every value sent at once."""
        return (
            self.env["credit.followup.send.wizard"]
            .with_user(self.bare_collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create(vals)
        )

    def _histories(self, partner=None):
        return self.env["credit.followup.history"].search(
            [("partner_id", "=", (partner or self.customer).id)]
        )

    def _mail(self, history):
        return self._new_mails.filtered(
            lambda mail: mail.mail_message_id == history.mail_message_id
        )

    def test_own_contacts_need_no_confirmation(self):
        wizard = self._wizard(
            self.customer,
            level_id=self.first.id,
            recipient_ids=[Command.set((self.accounts | self.buyer).ids)],
            # A contact's address in copy, written in capitals: still the customer's.
            email_cc="Head Buyer <BUYER@example.com>",
        )
        self.assertFalse(wizard.outside_recipients_warning)
        with self.mock_mail_gateway():
            wizard.action_send()
        history = self._histories()
        mail = self._mail(history)
        self.assertEqual(mail.recipient_ids, self.accounts | self.buyer)
        self.assertEqual(mail.state, "outgoing")
        self.assertNotIn("beyond", history.summary)

    def test_another_customers_contact_is_refused_without_confirmation(self):
        wizard = self._wizard(
            self.customer,
            level_id=self.first.id,
            recipient_ids=[Command.set(self.competitor_contact.ids)],
        )
        self.assertIn("Competitor Finance", wizard.outside_recipients_warning)
        self.assertIn("finance@competitor.example.com", wizard.outside_recipients_warning)
        with self.mock_mail_gateway(), self.assertRaisesRegex(UserError, "Competitor Finance"):
            wizard.action_send()
        self.assertFalse(self._histories())
        self.assertFalse(self._new_mails)

    def test_confirmed_outside_recipient_is_sent_and_logged(self):
        wizard = self._wizard(
            self.customer,
            level_id=self.first.id,
            recipient_ids=[Command.set((self.accounts | self.competitor_contact).ids)],
            confirm_outside_recipients=True,
        )
        with self.mock_mail_gateway():
            wizard.action_send()
        history = self._histories()
        mail = self._mail(history)
        self.assertEqual(mail.recipient_ids, self.accounts | self.competitor_contact)
        self.assertIn(self.invoice.name, mail.body_html)
        self.assertIn(
            "Emailed beyond the customer's contacts, to "
            '"Competitor Finance" <finance@competitor.example.com>: confirmed by '
            f"{self.bare_collector.name}.",
            history.summary,
        )
        note = self.customer.message_ids[0]
        self.assertIn("emailed beyond the customer's contacts", note.body)
        self.assertIn("finance@competitor.example.com", note.body)
        self.assertIn(self.bare_collector.name, note.body)
        self.assertIn(self.first.name, note.body)

    def test_copy_to_an_outside_address_needs_confirmation_too(self):
        wizard = self._wizard(self.customer, level_id=self.first.id, email_cc="auditor@example.com")
        self.assertIn("auditor@example.com", wizard.outside_recipients_warning)
        with self.mock_mail_gateway(), self.assertRaisesRegex(UserError, "auditor@example.com"):
            wizard.action_send()
        self.assertFalse(self._new_mails)
        wizard.confirm_outside_recipients = True
        with self.mock_mail_gateway():
            wizard.action_send()
        mail = self._mail(self._histories())
        # Odoo's mass mailing turns the copies of a template's email into recipients.
        self.assertIn("auditor@example.com", mail.recipient_ids.mapped("email"))
        self.assertIn("auditor@example.com", self._histories().summary)

    def test_copy_in_a_mass_send_is_judged_per_customer(self):
        """The copy goes with each customer's email: a contact of one customer
        is an outsider to the other."""
        wizard = self._wizard(
            self.customer | self.competitor, email_cc="finance@competitor.example.com"
        )
        self.assertIn("Credit Customer", wizard.outside_recipients_warning)
        self.assertNotIn("Competitor Inc:", wizard.outside_recipients_warning)
        with self.mock_mail_gateway(), self.assertRaisesRegex(UserError, "Credit Customer"):
            wizard.action_send()
        self.assertFalse(self._new_mails)

    def test_no_email_no_confirmation(self):
        """A letter alone reaches nobody by email: nothing to confirm."""
        wizard = self._wizard(
            self.customer,
            level_id=self.second.id,
            send_email=False,
            send_letter=True,
            email_cc="auditor@example.com",
        )
        wizard.action_send()
        history = self._histories()
        self.assertEqual(history.level_id, self.second)
        self.assertFalse(history.mail_message_id)
        self.assertNotIn("beyond", history.summary or "")
