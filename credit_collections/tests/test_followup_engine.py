from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.mail.tests.common import MailCommon

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestFollowupEngine(CreditCollectionsCommon, MailCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"email": "billing@company.example.com"})
        # These tests are about what each level does: customers get the level of
        # their oldest item at once (see test_followup_first_hour for the default).
        cls.company.credit_followup_start_mode = "oldest_item"
        cls.company._credit_create_default_followup_policy()
        cls.policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.levels = cls.policy._get_levels()
        cls.reminder, cls.first, cls.second, cls.final, cls.collection = cls.levels
        cls.customer.write({"email": "customer@example.com"})
        cls.customer.with_company(cls.company).followup_responsible_id = cls.collector
        cls.cron = cls.env.ref("credit_collections.ir_cron_run_followups")

    def _run(self):
        self._run_followup_cron()
        self.env.invalidate_all()

    def _history(self, partner=None):
        return self.env["credit.followup.history"].search(
            [("partner_id", "=", (partner or self.customer).id)], order="id"
        )

    def test_default_ladder_ships_for_every_company(self):
        self.assertEqual(self.levels.mapped("delay"), [-3, 1, 15, 30, 60])
        self.assertTrue(self.final.set_credit_hold)
        self.assertTrue(self.collection.manual_action)
        new_company = self.env["res.company"].create({"name": "Brand new company"})
        policy = self.env["credit.followup.policy"]._get_company_default(new_company)
        self.assertEqual(len(policy.level_ids), 5)

    def test_timeline_of_a_late_payer(self):
        """4 days before due: nothing; 3 days before: reminder; +1: first reminder;
        same day again: nothing more; +15: second; +30: final notice and hold;
        +60: a collector must act; paid: the episode ends."""
        invoice = self._create_invoice(self.customer, 500.0, days_overdue=-4)
        due = invoice.invoice_date_due
        steps = [
            (-4, []),
            (-3, ["Reminder before due date"]),
            (1, ["Reminder before due date", "First reminder"]),
            (1, ["Reminder before due date", "First reminder"]),
            (14, ["Reminder before due date", "First reminder"]),
            (15, ["Reminder before due date", "First reminder", "Second reminder"]),
        ]
        for days, expected in steps:
            with freeze_time(due + timedelta(days=days)):
                self._run()
                self.assertEqual(self._history().level_id.mapped("name"), expected, days)
        with freeze_time(due + timedelta(days=16)):
            partner = self.customer.with_company(self.company)
            self.assertEqual(partner.followup_status, "waiting")
            self.assertEqual(partner.followup_next_action_date, due + timedelta(days=30))
        with freeze_time(due + timedelta(days=30)):
            self._run()
            self.assertEqual(self._history()[-1].level_id, self.final)
            partner = self.customer.with_company(self.company)
            self.assertTrue(partner.credit_hold)
            self.assertIn("Final notice", partner.credit_hold_reason)
        with freeze_time(due + timedelta(days=60)):
            self._run()
            last = self._history()[-1]
            self.assertEqual((last.level_id, last.state), (self.collection, "manual"))
            self.assertEqual(last.activity_id.user_id, self.collector)
            self.assertEqual(
                self.customer.with_company(self.company).followup_status, "action_needed"
            )
        with freeze_time(due + timedelta(days=61)):
            self._pay(invoice, 500.0)
            self._run()
            partner = self.customer.with_company(self.company)
            self.assertFalse(partner.followup_level_id)
            self.assertEqual(partner.followup_episode, 1)
            self.assertEqual(partner.followup_status, "no_action")

    def test_email_goes_to_invoice_contacts_from_company_with_reply_to_collector(self):
        contact = self.env["res.partner"].create(
            {
                "name": "Accounts payable",
                "parent_id": self.customer.id,
                "type": "invoice",
                "email": "ap@example.com",
            }
        )
        invoice = self._create_invoice(self.customer, 300.0, days_overdue=2)
        with self.mock_mail_gateway():
            self._run()
        history = self._history()
        self.assertEqual(history.level_id, self.first)
        self.assertEqual(history.move_line_ids.move_id, invoice)
        message = history.mail_message_id
        self.assertIn("billing@company.example.com", message.email_from)
        self.assertIn(self.collector.email, message.reply_to)
        self.assertIn(invoice.name, message.body)
        mail = self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])
        self.assertEqual(mail.recipient_ids, contact)
        self.assertEqual(history.recipient_ids, contact)
        self.assertEqual(mail.state, "outgoing")  # queued, not sent by the run
        self.assertEqual(history.email_state, "queued")

    def test_customers_at_different_levels_in_one_batch_each_get_their_email(self):
        late = self._create_customer("Later Payer", limit=0.0, email="later@example.com")
        self._create_invoice(self.customer, 100.0, days_overdue=2)
        self._create_invoice(late, 100.0, days_overdue=20)
        # Both in one batch: no failure falls back to doing them one by one.
        engine_logger = "odoo.addons.credit_collections.models.credit_followup_engine"
        with self.mock_mail_gateway(), self.assertNoLogs(engine_logger, "WARNING"):
            self._run()
        subjects = {
            history.partner_id: history.mail_message_id.subject
            for history in self._history() | self._history(late)
        }
        self.assertEqual(
            subjects,
            {
                self.customer: f"{self.company.name}: overdue payment",
                late: f"{self.company.name}: second reminder about your overdue payment",
            },
        )
        self.assertEqual(set((self._history() | self._history(late)).mapped("state")), {"done"})

    def test_customer_without_email_gets_an_activity_for_the_collector(self):
        self.customer.email = False
        self._create_invoice(self.customer, 300.0, days_overdue=2)
        self._run()
        history = self._history()
        self.assertFalse(history.mail_message_id)
        self.assertEqual(history.activity_id.user_id, self.collector)
        self.assertIn("no email address", history.activity_id.note)

    def test_level_reached_by_oldest_item_and_installments_count_alone(self):
        self._create_invoice(self.customer, 100.0, days_overdue=2)
        self._create_invoice(self.customer, 100.0, days_overdue=20)
        self._run()
        self.assertEqual(self._history().level_id, self.second)

    def test_excluded_items_and_customers_are_not_chased(self):
        disputed = self._create_invoice(self.customer, 100.0, days_overdue=40)
        disputed.write({"followup_excluded": True, "followup_exclusion_reason": "Damaged goods"})
        self.assertTrue(disputed.line_ids.filtered("followup_excluded"))
        self._create_invoice(self.customer, 100.0, days_overdue=2)
        self._run()
        self.assertEqual(self._history().level_id, self.first)
        other = self._create_customer("Never chased", limit=0.0)
        other.with_company(self.company).followup_excluded = True
        self._create_invoice(other, 100.0, days_overdue=40)
        self._run()
        self.assertFalse(self._history(other))
        self.assertEqual(other.with_company(self.company).followup_status, "excluded")

    def test_disputed_items_do_not_trigger_the_overdue_hold(self):
        invoice = self._create_invoice(self.customer, 100.0, days_overdue=40)
        order = self._create_order(self.customer, 10.0)
        self.assertEqual(order.credit_status, "blocked")
        invoice.write({"followup_excluded": True, "followup_exclusion_reason": "Disputed"})
        order.invalidate_recordset()
        self.assertEqual(order.credit_status, "ok")

    def test_minimum_amount_and_pause(self):
        self.company.credit_followup_min_amount = 150.0
        self._create_invoice(self.customer, 100.0, days_overdue=2)
        self._run()
        self.assertFalse(self._history())
        self.company.credit_followup_min_amount = 0.0
        partner = self.customer.with_company(self.company)
        partner._followup_pause(self.today + timedelta(days=3))
        self.assertEqual(partner.followup_status, "paused")
        self._run()
        self.assertFalse(self._history())
        with freeze_time(self.today + timedelta(days=4)):
            self._run()
            self.assertEqual(self._history().level_id, self.first)

    def test_promise_pauses_then_broken_resumes_at_next_level(self):
        invoice = self._create_invoice(self.customer, 400.0, days_overdue=2)
        self._run()
        self.assertEqual(self._history().level_id, self.first)
        promise = self.env["credit.promise"].create(
            {
                "partner_id": self.customer.id,
                "company_id": self.company.id,
                "amount": 400.0,
                "promised_date": self.today + timedelta(days=20),
                "move_line_ids": [Command.set(invoice.line_ids.filtered("date_maturity").ids)],
            }
        )
        self.assertEqual(self.customer.with_company(self.company).followup_status, "promised")
        with freeze_time(self.today + timedelta(days=15)):
            self._run()
            self.assertEqual(len(self._history()), 1)
        with freeze_time(self.today + timedelta(days=21)):
            self._pay(invoice, 100.0)
            self._run()
            self.assertEqual(promise.state, "broken")
            bodies = self.customer.message_ids.mapped("body")
            self.assertTrue(any("was broken" in body for body in bodies))
            self.assertEqual(self._history()[-1].level_id, self.second)

    def test_promise_kept_when_paid(self):
        invoice = self._create_invoice(self.customer, 400.0, days_overdue=2)
        promise = self.env["credit.promise"].create(
            {
                "partner_id": self.customer.id,
                "company_id": self.company.id,
                "amount": 400.0,
                "promised_date": self.today + timedelta(days=5),
            }
        )
        self._pay(invoice, 400.0)
        self._run()
        self.assertEqual(promise.state, "kept")

    def test_level_with_hold_and_fee_sent_by_a_collector_passes_the_invoice_check(self):
        # "Check invoices without order" on. The final notice puts the customer on
        # hold and charges a 20.00 fee: the hold it sets must not refuse the fee
        # invoice the addon issues itself, whoever sends the level.
        self.company.credit_check_invoices = True
        self.final.fee_amount = 20.0
        self._create_invoice(self.customer, 5000.0, days_overdue=35)
        result = (
            self.customer.with_user(self.collector)
            .with_company(self.company)
            ._followup_send_manually(level=self.final)
        )
        history = result["done"]
        self.assertEqual(len(history), 1)
        self.assertEqual(history.state, "done")
        self.assertFalse(result["failed"])
        self.assertRecordValues(
            history.fee_move_id,
            [{"state": "posted", "amount_total": 20.0, "credit_charge_type": "fee"}],
        )
        self.assertTrue(self.customer.with_company(self.company).credit_hold)
        # An ordinary invoice of the customer is still held.
        invoice = self._create_invoice(self.customer, 10.0, post=False)
        with self.assertRaisesRegex(UserError, "blocked for credit"):
            invoice.with_user(self.collector).action_post()

    def test_only_the_addon_marks_its_charge_invoices(self):
        invoice = self._create_invoice(self.customer, 10.0, post=False)
        for user in (self.collector, self.accountant):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    invoice.with_user(user).write({"credit_charge_type": "fee"})
                with self.assertRaises(AccessError):
                    self.env["account.move"].with_user(user).create(
                        {
                            "move_type": "out_invoice",
                            "partner_id": self.customer.id,
                            "credit_charge_type": "interest",
                        }
                    )
        self.assertFalse(invoice.credit_charge_type)

    def test_fee_invoiced_once_per_level(self):
        self.first.fee_amount = 15.0
        self._create_invoice(self.customer, 100.0, days_overdue=2)
        self._run()
        self._run()
        fee = self._history().fee_move_id
        self.assertEqual(len(fee), 1)
        self.assertEqual(fee.state, "posted")
        self.assertEqual(fee.amount_total, 15.0)
        self.assertEqual(fee.partner_id, self.customer)

    def test_running_twice_sends_nothing_more(self):
        self._create_invoice(self.customer, 100.0, days_overdue=2)
        with self.mock_mail_gateway():
            self._run()
            self._run()
        self.assertEqual(len(self._history()), 1)
        mails = self.env["mail.mail"].sudo().search([("recipient_ids", "in", self.customer.id)])
        self.assertEqual(len(mails), 1)

    def test_failure_on_one_customer_is_logged_and_run_goes_on(self):
        broken = self._create_customer("Broken template", limit=0.0, email="b@example.com")
        self._create_invoice(broken, 100.0, days_overdue=2)
        self._create_invoice(self.customer, 100.0, days_overdue=2)
        policy = self.policy.copy({"name": "Broken", "is_default": False})
        policy.level_ids.filtered(lambda level: level.delay == 1).mail_template_id = self.env[
            "mail.template"
        ].create(
            {
                "name": "Broken",
                "model_id": self.env["ir.model"]._get_id("credit.followup.history"),
                "body_html": "<p><t t-out='object.does_not_exist'/></p>",
            }
        )
        broken.with_company(self.company).followup_policy_id = policy
        self._run()
        failed = self._history(broken)
        self.assertEqual(failed.state, "error")
        self.assertIn("failed", broken.message_ids[0].body)
        self.assertFalse(broken.with_company(self.company).followup_level_id)
        self.assertEqual(self._history().state, "done")

    def test_other_company_has_its_own_ladder(self):
        company_b = self.setup_other_company(name="Company B")["company"]
        policy_b = self.env["credit.followup.policy"]._get_company_default(company_b)
        self.assertTrue(policy_b)
        self._create_invoice(self.customer, 100.0, days_overdue=20, company=company_b)
        self._run()
        history = self._history()
        self.assertEqual(history.company_id, company_b)
        self.assertEqual(history.level_id.policy_id, policy_b)
        self.assertFalse(self.customer.with_company(self.company).followup_level_id)

    def test_bad_levels_are_refused_naming_the_field(self):
        with self.assertRaises(ValidationError) as error:
            self.first.write({"send_email": True, "mail_template_id": False})
        self.assertIn("Email Template", str(error.exception))
        with self.assertRaises(ValidationError) as error:
            self.second.write({"create_activity": True, "activity_type_id": False})
        self.assertIn("Activity Type", str(error.exception))
        with self.assertRaises(Exception) as error:
            self.second.write({"delay": 1})
            self.env.flush_all()
        self.assertIn("delay", str(error.exception).lower())

    def test_level_email_template_must_be_a_follow_up_template(self):
        # Over RPC a level could be given an order's template: it would email the
        # customer another document. Refused whatever the screen shows.
        order_template = self.env.ref("sale.email_template_edi_sale")
        levels = self.env["credit.followup.level"]
        # A savepoint, as the RPC call's transaction would be rolled back.
        with (
            self.assertRaisesRegex(ValidationError, "needs a follow-up template"),
            self.env.cr.savepoint(),
        ):
            levels.with_user(self.credit_manager).create(
                {
                    "policy_id": self.policy.id,
                    "name": "Order reminder",
                    "delay": 45,
                    "send_email": True,
                    "mail_template_id": order_template.id,
                }
            )
        self.assertFalse(levels.search([("policy_id", "=", self.policy.id), ("delay", "=", 45)]))

    def test_level_fee_needs_the_dunning_fee_product(self):
        self.company.credit_followup_fee_product_id = False
        with self.assertRaisesRegex(ValidationError, "no Dunning Fee Product"):
            self.final.fee_amount = 15.0

    def test_salesperson_cannot_edit_levels(self):
        with self.assertRaises(AccessError):
            self.first.with_user(self.salesperson).write({"delay": 2})
        with self.assertRaises(AccessError):
            self.first.with_user(self.collector).write({"delay": 2})
        self.first.with_user(self.credit_manager).write({"name": "First notice"})


