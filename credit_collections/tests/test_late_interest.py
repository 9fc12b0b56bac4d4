from datetime import date, datetime, time, timedelta

import psycopg2
from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestLateInterest(CreditCollectionsCommon):
    """Late interest worked out by hand: 12 % a year, actual/365, no grace unless
    said. Interest for a day is charged on the amount open at its start: a
    payment lowers the base from the day after its date."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": cls.company_data["default_journal_sale"].id,
            }
        )
        cls.rate = cls.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        cls.late_payer = cls._create_customer("Late Payer")

    def _run(self, on=None):
        run = self.env["credit.interest.run"].create({"date": on or self.today})
        run.action_invoice()
        return run

    def _pay_on(self, invoice, amount, paid_on):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount, "payment_date": paid_on})
            ._create_payments()
        )

    def test_sixty_days_on_ten_thousand(self):
        # 10,000.00 x 12 % x 60 / 365 = 197.260... -> 197.26
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run = self._run()
        self.assertRecordValues(
            run.accrual_ids,
            [
                {
                    "move_id": invoice.id,
                    "date_from": invoice.invoice_date_due + timedelta(days=1),
                    "date_to": self.today,
                    "days": 60,
                    "base_amount": 10000.0,
                    "rate": 12.0,
                    "amount": 197.26,
                    "state": "invoiced",
                }
            ],
        )
        interest_invoice = run.invoice_ids
        self.assertRecordValues(
            interest_invoice,
            [
                {
                    "partner_id": self.late_payer.id,
                    "amount_total": 197.26,
                    "state": "posted",
                    "credit_charge_type": "interest",
                    "ref": "Late payment interest",
                    "invoice_origin": invoice.name,
                }
            ],
        )
        self.assertIn(invoice.name, interest_invoice.invoice_line_ids.name)
        self.assertEqual(run.state, "done")
        # Both chatters say so.
        self.assertIn(invoice.name, interest_invoice.message_ids[0].body)
        self.assertIn(interest_invoice.name, invoice.message_ids[0].body)
        self.assertIn("197.26", invoice.message_ids[0].body)

    def test_partial_payment_lowers_the_base_from_the_next_day(self):
        # Paid 5,000.00 on day 30: 30 days on 10,000.00 (98.630...) and 30 days on
        # 5,000.00 (49.315...): 147.945... -> 147.95, on an average base of 7,500.00.
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self._pay_on(invoice, 5000.0, invoice.invoice_date_due + timedelta(days=30))
        run = self._run()
        self.assertRecordValues(
            run.accrual_ids, [{"days": 60, "base_amount": 7500.0, "amount": 147.95}]
        )

    def test_grace_days_are_never_charged(self):
        # 10 grace days: 50 days charged, 10,000.00 x 12 % x 50 / 365 = 164.383 -> 164.38
        self.company.credit_interest_grace_days = 10
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run = self._run()
        self.assertRecordValues(
            run.accrual_ids,
            [
                {
                    "date_from": invoice.invoice_date_due + timedelta(days=11),
                    "days": 50,
                    "amount": 164.38,
                }
            ],
        )

    def test_one_and_a_half_percent_a_month_is_eighteen_a_year(self):
        # 10,000.00 x 18 % x 60 / 365 = 295.890... -> 295.89
        self.rate.rate = 18.0
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self.assertEqual(self._run().accrual_ids.amount, 295.89)

    def test_actual_360(self):
        # 10,000.00 x 12 % x 60 / 360 = 200.00
        self.company.credit_interest_day_count = "actual_360"
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self.assertEqual(self._run().accrual_ids.amount, 200.0)

    def test_rate_change_inside_the_period(self):
        # 6 % from day 31: 30 days at 12 % (98.630 -> 98.63) and 30 days at 6 %
        # (10,000.00 x 6 % x 30 / 365 = 49.315 -> 49.32): one line per rate period.
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self.env["credit.interest.rate"].create(
            {
                "name": "Lower rate",
                "date_from": invoice.invoice_date_due + timedelta(days=31),
                "rate": 6.0,
            }
        )
        run = self._run()
        self.assertRecordValues(
            run.accrual_ids,
            [
                {"days": 30, "rate": 12.0, "amount": 98.63},
                {"days": 30, "rate": 6.0, "amount": 49.32},
            ],
        )
        self.assertEqual(run.invoice_ids.amount_total, 147.95)

    def test_two_runs_charge_each_day_once(self):
        # A run 30 days ago charged days 1-30 (98.63); today's charges 31-60 only.
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        first = self._run(self.today - timedelta(days=30))
        second = self._run()
        self.assertEqual(first.accrual_ids.amount, 98.63)
        self.assertRecordValues(
            second.accrual_ids,
            [
                {
                    "date_from": invoice.invoice_date_due + timedelta(days=31),
                    "days": 30,
                    "amount": 98.63,
                }
            ],
        )
        again = self._run()
        self.assertFalse(again.accrual_ids, "a second run the same day charges nothing")
        self.assertFalse(again.invoice_ids)

    def test_the_database_refuses_a_day_charged_twice(self):
        # What stops a second run working at the same moment as the first: its
        # charge of the same item from the same day cannot be recorded as invoiced.
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        charged = self._run().accrual_ids
        other = self.env["credit.interest.run"].create({"date": self.today})
        with self.assertRaises(psycopg2.errors.UniqueViolation), mute_logger("odoo.sql_db"):
            with self.env.cr.savepoint():
                self.env["credit.interest.accrual"].sudo().create(
                    {
                        "run_id": other.id,
                        "move_line_id": charged.move_line_id.id,
                        "partner_id": self.late_payer.id,
                        "date_from": charged.date_from,
                        "date_to": charged.date_to,
                        "currency_id": charged.currency_id.id,
                        "amount": charged.amount,
                        "invoice_line_id": charged.invoice_line_id.id,
                    }
                )
                self.env.flush_all()

    def test_cancelled_interest_invoice_frees_its_days(self):
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run = self._run()
        run.invoice_ids.button_draft()
        run.invoice_ids.button_cancel()
        self.assertEqual(run.accrual_ids.state, "cancelled")
        rerun = self._run()
        self.assertRecordValues(rerun.accrual_ids, [{"days": 60, "amount": 197.26}])

    def test_deleted_draft_interest_invoice_frees_its_days(self):
        self.company.credit_interest_auto_post = False
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run = self._run()
        self.assertEqual(run.invoice_ids.state, "draft")
        accrual = run.accrual_ids
        run.invoice_ids.unlink()
        self.assertEqual(accrual.state, "cancelled")
        self.assertRecordValues(self._run().accrual_ids, [{"days": 60, "amount": 197.26}])

    def test_compensation_once_per_late_invoice_in_its_currency(self):
        # 40.00 EUR on a USD invoice, at the test rate of 2 EUR for 1 USD: 20.00 USD.
        eur = self.setup_other_currency("EUR")
        self.company.write(
            {
                "credit_interest_compensation_amount": 40.0,
                "credit_interest_compensation_currency_id": eur.id,
            }
        )
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run = self._run(self.today - timedelta(days=30))
        compensation = run.accrual_ids.filtered(lambda accrual: accrual.kind == "compensation")
        self.assertEqual(compensation.amount, 20.0)
        self.assertEqual(run.invoice_ids.amount_total, 98.63 + 20.0)
        later = self._run()
        self.assertEqual(later.accrual_ids.mapped("kind"), ["interest"])

    def test_compensation_to_companies_only(self):
        self.company.write(
            {
                "credit_interest_compensation_amount": 40.0,
                "credit_interest_compensation_companies_only": True,
            }
        )
        person = self._create_customer("Private Person", is_company=False)
        self._create_invoice(person, 1000.0, days_overdue=10)
        self._create_invoice(self.late_payer, 1000.0, days_overdue=10)
        run = self._run()
        compensated = run.accrual_ids.filtered(lambda accrual: accrual.kind == "compensation")
        self.assertEqual(compensated.partner_id, self.late_payer)

    def test_disputed_items_and_exempt_customers_bear_no_interest(self):
        disputed = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        disputed.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )._followup_exclude("Disputed by the customer")
        exempt = self._create_customer("Exempt Customer")
        exempt.with_company(self.company).credit_interest_exempt = True
        self._create_invoice(exempt, 10000.0, days_overdue=60)
        self.assertFalse(self._run().accrual_ids)

    def test_below_the_minimum_nothing_is_charged_and_the_days_wait(self):
        # 1,000.00 x 12 % x 30 / 365 = 9.86 < 10.00: nothing; 30 days later 60 days
        # are charged at once: 1,000.00 x 12 % x 60 / 365 = 19.73.
        self.company.credit_interest_min_amount = 10.0
        self._create_invoice(self.late_payer, 1000.0, days_overdue=60)
        early = self._run(self.today - timedelta(days=30))
        self.assertFalse(early.accrual_ids)
        self.assertRecordValues(self._run().accrual_ids, [{"days": 60, "amount": 19.73}])

    def test_only_credit_managers_run_and_invoice(self):
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        with self.assertRaises(AccessError):
            self.env["credit.interest.run"].with_user(self.collector).create({"date": self.today})
        with self.assertRaises(AccessError):
            self.env["credit.interest.run"].with_user(self.salesperson).search([])
        run = (
            self.env["credit.interest.run"]
            .with_user(self.credit_manager)
            .create({"date": self.today})
        )
        run.action_compute()
        # Collectors see the preview, and cannot change it.
        preview = run.with_user(self.collector).accrual_ids
        self.assertEqual(preview.amount, 197.26)
        with self.assertRaises(AccessError):
            preview.write({"amount": 1.0})
        with self.assertRaises(AccessError):
            self.env["credit.interest.accrual"].with_user(self.credit_manager).create(
                {
                    "run_id": run.id,
                    "move_line_id": preview.move_line_id.id,
                    "partner_id": self.late_payer.id,
                    "date_from": self.today,
                    "date_to": self.today,
                    "currency_id": self.company.currency_id.id,
                    "amount": 1.0,
                }
            )

    def test_a_credit_manager_cannot_close_or_reopen_a_run_by_hand(self):
        # Over RPC, writing the state would close a run without invoicing it (its
        # preview cancelled) or reopen an invoiced one.
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        runs = self.env["credit.interest.run"].with_user(self.credit_manager)
        draft = runs.create({"date": self.today})
        draft.action_compute()
        invoice = self._create_invoice(self.late_payer, 10.0)
        for vals in (
            {"state": "done"},
            {"invoice_ids": [Command.link(invoice.id)]},
            {"scheduled": True},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                draft.write(vals)
        with self.assertRaises(AccessError):
            runs.create({"date": self.today, "state": "done"})
        draft.action_invoice()
        self.assertEqual(draft.state, "done")
        with self.assertRaisesRegex(UserError, "already invoiced"):
            draft.write({"date": self.today - timedelta(days=1)})

    def test_bad_input_is_refused_naming_the_field(self):
        with self.assertRaisesRegex(ValidationError, "Annual Rate"):
            self.rate.rate = -1.0
        with self.assertRaisesRegex(ValidationError, "Annual Rate"):
            self.rate.rate = 120.0
        with self.assertRaisesRegex(ValidationError, "From"):
            self.env["credit.interest.rate"].create(
                {"name": "Same day", "date_from": date(2000, 1, 1), "rate": 5.0}
            )
        with self.assertRaisesRegex(ValidationError, "Interest Grace Days"):
            self.company.credit_interest_grace_days = -1
        with self.assertRaisesRegex(ValidationError, "Interest Journal"):
            self.company.credit_interest_journal_id = False
        with self.assertRaisesRegex(ValidationError, "future"):
            self.env["credit.interest.run"].create({"date": self.today + timedelta(days=1)})

    def test_eu_directive_preset_rate_of_each_half_year_plus_eight_points(self):
        # Due 21 June 2024, charged to 10 July 2024. H1 2024: 4.50 + 8 = 12.50 %,
        # H2 2024: 4.25 + 8 = 12.25 %.
        # 22-30 June, 9 days: 10,000.00 x 12.50 % x 9 / 365 = 30.8219 -> 30.82
        # 1-10 July, 10 days: 10,000.00 x 12.25 % x 10 / 365 = 33.5616 -> 33.56
        # Compensation: 40.00 EUR = 20.00 USD at the test rate (2 EUR for 1 USD).
        self.rate.unlink()
        self.company._credit_interest_apply_preset("eu_directive")
        self.assertEqual(self.company.credit_interest_margin, 8.0)
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.late_payer.id,
                "invoice_date": date(2024, 5, 22),
                "invoice_date_due": date(2024, 6, 21),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Goods", "quantity": 1, "price_unit": 10000.0, "tax_ids": []}
                    )
                ],
            }
        )
        invoice.action_post()
        self.setup_other_currency("EUR")
        run = self._run(date(2024, 7, 10))
        self.assertRecordValues(
            run.accrual_ids,
            [
                {"kind": "interest", "days": 9, "rate": 12.5, "amount": 30.82},
                {"kind": "interest", "days": 10, "rate": 12.25, "amount": 33.56},
                {"kind": "compensation", "days": 0, "rate": 0.0, "amount": 20.0},
            ],
        )
        self.assertAlmostEqual(run.invoice_ids.amount_total, 84.38)

    def test_scheduled_action_charges_each_company_once_a_month(self):
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        cron = self.env.ref("credit_collections.ir_cron_accrue_late_interest")
        self.company.credit_interest_run_day = 1

        def run_cron():
            for _call in range(20):
                cron.method_direct_trigger()
                progress = self.env["ir.cron.progress"].search(
                    [("cron_id", "=", cron.id)], order="id desc", limit=1
                )
                if not progress.remaining:
                    return
            self.fail("The interest run never reported its end.")

        # At noon, so that the scheduled action's user counts the same day in its
        # time zone: 60 days, 197.26 as in the first example.
        with freeze_time(datetime.combine(self.today, time(12))):
            run_cron()
        runs = self.env["credit.interest.run"].search([("company_id", "=", self.company.id)])
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs.state, "done")
        self.assertEqual(runs.invoice_ids.amount_total, 197.26)
        with freeze_time(datetime.combine(self.today, time(12))):
            run_cron()
        self.assertEqual(
            self.env["credit.interest.run"].search_count([("company_id", "=", self.company.id)]),
            1,
            "once a month",
        )

    def test_preview_queries_do_not_grow_with_customers(self):
        def customers(count):
            for index in range(count):
                partner = self._create_customer(f"Interest {count} {index}")
                invoice = self._create_invoice(partner, 1000.0 + index, days_overdue=40)
                self._pay_on(invoice, 100.0, invoice.invoice_date_due + timedelta(days=5))

        def count():
            run = self.env["credit.interest.run"].create({"date": self.today})
            self.env.flush_all()
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            run.action_compute()
            self.env.flush_all()
            queries = self.env.cr.sql_log_count - before
            run.unlink()
            return queries

        customers(2)
        count()  # caches warmed
        few = count()
        customers(6)
        self.assertEqual(count(), few)

    def test_scheduled_run_charges_a_batch_of_customers_per_call(self):
        # Two late payers, one customer per call: the first call charges one and
        # asks to be called again, the second charges the other and ends the run.
        other = self._create_customer("Other Late Payer")
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self._create_invoice(other, 10000.0, days_overdue=60)
        # Only this company charges interest here (the demo company may too).
        self.env["res.company"].search([("id", "!=", self.company.id)]).write(
            {"credit_interest_enabled": False}
        )
        cron = self.env.ref("credit_collections.ir_cron_accrue_late_interest")
        progress = cron._add_progress()[1]
        runs = self.env["credit.interest.run"].with_context(ir_cron_progress_id=progress.id)
        mine = [("company_id", "=", self.company.id)]
        with freeze_time(datetime.combine(self.today, time(12))):
            runs._cron_accrue_late_interest(limit=1)
            run = runs.search(mine)
            self.assertEqual((run.state, len(run.invoice_ids)), ("draft", 1))
            self.assertEqual(progress.done, 1)
            self.assertGreater(progress.remaining, 0)
            runs._cron_accrue_late_interest(limit=1)
        self.assertEqual(runs.search(mine), run, "the same run goes on")
        self.assertEqual(run.state, "done")
        self.assertEqual(run.invoice_ids.partner_id, self.late_payer | other)
        self.assertEqual(run.invoice_ids.mapped("amount_total"), [197.26, 197.26])
