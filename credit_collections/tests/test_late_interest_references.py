import inspect
from datetime import date, datetime, time, timedelta

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from odoo.addons.credit_collections.models import (
    credit_interest_accrual,
    credit_interest_compensation,
    credit_interest_rate,
    credit_interest_reference_rate,
    credit_interest_run,
)

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestLateInterestReferences(CreditCollectionsCommon):
    """Statutory presets on shipped reference rates (ECB, Bank of England), a
    half-year without its rate, compensation by bands, income accounts of
    their own, who may run, and bad input."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": cls.company_data["default_journal_sale"].id,
            }
        )
        cls.late_payer = cls._create_customer("Statutory Late Payer")
        # Only the shipped role: read-only on interest runs.
        cls.bare_collector = cls._create_user(
            "cc_bare_interest_collector", "credit_collections.group_credit_user"
        )

    def _invoice(self, amount, invoice_date, due, currency=None):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.late_payer.id,
                "invoice_date": invoice_date,
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "currency_id": (currency or self.company.currency_id).id,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Goods", "quantity": 1, "price_unit": amount, "tax_ids": []}
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    def _mine(self, run):
        return run.accrual_ids.filtered(lambda accrual: accrual.partner_id == self.late_payer)

    # ------------------------------------------------------------------
    # A half-year without its reference rate
    # ------------------------------------------------------------------

    def test_eu_directive_stops_when_the_half_year_has_no_rate(self):
        # The rates shipped end with July-December 2025: a run today (2026 or
        # later) charges nothing, says which half-year is missing and asks the
        # credit managers to add it, instead of charging 2.15 + 8 = 10.15 %.
        self.company._credit_interest_apply_preset("eu_directive")
        self.assertEqual(self.company.credit_interest_reference, "ecb")
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run = self.env["credit.interest.run"].create({"date": self.today})
        run.action_invoice()
        self.assertEqual(run.state, "draft")
        self.assertFalse(run.accrual_ids)
        self.assertFalse(run.invoice_ids)
        self.assertIn("half-year from 01/01/2026", run.stop_reason)
        self.assertIn("Reference Rates", run.stop_reason)
        self.assertIn("half-year from 01/01/2026", run.message_ids[0].body)
        activity = run.activity_ids
        self.assertEqual(
            activity.activity_type_id,
            self.env.ref("credit_collections.mail_activity_interest_rate_missing"),
        )
        self.assertTrue(activity)
        self.assertLessEqual(
            activity.user_id, self.env.ref("credit_collections.group_credit_manager").users
        )
        run.action_compute()
        self.assertEqual(len(run.activity_ids), len(activity), "asked once")
        # The credit manager adds the half-years (2.15 here): 10.15 % from then,
        # 10,000.00 x 10.15 % x 60 / 365 = 166.849 -> 166.85.
        references = self.env["credit.interest.reference.rate"].with_user(self.credit_manager)
        for start in credit_interest_reference_rate.half_years(date(2026, 1, 1), self.today):
            references.create({"reference": "ecb", "date_from": start, "rate": 2.15})
        run.action_invoice()
        self.assertFalse(run.stop_reason)
        self.assertEqual(run.state, "done")
        self.assertRecordValues(
            self._mine(run).filtered(lambda accrual: accrual.kind == "interest"),
            [{"days": 60, "rate": 10.15, "amount": 166.85}],
        )

    def test_scheduled_action_stops_the_company_once_a_day(self):
        self.company._credit_interest_apply_preset("eu_directive")
        self.company.credit_interest_run_day = 1
        self.env["res.company"].search([("id", "!=", self.company.id)]).write(
            {"credit_interest_enabled": False}
        )
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        runs = self.env["credit.interest.run"]
        mine = [("company_id", "=", self.company.id)]
        with freeze_time(datetime.combine(self.today, time(12))):
            runs._cron_accrue_late_interest()
            runs._cron_accrue_late_interest()
        run = runs.search(mine)
        self.assertEqual(len(run), 1)
        self.assertTrue(run.scheduled)
        self.assertEqual((run.state, run.stopped_date), ("draft", self.today))
        self.assertFalse(run.accrual_ids)
        self.assertEqual(len(run.message_ids.filtered(lambda m: "half-year" in (m.body or ""))), 1)
        tomorrow = self.today + timedelta(days=1)
        if tomorrow.month == self.today.month:
            for start in credit_interest_reference_rate.half_years(date(2026, 1, 1), tomorrow):
                self.env["credit.interest.reference.rate"].create(
                    {"reference": "ecb", "date_from": start, "rate": 2.15}
                )
            with freeze_time(datetime.combine(tomorrow, time(12))):
                runs._cron_accrue_late_interest()
            self.assertEqual(run.state, "done", "retried the next day, once the rate is added")
            self.assertFalse(run.stop_reason)

    # ------------------------------------------------------------------
    # UK Late Payment Act
    # ------------------------------------------------------------------

    def _uk_invoices(self):
        """The UK preset and three GBP invoices of 10,000.00, 1,000.00 and 999.99
        due 1 September 2025. :return: (invoices, GBP)"""
        gbp = self.setup_other_currency("GBP")
        self.company._credit_interest_apply_preset("uk_late_payment")
        self.assertRecordValues(
            self.company,
            [
                {
                    "credit_interest_reference": "boe",
                    "credit_interest_margin": 8.0,
                    "credit_interest_compensation_currency_id": gbp.id,
                    "credit_interest_compensation_companies_only": True,
                }
            ],
        )
        bands = self.env["credit.interest.compensation"].search(
            [("company_id", "=", self.company.id)]
        )
        self.assertEqual(
            [(band.amount_from, band.amount) for band in bands],
            [(0.0, 40.0), (1000.0, 70.0), (10000.0, 100.0)],
        )
        invoices = [
            self._invoice(amount, date(2025, 8, 2), date(2025, 9, 1), gbp)
            for amount in (10000.0, 1000.0, 999.99)
        ]
        self.assertIn(
            "Late payments bear interest at 12.25 % a year",
            invoices[0]._credit_late_payment_terms(),
        )
        self.assertIn("100.00", invoices[0]._credit_late_payment_terms())
        self.assertIn("40.00", invoices[2]._credit_late_payment_terms())
        return invoices, gbp

    def test_uk_preset_base_rate_plus_eight_and_compensation_by_size(self):
        # Bank Rate on 30 June 2025: 4.25 %, + 8 = 12.25 % for July-December 2025.
        # Three GBP invoices due 1 September 2025, charged to 1 October: 30 days.
        #   10,000.00 x 12.25 % x 30 / 365 = 100.685 -> 100.68, compensation 100 GBP
        #    1,000.00 x 12.25 % x 30 / 365 =  10.068 ->  10.07, 70 GBP (from 1,000)
        #      999.99 x 12.25 % x 30 / 365 =  10.068 ->  10.07, 40 GBP (below 1,000)
        # One GBP invoice: 120.82 + 210.00 = 330.82.
        invoices, gbp = self._uk_invoices()
        run = self.env["credit.interest.run"].create({"date": date(2025, 10, 1)})
        run.action_invoice()
        charges = {
            (accrual.move_id, accrual.kind): (accrual.days, accrual.rate, accrual.amount)
            for accrual in self._mine(run)
        }
        self.assertEqual(
            charges,
            {
                (invoices[0], "interest"): (30, 12.25, 100.68),
                (invoices[1], "interest"): (30, 12.25, 10.07),
                (invoices[2], "interest"): (30, 12.25, 10.07),
                (invoices[0], "compensation"): (0, 0.0, 100.0),
                (invoices[1], "compensation"): (0, 0.0, 70.0),
                (invoices[2], "compensation"): (0, 0.0, 40.0),
            },
        )
        interest_invoice = run.invoice_ids.filtered(lambda move: move.partner_id == self.late_payer)
        self.assertEqual(
            (interest_invoice.currency_id, interest_invoice.amount_total), (gbp, 330.82)
        )

    def test_uk_interest_and_compensation_post_to_income_accounts_of_their_own(self):
        self._uk_invoices()
        run = self.env["credit.interest.run"].create({"date": date(2025, 10, 1)})
        run.action_invoice()
        interest_invoice = run.invoice_ids.filtered(lambda move: move.partner_id == self.late_payer)
        # Their own income accounts, not Product Sales.
        lines = interest_invoice.invoice_line_ids
        interest_account = self.company.credit_interest_account_id
        compensation_account = self.company.credit_interest_compensation_account_id
        self.assertEqual(interest_account.account_type, "income_other")
        self.assertNotEqual(interest_account, self.company_data["default_account_revenue"])
        self.assertNotEqual(interest_account, compensation_account)
        self.assertEqual(
            set(lines.mapped(lambda line: (line.product_id, line.account_id))),
            {
                (self.company.credit_interest_product_id, interest_account),
                (self.company.credit_interest_compensation_product_id, compensation_account),
            },
        )

    def test_income_accounts_are_a_setting(self):
        other = self.env["account.account"].create(
            {"name": "Financial income", "code": "7600", "account_type": "income_other"}
        )
        settings = self.env["res.config.settings"].create({"credit_interest_account_id": other.id})
        settings.execute()
        self.assertEqual(self.company.credit_interest_account_id, other)
        product = self.company.credit_interest_product_id.with_company(self.company)
        self.assertEqual(product.property_account_income_id, other)

    # ------------------------------------------------------------------
    # Who may run
    # ------------------------------------------------------------------

    def test_a_collector_cannot_call_any_public_method_of_the_interest_models(self):
        # Read-only on runs: every public method the addon defines on its
        # interest models is refused before anything is charged or posted.
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run = self.env["credit.interest.run"].create({"date": self.today})
        run.action_compute()
        accruals = run.accrual_ids
        records = {
            credit_interest_run.CreditInterestRun: run,
            credit_interest_accrual.CreditInterestAccrual: accruals[:1],
            credit_interest_rate.CreditInterestRate: self.env["credit.interest.rate"],
            credit_interest_reference_rate.CreditInterestReferenceRate: self.env[
                "credit.interest.reference.rate"
            ].search([], limit=1),
            credit_interest_compensation.CreditInterestCompensation: self.env[
                "credit.interest.compensation"
            ],
        }
        arguments = {"create": ([{"date": self.today}],), "write": ({"date": self.today},)}
        called = []
        for cls, record in records.items():
            for name, method in vars(cls).items():
                # init: the registry's hook (an idempotent CREATE INDEX), no data.
                if name.startswith("_") or name == "init" or not inspect.isfunction(method):
                    continue
                called.append(name)
                with self.subTest(model=cls._name, method=name), self.assertRaises(AccessError):
                    getattr(record.with_user(self.bare_collector), name)(*arguments.get(name, ()))
        self.assertIn("action_invoice", called)
        self.assertIn("action_compute", called)
        self.assertEqual(run.state, "draft")
        self.assertEqual(run.accrual_ids, accruals)
        self.assertFalse(run.invoice_ids)
        self.assertFalse(
            self.env["account.move"].search(
                [("partner_id", "=", self.late_payer.id), ("credit_charge_type", "=", "interest")]
            )
        )

    # ------------------------------------------------------------------
    # Bad input
    # ------------------------------------------------------------------

    def test_grace_days_and_margin_are_bounded_where_typed(self):
        for vals, message in (
            ({"credit_interest_grace_days": 2**31 - 1}, "Interest Grace Days: enter 0 to 365"),
            ({"credit_interest_grace_days": -1}, "Interest Grace Days: enter 0 to 365"),
            ({"credit_interest_margin": 1000.0}, r"Interest Margin \(points\): enter 0 to 50"),
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(ValidationError, message):
                with self.env.cr.savepoint():
                    self.env["res.config.settings"].create(vals).execute()
        self.company.credit_interest_grace_days = 365
        self.assertEqual(self.company.credit_interest_grace_days, 365)

    def test_reference_rates_are_one_per_half_year(self):
        references = self.env["credit.interest.reference.rate"]
        with self.assertRaisesRegex(ValidationError, "1 January or 1 July"):
            references.create({"reference": "boe", "date_from": date(2030, 3, 1), "rate": 4.0})
        with self.assertRaisesRegex(ValidationError, "between 0 and 100"):
            references.create({"reference": "boe", "date_from": date(2030, 1, 1), "rate": 400.0})

    def test_cancelled_interest_invoice_charged_again_cannot_come_back(self):
        # Cancelled, its 60 days are charged again by the next run: resetting it
        # to draft would charge them twice, and is refused with what to do.
        self.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        self.company.credit_interest_reference = False
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        first = self.env["credit.interest.run"].create({"date": self.today})
        first.action_invoice()
        cancelled = first.invoice_ids.filtered(lambda move: move.partner_id == self.late_payer)
        cancelled.button_draft()
        cancelled.button_cancel()
        cancelled.button_draft()  # nothing charged since: it may come back
        cancelled.button_cancel()
        second = self.env["credit.interest.run"].create({"date": self.today})
        second.action_invoice()
        again = second.invoice_ids.filtered(lambda move: move.partner_id == self.late_payer)
        self.assertEqual(again.amount_total, 197.26)
        with self.assertRaisesRegex(UserError, f"charged again by {again.name}"):
            cancelled.button_draft()
        self.assertEqual(cancelled.state, "cancel")