@tagged("post_install", "-at_install")
class TestFollowupQueries(CreditCollectionsCommon):
    def test_queries_grow_with_batches_not_customers(self):
        self.company._credit_create_default_followup_policy()
        engine = self.env["credit.followup.engine"]
        few = self.env["res.partner"]
        many = self.env["res.partner"]
        for index in range(8):
            partner = self._create_customer(f"Late {index}", limit=0.0)
            self._create_invoice(partner, 100.0, days_overdue=20)
            many |= partner
            if index < 2:
                few |= partner
        self.env.flush_all()

        def count(partners):
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            engine._get_states(partners, self.company)
            return self.env.cr.sql_log_count - before

        count(few)
        self.assertEqual(count(few), count(many))

    def test_queries_of_a_batch_do_not_grow_with_its_customers(self):
        """Every action of a level is done for the whole batch at once: a batch of
        ten customers to remind and to chase costs the queries of a batch of four.
        (Odoo's mass mailing costs one query more for a single email than for
        several: each batch has two emails or more.)"""
        # Two levels in each batch: the level of the oldest item at once.
        self.company.credit_followup_start_mode = "oldest_item"

        def customers(tag, count):
            partners = self.env["res.partner"]
            for index in range(count):
                partner = self._create_customer(
                    f"Batch {tag} {index}", email=f"batch.{tag}.{index}@example.com"
                )
                partner.with_company(self.company).followup_responsible_id = self.collector
                # Two levels in each batch: an email, and a manual action.
                self._create_invoice(partner, 100.0, days_overdue=3 if index % 2 else 70)
                partners |= partner
            return partners

        batches = [customers("warm", 4), customers("small", 4), customers("large", 10)]
        engine = self.env["credit.followup.engine"].sudo()
        self.env.flush_all()
        counts = []
        for partners in batches:
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            engine._run_batch(partners, self.company)
            self.env.flush_all()
            counts.append(self.env.cr.sql_log_count - before)
        _warm, small, large = counts
        self.assertEqual(small, large)
        histories = self.env["credit.followup.history"].search(
            [("partner_id", "in", batches[2].ids)]
        )
        self.assertEqual(len(histories), 10)
        self.assertEqual(
            sorted(history.level_id.name for history in histories),
            sorted(["First reminder"] * 5 + ["Collection action"] * 5),
        )
        self.assertEqual(len(histories.mail_message_id), 5)
        self.assertEqual(len(histories.activity_id), 5)


