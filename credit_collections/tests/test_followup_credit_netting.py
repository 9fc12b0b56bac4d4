from datetime import date

from lxml import html

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import format_amount

from odoo.addons.mail.tests.common import MailCommon

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestFollowupCreditNetting(CreditCollectionsCommon, MailCommon):
    """Open credit notes and unapplied payments pay for the oldest chased items
    first, before a follow-up level is chosen, a customer is held for overdue
    amounts or late interest is charged. Worked out by hand: 12 % a year,
    actual/365, no grace days, 40.00 of compensation per late invoice; the
    company's currency is USD, 1 USD = 2 EUR."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "email": "billing@company.example.com",
                "credit_followup_start_mode": "oldest_item",
                "credit_hold_overdue_days": 30,
                "credit_interest_enabled": True,
                "credit_interest_journal_id": cls.company_data["default_journal_sale"].id,
                "credit_interest_compensation_amount": 40.0,
            }
        )
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.reminder, cls.first, cls.second, cls.final, _collection = policy._get_levels()
        cls.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        cls.usd = cls.company.currency_id
        cls.eur = cls.setup_other_currency("EUR")
        # The collector as the addon ships the role: nothing else.
        cls.bare_collector = cls._create_user(
            "cc_netting_collector", "credit_collections.group_credit_user"
        )
        cls.debtor = cls._create_customer("Deco Debtor")
        cls.debtor.with_company(cls.company).followup_responsible_id = cls.bare_collector

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _credit_note(self, amount, days_ago=10, currency=None):
        return self._create_invoice(
            self.debtor, amount, days_overdue=days_ago, move_type="out_refund", currency=currency
        )

    def _unapplied_payment(self, amount):
        payment = self.env["account.payment"].create(
            {
                "payment_type": "inbound",
                "partner_type": "customer",
                "partner_id": self.debtor.id,
                "amount": amount,
                "date": self.today,
                "journal_id": self.company_data["default_journal_bank"].id,
            }
        )
        payment.action_post()
        return payment

    def _run_followups(self):
        with self.mock_mail_gateway():
            self._run_followup_cron()
        self.env.invalidate_all()
        return self.env["credit.followup.history"].search(
            [("partner_id", "=", self.debtor.id)], order="id"
        )

    def _run_interest(self):
        run = self.env["credit.interest.run"].create({"date": self.today})
        run.action_invoice()
        return run

    def _snapshot(self):
        return self.env["credit.exposure"]._get_snapshots(self.debtor, self.company)[self.debtor.id]

    @staticmethod
    def _text(body):
        # Spaces as one, and without the joiners the monetary widget puts after a
        # minus sign.
        text = html.fromstring(body).text_content().replace("\ufeff", "").replace("\u200b", "")
        return " ".join(text.split())

    def _email_text(self, history):
        """The text of the email Odoo queued for the follow-up."""
        mail = self._new_mails.filtered(
            lambda mail: mail.mail_message_id == history.mail_message_id
        )
        self.assertEqual(len(mail), 1)
        return self._text(mail.body_html)

    def _amount(self, amount, currency):
        return " ".join(format_amount(self.env, amount, currency).split()).replace("\ufeff", "")

    def _credit_note_lines(self):
        return self.env["account.move.line"].search(
            [
                ("partner_id", "=", self.debtor.id),
                ("move_id.move_type", "=", "out_refund"),
                ("account_type", "=", "asset_receivable"),
            ]
        )

    def _reconcile_activities(self):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "res.partner"),
                ("res_id", "=", self.debtor.id),
                (
                    "activity_type_id",
                    "=",
                    self.env.ref("credit_collections.mail_activity_credit_reconcile").id,
                ),
            ]
        )

    # ------------------------------------------------------------------
    # Worked examples
    # ------------------------------------------------------------------

    def test_credit_equal_to_overdue_is_neither_reminded_nor_charged(self):
        """Odoo's Deco Addict: an open credit note equals its overdue invoice.
        31,750.00 due 40 days ago, credited 31,750.00 ten days ago: nothing is
        owed net. Without netting: a final notice for 31,750.00, a hold, and
        31,750.00 x 12 % x 40 / 365 = 417.53 of interest plus 40.00."""
        invoice = self._create_invoice(self.debtor, 31750.0, days_overdue=40)
        self._credit_note(31750.0, days_ago=10)

        histories = self._run_followups()

        self.assertFalse(histories, "nothing is owed net: no follow-up")
        self.assertFalse(self._new_mails.filtered(lambda mail: self.debtor in mail.recipient_ids))
        partner = self.debtor.with_company(self.company)
        self.assertEqual(partner.followup_status, "reconcile")
        self.assertFalse(partner.credit_hold)
        # The collector is asked to reconcile, once, and the customer's chatter says why.
        activity = self._reconcile_activities()
        self.assertEqual(activity.user_id, self.bare_collector)
        self.assertIn("31,750.00", activity.note)
        self.assertIn("Reconcile them", self.debtor.message_ids[0].body)
        self._run_followups()
        self.assertEqual(len(self._reconcile_activities()), 1, "not again while it is open")
        # Nor held for the overdue amount: the hold rule nets as the exposure does.
        snapshot = self._snapshot()
        self.assertEqual(snapshot["exposure"], 0.0)
        self.assertEqual(snapshot["overdue_for_hold"], 0.0)
        self.assertNotIn("_rule_overdue", snapshot["blocking_rules"])
        # Nor charged: no interest, no compensation.
        run = self._run_interest()
        self.assertFalse(run.accrual_ids)
        self.assertFalse(run.invoice_ids)
        # Nor reminded by hand.
        wizard = (
            self.env["credit.followup.send.wizard"]
            .with_user(self.bare_collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_ids=self.debtor.ids)
            .create({"level_id": self.first.id})
        )
        with self.assertRaisesRegex(UserError, "open credits cover what is overdue"):
            wizard.action_send()
        # Once reconciled, nothing is open and the activity has done its work.
        (invoice.line_ids | self._credit_note_lines()).filtered(
            lambda line: line.account_type == "asset_receivable"
        ).reconcile()
        self.env.invalidate_all()
        self.assertEqual(self.debtor.with_company(self.company).followup_status, "no_action")

    def test_credit_covering_the_oldest_item_only(self):
        """1,000.00 due 40 days ago and 2,000.00 due 20 days ago; an open credit
        note of 1,000.00 pays the oldest. The level is the one the next oldest
        reached (second reminder at +15, not the final notice at +30 of the
        first), for 2,000.00; no overdue hold (nothing left over 30 days);
        interest on the second only: 2,000.00 x 12 % x 20 / 365 = 13.150... ->
        13.15, and 40.00 for it alone."""
        oldest = self._create_invoice(self.debtor, 1000.0, days_overdue=40)
        second = self._create_invoice(self.debtor, 2000.0, days_overdue=20)
        credit_note = self._credit_note(1000.0)
        # Customers may pay online: the link asks for what is due net.
        self.env["payment.provider"].create(
            {"name": "Test provider", "state": "test", "company_id": self.company.id}
        )

        history = self._run_followups()

        self.assertEqual(history.level_id, self.second)
        self.assertEqual(history.overdue_amount, 2000.0)
        self.assertFalse(self.debtor.with_company(self.company).credit_hold)
        self.assertFalse(self._reconcile_activities(), "the credit leaves an amount due")
        text = self._email_text(history)
        # Both invoices listed as they stand, then the credit and what is left.
        self.assertIn(oldest.name, text)
        self.assertIn(second.name, text)
        self.assertIn(
            f"Open credits Date Open Amount Credit note {credit_note.name}",
            text,
        )
        self.assertIn(f"Net amount due USD {self._amount(2000.0, self.usd)}", text)
        self.assertLess(text.index(second.name), text.index("Open credits"))
        pay_links = html.fromstring(
            self._new_mails.filtered(
                lambda mail: mail.mail_message_id == history.mail_message_id
            ).body_html
        ).xpath("//a[contains(@href, '/payment/pay?')]/@href")
        self.assertEqual(len(pay_links), 1)
        self.assertIn("amount=2000.0&", pay_links[0])

        snapshot = self._snapshot()
        self.assertEqual(snapshot["overdue_for_hold"], 0.0)
        self.assertEqual(snapshot["overdue_undisputed"], 2000.0)
        self.assertNotIn("_rule_overdue", snapshot["blocking_rules"])

        run = self._run_interest()
        self.assertRecordValues(
            run.accrual_ids.sorted(lambda accrual: (accrual.kind, accrual.id)),
            [
                {
                    "kind": "compensation",
                    "move_id": second.id,
                    "days": 0,
                    "base_amount": 0.0,
                    "amount": 40.0,
                },
                {
                    "kind": "interest",
                    "move_id": second.id,
                    "days": 20,
                    "base_amount": 2000.0,
                    "amount": 13.15,
                },
            ],
        )
        self.assertEqual(run.invoice_ids.amount_total, 53.15)

    def test_partial_credit_lowers_the_base(self):
        """10,000.00 due 50 days ago, an open credit note of 4,000.00: 6,000.00
        is due. Interest 6,000.00 x 12 % x 50 / 365 = 98.630... -> 98.63, on a
        base of 6,000.00; the final notice is for 6,000.00. The overdue hold
        counts 6,000.00 over 30 days."""
        invoice = self._create_invoice(self.debtor, 10000.0, days_overdue=50)
        credit_note = self._credit_note(4000.0)

        history = self._run_followups()

        self.assertEqual(history.overdue_amount, 6000.0)
        text = self._email_text(history)
        self.assertIn(self._amount(10000.0, self.usd), text)
        self.assertIn(credit_note.name, text)
        self.assertIn(self._amount(-4000.0, self.usd), text)
        self.assertIn(f"Net amount due USD {self._amount(6000.0, self.usd)}", text)
        self.assertEqual(self._snapshot()["overdue_for_hold"], 6000.0)

        run = self._run_interest()
        interest = run.accrual_ids.filtered(lambda accrual: accrual.kind == "interest")
        self.assertRecordValues(
            interest,
            [{"move_id": invoice.id, "days": 50, "base_amount": 6000.0, "amount": 98.63}],
        )

    def test_unapplied_payment_is_netted_like_a_credit_note(self):
        """5,000.00 due 30 days ago; 1,500.00 received today, not matched with
        the invoice: 3,500.00 is due. Interest 3,500.00 x 12 % x 30 / 365 =
        34.520... -> 34.52."""
        invoice = self._create_invoice(self.debtor, 5000.0, days_overdue=30)
        payment = self._unapplied_payment(1500.0)

        history = self._run_followups()

        self.assertEqual(history.overdue_amount, 3500.0)
        text = self._email_text(history)
        self.assertIn(f"Payment {payment.move_id.name}", text)
        self.assertIn(f"Net amount due USD {self._amount(3500.0, self.usd)}", text)

        run = self._run_interest()
        self.assertRecordValues(
            run.accrual_ids.filtered(lambda accrual: accrual.kind == "interest"),
            [{"move_id": invoice.id, "days": 30, "base_amount": 3500.0, "amount": 34.52}],
        )

    def test_credit_in_another_currency_is_netted_in_company_currency(self):
        """1,000.00 EUR due 40 days ago (500.00 USD) and an open credit note of
        200.00 USD: 300.00 USD is due, 60 % of the invoice: 600.00 EUR. Interest
        in the invoice's currency: 600.00 x 12 % x 40 / 365 = 7.890... -> 7.89
        EUR."""
        invoice = self._create_invoice(self.debtor, 1000.0, days_overdue=40, currency=self.eur)
        credit_note = self._credit_note(200.0)

        history = self._run_followups()

        self.assertEqual(history.level_id, self.final)
        self.assertEqual(history.overdue_amount, 300.0)
        text = self._email_text(history)
        self.assertIn(credit_note.name, text)
        self.assertIn(f"Net amount due EUR {self._amount(600.0, self.eur)}", text)
        self.assertEqual(self._snapshot()["overdue_for_hold"], 300.0)

        run = self._run_interest()
        self.assertRecordValues(
            run.accrual_ids.filtered(lambda accrual: accrual.kind == "interest"),
            [
                {
                    "move_id": invoice.id,
                    "currency_id": self.eur.id,
                    "days": 40,
                    "base_amount": 600.0,
                    "amount": 7.89,
                }
            ],
        )

    def test_netting_goes_oldest_first_and_skips_disputed_items(self):
        """100.00 due 50 days ago (disputed), 300.00 due 40 days ago, 400.00
        due 10 days ago, not yet due 500.00; open credits 350.00 (a credit note
        of 250.00 and an unapplied payment of 100.00): the disputed item takes
        no part, the 300.00 is covered and 50.00 of the 400.00."""
        disputed = self._create_invoice(self.debtor, 100.0, days_overdue=50)
        disputed.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )._followup_exclude("Disputed by the customer")
        covered = self._create_invoice(self.debtor, 300.0, days_overdue=40)
        partly = self._create_invoice(self.debtor, 400.0, days_overdue=10)
        not_due = self._create_invoice(self.debtor, 500.0, days_overdue=-10)
        self._credit_note(250.0)
        self._unapplied_payment(100.0)
        items = (covered | partly | not_due | disputed).line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        Line = self.env["account.move.line"]
        netting = Line._get_credit_netting(self.debtor, self.company)
        receivable = {line.move_id: line.id for line in items}
        self.assertEqual(netting, {receivable[covered]: 300.0, receivable[partly]: 50.0})
        net = items._get_net_residuals()
        self.assertEqual(
            [net[receivable[move]] for move in (disputed, covered, partly, not_due)],
            [100.0, 0.0, 350.0, 500.0],
        )
        figures = Line._followup_figures(self.debtor, self.company)[self.debtor.id]
        self.assertEqual(
            figures,
            {"oldest_due": partly.invoice_date_due, "overdue": 350.0, "overdue_covered": 350.0},
        )

    def test_statement_preview_of_the_bare_collector_lists_the_open_credits(self):
        """What the collector previews in Send Now is what the customer gets."""
        self._create_invoice(self.debtor, 700.0, days_overdue=5)
        credit_note = self._credit_note(200.0)
        wizard = (
            self.env["credit.followup.send.wizard"]
            .with_user(self.bare_collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_ids=self.debtor.ids)
            .create({})
        )
        text = self._text(wizard.email_preview)
        self.assertIn(credit_note.name, text)
        self.assertIn(f"Net amount due USD {self._amount(500.0, self.usd)}", text)
        self.assertEqual(wizard.level_id, self.first)
        wizard.write({"recipient_ids": [Command.set(self.debtor.ids)]})
        with self.mock_mail_gateway():
            wizard.action_send()
        history = self.env["credit.followup.history"].search([("partner_id", "=", self.debtor.id)])
        self.assertEqual(history.overdue_amount, 500.0)
        self.assertIn(
            f"Net amount due USD {self._amount(500.0, self.usd)}", self._email_text(history)
        )

    def test_follow_up_dates_of_a_customer_covered_tomorrow(self):
        """A credit note covering the only overdue item ends the episode the next
        run: the customer reached the first reminder, then owes nothing net."""
        self._create_invoice(self.debtor, 800.0, days_overdue=5)
        history = self._run_followups()
        self.assertEqual(history.level_id, self.first)
        self._credit_note(800.0, days_ago=0)
        self._run_followups()
        partner = self.debtor.with_company(self.company)
        self.assertFalse(partner.followup_level_id)
        self.assertEqual(partner.followup_episode, 1)
        self.assertEqual(partner.followup_status, "reconcile")
        self.assertEqual(partner.followup_next_action_date, self.today)
        self.assertEqual(self._reconcile_activities().date_deadline, self.today)
        histories = self.env["credit.followup.history"].search(
            [("partner_id", "=", self.debtor.id)]
        )
        self.assertEqual(histories, history, "no follow-up since")
