from datetime import timedelta

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import format_date

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestFollowupWizards(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"email": "billing@company.example.com"})
        # These tests are about what each level does: customers get the level of
        # their oldest item at once (see test_followup_first_hour for the default).
        cls.company.credit_followup_start_mode = "oldest_item"
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.reminder, cls.first, cls.second, cls.final, cls.collection = policy._get_levels()
        cls.invoice = cls._create_invoice(cls.customer, 500.0, days_overdue=5)
        cls.other = cls._create_customer("Other Customer")
        cls.other_invoice = cls._create_invoice(cls.other, 300.0, days_overdue=20)

    def _as_collector(self, records):
        return records.with_user(self.collector).with_company(self.company)

    def _send_wizard(self, partners):
        return (
            self.env["credit.followup.send.wizard"]
            .with_user(self.collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .create({})
        )

    def _call(self, outcome, **values):
        wizard = (
            self.env["credit.followup.call.wizard"]
            .with_user(self.collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_id=self.customer.id)
            .create(dict(values, outcome=outcome))
        )
        wizard.action_log()
        return wizard

    # ------------------------------------------------------------------
    # Send
    # ------------------------------------------------------------------

    def test_collector_sends_level_due_now_after_previewing_the_email(self):
        wizard = self._send_wizard(self.customer)
        self.assertEqual(wizard.partner_ids, self.customer)
        self.assertEqual(wizard.level_id, self.first)
        self.assertTrue(wizard.send_email)
        self.assertFalse(wizard.send_letter)
        self.assertIn(self.invoice.name, wizard.email_preview)
        self.assertIn(self.company.name, wizard.email_subject)
        self.assertFalse(wizard.skip_summary)

        action = wizard.action_send()

        self.assertEqual(action["params"]["type"], "success")
        self.assertEqual(action["params"]["next"], {"type": "ir.actions.act_window_close"})
        history = self.customer.followup_history_ids
        self.assertEqual(
            (history.level_id, history.trigger, history.user_id, history.state),
            (self.first, "manual", self.collector, "done"),
        )
        self.assertIn(self.invoice.name, history.mail_message_id.body)
        self.assertIn(history.email_state, ("queued", "sent"))
        self.assertEqual(self.customer.with_company(self.company).followup_level_id, self.first)

    def test_collector_chooses_level_and_channels(self):
        wizard = self._send_wizard(self.customer)
        wizard.level_id = self.second
        self.assertTrue(wizard.send_letter)
        wizard.send_email = False
        wizard.action_send()
        history = self.customer.followup_history_ids
        self.assertEqual(history.level_id, self.second)
        self.assertFalse(history.mail_message_id)
        self.assertEqual(history.email_state, "none")
        self.assertTrue(history.letter_attachment_id)

    def test_print_letter_from_wizard_and_customer_uses_the_level(self):
        wizard = self._send_wizard(self.customer)
        letter = self.env["report.credit_collections.report_followup_partner_letter"]

        def printed_level(action):
            self.assertEqual(
                action["report_name"], "credit_collections.report_followup_partner_letter"
            )
            values = letter._get_report_values(self.customer.ids, action.get("data"))
            return values["letter_followups"][self.customer.id].level_id

        wizard.level_id = self.second
        self.assertEqual(printed_level(wizard.action_print_letter()), self.second)
        action = self._as_collector(self.customer).action_followup_print_letter()
        self.assertEqual(printed_level(action), self.first)
        self.assertFalse(self.customer.followup_history_ids, "printing is not sending")

    def test_nothing_open_is_not_sent(self):
        quiet = self._create_customer("Quiet Customer")
        with self.assertRaisesRegex(UserError, "nothing is open"):
            self._send_wizard(quiet).action_send()

    def test_mass_send_over_two_customers_sends_each_its_level(self):
        wizard = self._send_wizard(self.customer | self.other)
        self.assertEqual(len(wizard.partner_ids), 2)
        self.assertFalse(wizard.level_id)
        self.assertFalse(wizard.skip_summary)
        self.assertIn(self.invoice.name, wizard.email_preview)

        action = wizard.action_send()

        self.assertIn("2 reminders queued. 1 letter printed.", action["params"]["message"])
        self.assertEqual(self.customer.followup_history_ids.level_id, self.first)
        other_history = self.other.followup_history_ids
        self.assertEqual(other_history.level_id, self.second)
        self.assertTrue(other_history.mail_message_id)
        self.assertTrue(other_history.letter_attachment_id, "the level's own channels")

    def test_mass_send_leaves_out_paused_and_promising_customers(self):
        paused = self._create_customer("Paused Customer")
        self._create_invoice(paused, 100.0, days_overdue=10)
        self._as_collector(paused)._followup_pause(self.today + timedelta(days=5))
        self.env["credit.promise"].create(
            {
                "partner_id": self.other.id,
                "company_id": self.company.id,
                "amount": 300.0,
                "promised_date": self.today + timedelta(days=3),
            }
        )
        wizard = self._send_wizard(self.customer | self.other | paused)
        self.assertIn("2 of 3 customers will be left out", wizard.skip_summary)
        self.assertIn("Paused Customer: Paused", wizard.skip_summary)
        self.assertIn("Other Customer: Promised", wizard.skip_summary)

        action = wizard.action_send()

        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("1 reminder queued.", action["params"]["message"])
        self.assertTrue(self.customer.followup_history_ids)
        self.assertFalse(self.other.followup_history_ids | paused.followup_history_ids)

    def test_send_follow_ups_action_on_the_customer_list_opens_the_wizard(self):
        server_action = self.env.ref("credit_collections.action_server_credit_followup_send")
        self.assertEqual(server_action.binding_model_id.model, "res.partner")
        self.assertEqual(server_action.binding_view_types, "list")
        partners = self.customer | self.other
        action = (
            server_action.with_user(self.collector)
            .with_context(active_model="res.partner", active_ids=partners.ids)
            .run()
        )
        self.assertEqual(action["res_model"], "credit.followup.send.wizard")
        wizard = (
            self.env["credit.followup.send.wizard"]
            .with_user(self.collector)
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.partner_ids, partners)

    def test_unreconciled_bank_statement_lines_warn_before_sending(self):
        self.assertFalse(self._send_wizard(self.customer).statement_warning)
        journal = self.company_data["default_journal_bank"]
        statement_line = self.env["account.bank.statement.line"].with_company(self.company)
        for days, amount in ((5, 100.0), (10, 250.0), (1, 80.0), (8, -40.0)):
            statement_line.create(
                {
                    "journal_id": journal.id,
                    "date": self.today - timedelta(days=days),
                    "payment_ref": f"Transfer {days}",
                    "amount": amount,
                }
            )
        self.assertEqual(
            self._send_wizard(self.customer | self.other).statement_warning,
            "2 bank statement lines older than 3 days are not reconciled: customers may "
            "already have paid.",
        )

    # ------------------------------------------------------------------
    # Statement, exclusion
    # ------------------------------------------------------------------

    def test_statement_lists_overdue_items_and_excludes_one_with_a_reason(self):
        partner = self._as_collector(self.customer)
        line = partner.followup_line_ids
        self.assertEqual(line.move_id, self.invoice)
        action = line.action_followup_exclude()
        wizard = (
            self.env[action["res_model"]]
            .with_user(self.collector)
            .with_context(**action["context"])
            .create({"reason": "Damaged goods"})
        )
        wizard.action_exclude()
        self.assertTrue(line.followup_excluded)
        self.assertEqual(line.followup_exclusion_reason, "Damaged goods")
        self.assertTrue(self.invoice.followup_excluded)
        partner.invalidate_recordset()
        self.assertFalse(partner.followup_line_ids)
        self.assertIn("Excluded from follow-ups: Damaged goods", self.invoice.message_ids[0].body)
        self.assertIn(self.invoice.name, self.customer.message_ids[0].body)

    def test_collector_excludes_invoice_from_its_form_with_a_reason(self):
        invoice = self.invoice.with_user(self.collector)
        with Form(invoice) as form:
            form.followup_excluded = True
            form.followup_exclusion_reason = "Litigation"
        receivable = self.invoice.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        self.assertTrue(receivable.followup_excluded)
        self.assertEqual(receivable.followup_exclusion_reason, "Litigation")
        self.assertIn("Excluded from follow-ups: Litigation", self.invoice.message_ids[0].body)
        with Form(invoice) as form:
            form.followup_excluded = False
        self.assertFalse(receivable.followup_excluded)
        self.assertFalse(receivable.followup_exclusion_reason)
        self.assertIn("Followed up again", self.invoice.message_ids[0].body)

    def test_exclusion_needs_a_reason(self):
        line = self._as_collector(self.customer).followup_line_ids
        with self.assertRaises(ValidationError):
            line._followup_exclude(" ")

    # ------------------------------------------------------------------
    # Calls, promises, pauses
    # ------------------------------------------------------------------

    def test_call_with_promise_records_the_promise(self):
        self._call(
            "promised",
            note="Will pay on Friday",
            amount=200.0,
            promised_date=self.today + timedelta(days=4),
        )
        promise = self.customer.credit_promise_ids
        self.assertEqual(
            (promise.state, promise.amount, promise.promised_date, promise.user_id),
            ("open", 200.0, self.today + timedelta(days=4), self.collector),
        )
        self.assertEqual(self.customer.with_company(self.company).followup_status, "promised")
        self.assertIn("Call logged: Promised to pay.", self.customer.message_ids[0].body)
        self.assertIn("Will pay on Friday", self.customer.message_ids[0].body)

    def test_call_promise_needs_amount_and_future_date(self):
        # The amount starts from the overdue (issue 20 point 13): cleared, it is refused.
        with self.assertRaises(ValidationError):
            self._call("promised", amount=0.0, promised_date=self.today + timedelta(days=4))
        with self.assertRaises(ValidationError):
            self._call("promised", amount=100.0, promised_date=self.today - timedelta(days=1))
        self.assertFalse(self.customer.credit_promise_ids)

    def test_call_with_dispute_excludes_the_items_named(self):
        lines = self._as_collector(self.customer).followup_line_ids
        self._call(
            "disputed", note="Wrong quantity", move_line_ids=lines.ids, exclusion_reason="Quantity"
        )
        self.assertTrue(lines.followup_excluded)
        self.assertEqual(lines.followup_exclusion_reason, "Quantity")
        self.assertFalse(self.customer.credit_promise_ids)
        self.assertIn("Call logged: Disputed.", self.customer.message_ids[0].body)

    def test_call_cannot_dispute_another_customers_items(self):
        # The wizard offers only the customer's open items; a call sent over RPC
        # with another customer's item is refused, and nothing is excluded.
        other = self._create_customer("Someone Else", limit=0.0)
        foreign = self._create_invoice(other, 100.0, days_overdue=10)
        foreign_line = foreign.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        wizard = (
            self.env["credit.followup.call.wizard"]
            .with_user(self.collector)
            .create({"partner_id": self.customer.id, "outcome": "disputed"})
        )
        self.assertNotIn(foreign_line, wizard.allowed_line_ids)
        self.assertTrue(wizard.allowed_line_ids)
        with self.assertRaisesRegex(ValidationError, "open items of Credit Customer"):
            self._call("disputed", note="Not ours", move_line_ids=foreign_line.ids)
        self.assertFalse(foreign_line.followup_excluded)

    def test_other_call_outcomes_are_logged_only(self):
        for outcome, label in (
            ("no_answer", "No answer"),
            ("already_paid", "Already paid"),
            ("not_received", "Invoice not received"),
            ("other", "Other"),
        ):
            self._call(outcome, note="Called at 10:00")
            self.assertIn(f"Call logged: {label}.", self.customer.message_ids[0].body)
        self.assertFalse(self.customer.credit_promise_ids)
        self.assertFalse(self.invoice.followup_excluded)

    def test_collector_pauses_and_resumes_follow_ups(self):
        until = self.today + timedelta(days=10)
        wizard = (
            self.env["credit.followup.pause.wizard"]
            .with_user(self.collector)
            .with_company(self.company)
            .with_context(active_model="res.partner", active_id=self.customer.id)
            .create({"paused_until": until, "note": "On holiday"})
        )
        wizard.action_pause()
        partner = self.customer.with_company(self.company)
        self.assertEqual(partner.followup_paused_until, until)
        self.assertEqual(partner.followup_status, "paused")
        self.assertIn("On holiday", self.customer.message_ids[0].body)
        self._as_collector(self.customer).action_followup_resume()
        partner.invalidate_recordset()
        self.assertFalse(partner.followup_paused_until)
        self.assertEqual(partner.followup_status, "action_needed")
        self.assertIn("Follow-ups resumed.", self.customer.message_ids[0].body)

    def test_pause_until_a_past_date_is_refused(self):
        with self.assertRaises(ValidationError):
            self._as_collector(self.customer)._followup_pause(self.today - timedelta(days=1))

    def test_bounded_fields_warn_as_typed_with_their_label_and_bounds(self):
        """The pause date and a level's delay warn through one owner
        (credit.bounded.mixin): titled with the field's label, silent up to the
        bound itself."""
        latest = self.today + timedelta(days=366)
        Wizard = self.env["credit.followup.pause.wizard"].with_user(self.collector)
        self.assertIsNone(
            Wizard.new(
                {"partner_id": self.customer.id, "paused_until": latest}
            )._onchange_paused_until()
        )
        warning = Wizard.new(
            {"partner_id": self.customer.id, "paused_until": latest + timedelta(days=1)}
        )._onchange_paused_until()["warning"]
        self.assertEqual(warning["title"], "Pause Until")
        self.assertEqual(
            warning["message"],
            "Follow-ups can be paused for 366 days at most: until "
            f"{format_date(self.env, latest)} at the latest.",
        )
        Level = self.env["credit.followup.level"].with_user(self.credit_manager)
        for delay, title in ((-366, None), (3650, None), (3651, "Delay"), (-367, "Delay")):
            with self.subTest(delay=delay):
                result = Level.new({"policy_id": self.first.policy_id.id, "delay": delay})
                result = result._onchange_delay()
                self.assertEqual(result and result["warning"]["title"], title)

    def test_only_collectors_work_follow_ups(self):
        partner = self.customer.with_user(self.salesperson).with_company(self.company)
        with self.assertRaises(AccessError):
            partner._followup_pause(self.today + timedelta(days=3))
        with self.assertRaises(AccessError):
            partner._followup_log_call("no_answer")
        with self.assertRaises(AccessError):
            partner._followup_send_manually()

    def test_record_promise_from_customer_prefills_overdue_amount(self):
        action = self._as_collector(self.customer).action_followup_record_promise()
        self.assertEqual(action["res_model"], "credit.promise")
        self.assertEqual(action["context"]["default_partner_id"], self.customer.id)
        self.assertEqual(action["context"]["default_amount"], 500.0)