@tagged("post_install", "-at_install")
class TestFollowupScheduledAction(CreditCollectionsCommon, MailCommon):
    """The scheduled action as Odoo 18's scheduler runs it: one batch per call,
    reporting what is left, called again until the run is done."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # These tests are about what each level does: customers get the level of
        # their oldest item at once (see test_followup_first_hour for the default).
        cls.company.credit_followup_start_mode = "oldest_item"
        cls.company._credit_create_default_followup_policy()
        cls.engine = cls.env["credit.followup.engine"]
        cls.late = cls.env["res.partner"]
        for index in range(3):
            partner = cls._create_customer(f"Late {index}", email=f"late.{index}@example.com")
            cls._create_invoice(partner, 100.0, days_overdue=2)
            cls.late |= partner

    def _histories(self):
        return self.env["credit.followup.history"].search([("partner_id", "in", self.late.ids)])

    def test_each_call_follows_up_one_batch_and_the_next_resumes(self):
        cron = self.env.ref("credit_collections.ir_cron_run_followups")
        progress = cron._add_progress()[1]
        engine = self.engine.with_context(ir_cron_progress_id=progress.id)

        def run_to_the_end():
            calls = 0
            while True:
                engine._cron_run(limit=2)
                calls += 1
                if not progress.remaining:
                    return calls
                # A batch never spans two companies: the last of one may be short.
                self.assertIn(progress.done, (0, 1, 2))
                self.assertLess(calls, 500)

        engine._cron_run(limit=2)
        self.assertEqual(progress.done, 2)
        self.assertGreater(progress.remaining, 0, "the scheduler is asked to call again")
        calls = run_to_the_end()
        self.assertGreaterEqual(calls, 1)
        histories = self._histories()
        self.assertEqual(histories.partner_id, self.late, "each customer of the run once")
        self.assertEqual(len(histories), 3)
        # The next run starts again from the first company and adds nothing due.
        run_to_the_end()
        self.assertEqual(self._histories(), histories)

    def test_a_run_goes_through_every_company(self):
        other = self.setup_other_company(name="Collections Two")["company"]
        other._credit_create_default_followup_policy()
        partner = self._create_customer("Late elsewhere", company=other, email="e@example.com")
        self._create_invoice(partner, 100.0, days_overdue=2, company=other)
        self._run_followup_cron()
        histories = self.env["credit.followup.history"].search(
            [("partner_id", "in", (self.late | partner).ids)]
        )
        self.assertEqual(len(histories), 4)
        self.assertEqual(histories.filtered(lambda h: h.partner_id == partner).company_id, other)

    def test_promises_are_updated_in_constant_queries(self):
        def promises(count):
            records = self.env["credit.promise"]
            for index in range(count):
                partner = self._create_customer(f"Promising {count} {index}")
                invoice = self._create_invoice(partner, 100.0, days_overdue=5)
                records |= self.env["credit.promise"].create(
                    {
                        "partner_id": partner.id,
                        "company_id": self.company.id,
                        "amount": 100.0,
                        "promised_date": self.today + timedelta(days=3),
                    }
                )
                if index % 2:
                    self._pay(invoice, 100.0)  # kept
            return records

        def count(records):
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            records._update_state()
            self.env.flush_all()
            return self.env.cr.sql_log_count - before

        few, many = promises(2), promises(8)
        self.assertEqual(count(few), count(many))
        self.assertEqual(many.mapped("state").count("kept"), 4)
        self.assertEqual(many.mapped("state").count("open"), 4)

    def test_blacklisted_address_is_not_emailed_and_the_follow_up_says_so(self):
        # Odoo's mass mailing applies the blacklist to follow-ups as to any mailing.
        blocked = self.late[0]
        self.env["mail.blacklist"].create({"email": blocked.email})
        with self.mock_mail_gateway():
            self._run_followup_cron()
        history = self._histories().filtered(lambda h: h.partner_id == blocked)
        self.assertEqual(history.email_state, "cancel")
        self.assertIn("Email not sent", history.summary)
        others = self._histories() - history
        self.assertEqual(set(others.mapped("email_state")), {"queued"})

    def test_bounced_email_is_seen_on_the_follow_up_and_the_collector_acts(self):
        customer = self.late[1]
        customer.with_company(self.company).followup_responsible_id = self.collector
        with self.mock_mail_gateway():
            self._run_followup_cron()
        history = self._histories().filtered(lambda h: h.partner_id == customer)
        self.assertEqual(history.email_state, "queued")
        # The mail server's undelivered-mail report, as Odoo's mail gateway gets it.
        bounce = BOUNCE_REPORT.format(
            bounce_to=f"{self.alias_bounce}@{self.alias_domain}",
            recipient=customer.email,
            original_id=history.mail_message_id.message_id,
        )
        self.env["mail.thread"].message_process(False, bounce)
        self.assertTrue(history.email_bounced)
        self.assertEqual(history.email_state, "bounce")
        self.assertEqual(history.activity_id.user_id, self.collector)
        self.assertIn("bounced", history.activity_id.note)
        self.assertIn("Email bounced", history.summary)

    def _run_calls(self, engine, progress, limit):
        """Call the scheduled action until the run reports its end: [batches]."""
        batches = []
        for _call in range(500):
            batch, remaining = engine._cron_run(limit=limit)
            self.assertEqual((progress.done, progress.remaining), (len(batch), remaining))
            batches.append(batch)
            if not remaining:
                return batches
        self.fail("The follow-up run never reported its end.")

    def test_customer_failing_in_a_batch_is_logged_others_done_and_retried_next_run(self):
        """Batches of two customers; following one of them up fails (a broken
        extension, say): its batch is done again one customer at a time, the
        others of the batch and of the next ones get their reminder, the failure
        is on its chatter, and the next run follows it up."""
        bad = self.late[1]
        Engine = type(self.engine)
        run_batch = Engine._run_batch

        def broken_run_batch(engine, partners, company):
            if bad in partners:
                raise ValueError("Broken extension")
            return run_batch(engine, partners, company)

        cron = self.env.ref("credit_collections.ir_cron_run_followups")
        progress = cron._add_progress()[1]
        engine = self.engine.with_context(ir_cron_progress_id=progress.id)
        with patch.object(Engine, "_run_batch", broken_run_batch):
            batches = self._run_calls(engine, progress, limit=2)
        self.assertTrue(all(len(batch) <= 2 for batch in batches))
        taken = self.env["res.partner"].union(*(batch for batch in batches if batch))
        self.assertIn(bad, taken, "the bad one was taken")
        self.assertEqual(self._histories().partner_id, self.late - bad)
        self.assertIn("could not process", bad.message_ids[0].body)
        self.assertIn("Broken extension", bad.message_ids[0].body)
        self.assertFalse(bad.with_company(self.company).followup_level_id)
        # The next run: the customer is followed up, the others get nothing more.
        self._run_calls(engine, progress, limit=2)
        histories = self._histories()
        self.assertEqual(len(histories), 3)
        self.assertEqual(histories.partner_id, self.late)
        self.assertEqual(set(histories.mapped("state")), {"done"})

    def test_crash_in_the_middle_of_a_run_resumes_after_the_last_batch_committed(self):
        """A batch per call (one customer), committed by the scheduler after each
        call. The server dies during the call after the first late customer's:
        what that call did is lost (the savepoint stands for its transaction),
        the next call does that same batch again, and each customer gets one
        reminder."""
        cron = self.env.ref("credit_collections.ir_cron_run_followups")
        progress = cron._add_progress()[1]
        engine = self.engine.with_context(ir_cron_progress_id=progress.id)
        for _call in range(500):
            batch, _remaining = engine._cron_run(limit=1)
            if batch & self.late:
                break
        Engine = type(self.engine)
        lost = []

        def crash(engine, batch, remaining):
            lost.append(batch)
            raise KeyboardInterrupt  # not an error a batch catches

        with (
            self.assertRaises(KeyboardInterrupt),
            self.env.cr.savepoint(),
            patch.object(Engine, "_credit_batch_advance", crash),
        ):
            engine._cron_run(limit=1)
        self.env.invalidate_all()
        self.assertEqual(len(lost), 1)
        self.assertEqual(len(self._histories()), 1, "the crashed call left nothing")
        batch, remaining = engine._cron_run(limit=1)
        self.assertEqual(batch, lost[0], "the crashed batch is done again, not skipped")
        if remaining:
            self._run_calls(engine, progress, limit=1)
        histories = self._histories()
        self.assertEqual(len(histories), 3)
        self.assertEqual(histories.partner_id, self.late)
        self.assertEqual(engine._credit_batch_position(), (0, 0), "the run is over")

    def test_customers_of_two_companies_are_never_in_one_batch(self):
        other = self.setup_other_company(name="Collections Three")["company"]
        other._credit_create_default_followup_policy()
        partner = self._create_customer("Late there", company=other, email="t@example.com")
        self._create_invoice(partner, 100.0, days_overdue=2, company=other)
        cron = self.env.ref("credit_collections.ir_cron_run_followups")
        progress = cron._add_progress()[1]
        engine = self.engine.with_context(ir_cron_progress_id=progress.id)
        batches = self._run_calls(engine, progress, limit=50)
        by_company = {}
        for batch in filter(None, batches):
            by_company[batch.env.company] = by_company.get(batch.env.company, batch) | batch
        self.assertIn(partner, by_company[other])
        self.assertLessEqual(self.late, by_company[self.company])
        self.assertEqual(
            self.env["credit.followup.history"]
            .search([("partner_id", "=", partner.id)])
            .company_id,
            other,
        )


BOUNCE_REPORT = """Return-Path: <>
To: {bounce_to}
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Message-Id: <bounce-1@mail.example.com>
In-Reply-To: {original_id}
References: {original_id}
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered to {recipient}.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp; 550 No such person at this address.

--BOUNDARY--
"""
