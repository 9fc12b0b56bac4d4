from datetime import date, datetime, time, timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged
from odoo.tools import SQL, mute_logger

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestLateInterestRules(CreditCollectionsCommon):
    """Who sets the rate (customer, payment terms, company), what lowers the base
    (payments and credit notes on several dates), other currencies and
    companies, any receivable item, the preview against the invoices, and runs
    that fail halfway. Worked out by hand at 12 % a year, actual/365."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": cls.company_data["default_journal_sale"].id,
                "credit_interest_margin": 0.0,
            }
        )
        cls.env["credit.interest.rate"].create(
            {"name": "Contract rate", "date_from": date(2000, 1, 1), "rate": 12.0}
        )
        cls.late_payer = cls._create_customer("Late Payer")

    def _run(self, on=None, company=None):
        run = self.env["credit.interest.run"].create(
            {"date": on or self.today, "company_id": (company or self.company).id}
        )
        run.action_invoice()
        return run

    def _pay_on(self, invoice, amount, paid_on):
        return (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount, "payment_date": paid_on})
            ._create_payments()
        )

    def _receivable(self, move):
        return move.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def _invoice_with_terms(self, partner, amount, term, days_overdue=60):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": self.today - timedelta(days=days_overdue),
                "invoice_payment_term_id": term.id,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Goods", "quantity": 1, "price_unit": amount, "tax_ids": []}
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    def _immediate_terms(self, **vals):
        return self.env["account.payment.term"].create(
            {
                "name": "Immediate, late interest",
                "line_ids": [Command.create({"value": "percent", "value_amount": 100.0})],
            }
            | vals
        )

    # ------------------------------------------------------------------
    # Precedence: the customer's table, the payment terms, the company's table
    # ------------------------------------------------------------------

    def test_payment_term_rate_wins_over_the_company_table(self):
        # "Net 0, 1.5 % a month": 10,000.00 x 18 % x 60 / 365 = 295.890... -> 295.89
        # (the company's 12 % would give 197.26; its margin is not added to a term's rate).
        self.company.credit_interest_margin = 8.0
        term = self._immediate_terms(credit_interest_rule="fixed", credit_interest_rate=18.0)
        invoice = self._invoice_with_terms(self.late_payer, 10000.0, term)
        self.assertEqual(invoice.invoice_date_due, self.today - timedelta(days=60))
        run = self._run()
        self.assertRecordValues(run.accrual_ids, [{"days": 60, "rate": 18.0, "amount": 295.89}])

    def test_customer_table_wins_over_the_payment_terms(self):
        # The customer's own 6 %: 10,000.00 x 6 % x 60 / 365 = 98.630... -> 98.63
        term = self._immediate_terms(credit_interest_rule="fixed", credit_interest_rate=18.0)
        self._invoice_with_terms(self.late_payer, 10000.0, term)
        self.env["credit.interest.rate"].create(
            {
                "name": "Negotiated",
                "partner_id": self.late_payer.id,
                "date_from": date(2000, 1, 1),
                "rate": 6.0,
            }
        )
        self.assertRecordValues(self._run().accrual_ids, [{"rate": 6.0, "amount": 98.63}])

    def test_terms_without_late_charges_bear_neither_interest_nor_compensation(self):
        self.company.credit_interest_compensation_amount = 40.0
        term = self._immediate_terms(credit_interest_rule="none")
        self._invoice_with_terms(self.late_payer, 10000.0, term)
        run = self._run()
        self.assertFalse(run.accrual_ids)
        self.assertFalse(run.invoice_ids)

    def test_payment_term_rate_is_checked(self):
        term = self._immediate_terms()
        for rate in (0.0, -1.0, 150.0):
            with self.assertRaises(ValidationError) as caught, self.env.cr.savepoint():
                term.write({"credit_interest_rule": "fixed", "credit_interest_rate": rate})
            self.assertIn("Late Interest Rate (% a Year)", str(caught.exception))

    def test_turning_interest_on_takes_the_addon_products_and_a_sales_journal(self):
        company_b = self.setup_other_company(name="Interest Off Company")["company"]
        company_b.write({"credit_interest_product_id": False, "credit_interest_journal_id": False})
        company_b.credit_interest_enabled = True
        self.assertEqual(
            company_b.credit_interest_product_id,
            self.env.ref("credit_collections.product_late_interest"),
        )
        self.assertEqual(company_b.credit_interest_journal_id.type, "sale")
        self.assertEqual(company_b.credit_interest_journal_id.company_id, company_b)

    # ------------------------------------------------------------------
    # The base: payments and credit notes on several dates
    # ------------------------------------------------------------------

    def test_payments_and_a_credit_note_on_several_dates(self):
        # 10,000.00 due 60 days ago; 2,000.00 paid on day 10, a credit note of
        # 3,000.00 dated day 20, 1,000.00 paid on day 40 (each lowers the base
        # from the next day, whenever it was matched):
        #   days  1-10 on 10,000.00: 10,000 x 12 % x 10 / 365 = 32.876712
        #   days 11-20 on  8,000.00:  8,000 x 12 % x 10 / 365 = 26.301370
        #   days 21-40 on  5,000.00:  5,000 x 12 % x 20 / 365 = 32.876712
        #   days 41-60 on  4,000.00:  4,000 x 12 % x 20 / 365 = 26.301370
        # 118.356164 -> 118.36, on an average base of 360,000 / 60 = 6,000.00.
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        due = invoice.invoice_date_due
        self._pay_on(invoice, 1000.0, due + timedelta(days=40))
        self._pay_on(invoice, 2000.0, due + timedelta(days=10))
        refund = self._create_invoice(self.late_payer, 3000.0, move_type="out_refund", post=False)
        refund.invoice_date = due + timedelta(days=20)
        refund.action_post()
        (self._receivable(invoice) | self._receivable(refund)).reconcile()
        self.assertEqual(invoice.amount_residual, 4000.0)
        run = self._run()
        self.assertRecordValues(
            run.accrual_ids,
            [{"days": 60, "base_amount": 6000.0, "amount": 118.36, "move_id": invoice.id}],
        )

    def test_paid_late_in_full_still_owes_the_days_it_was_late(self):
        # Paid in full on day 15, after the last run: 10,000 x 12 % x 15 / 365
        # = 49.315... -> 49.32, charged by the next run; then nothing more.
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self._pay_on(invoice, 10000.0, invoice.invoice_date_due + timedelta(days=15))
        self.assertEqual(invoice.payment_state, "paid")
        self.assertRecordValues(self._run().accrual_ids, [{"days": 15, "amount": 49.32}])
        self.assertFalse(self._run().accrual_ids)

    # ------------------------------------------------------------------
    # Currencies, companies, any receivable item
    # ------------------------------------------------------------------

    def test_foreign_currency_items_are_charged_in_their_currency(self):
        # A EUR invoice of 10,000.00 EUR (2 EUR for 1 USD), 5,000.00 EUR paid on
        # day 30: 98.63 + 49.32 = 147.95 EUR, as in the USD example; a USD invoice
        # of 1,000.00 due 60 days ago: 1,000 x 12 % x 60 / 365 = 19.726 -> 19.73
        # USD. Compensation 40.00 EUR per invoice: 40.00 EUR on the EUR invoice,
        # 20.00 USD on the USD one. One interest invoice per currency.
        eur = self.setup_other_currency("EUR")
        self.company.write(
            {
                "credit_interest_compensation_amount": 40.0,
                "credit_interest_compensation_currency_id": eur.id,
            }
        )
        in_eur = self._create_invoice(self.late_payer, 10000.0, days_overdue=60, currency=eur)
        self._pay_on(in_eur, 5000.0, in_eur.invoice_date_due + timedelta(days=30))
        self._create_invoice(self.late_payer, 1000.0, days_overdue=60)
        run = self._run()
        by_currency = {invoice.currency_id.name: invoice for invoice in run.invoice_ids}
        self.assertEqual(sorted(by_currency), ["EUR", "USD"])
        self.assertEqual(by_currency["EUR"].amount_total, 187.95)
        self.assertEqual(by_currency["USD"].amount_total, 39.73)
        # In the company's currency, the EUR invoice is half its amount.
        self.assertAlmostEqual(by_currency["EUR"].amount_total_signed, 93.98, places=2)
        eur_interest = run.accrual_ids.filtered(
            lambda accrual: accrual.currency_id == eur and accrual.kind == "interest"
        )
        self.assertRecordValues(eur_interest, [{"base_amount": 7500.0, "amount": 147.95}])

    def test_each_company_charges_its_own_items(self):
        # Company B charges 6 %: 10,000.00 x 6 % x 60 / 365 = 98.63 on its invoice;
        # company A's run never touches it, nor B's run A's invoice (197.26).
        company_b = self.setup_other_company(name="Interest Company B")["company"]
        self.env["credit.interest.rate"].create(
            {"name": "B rate", "company_id": company_b.id, "date_from": date(2000, 1, 1), "rate": 6}
        )
        company_b.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_journal_id": self.env["account.journal"]
                .search([("company_id", "=", company_b.id), ("type", "=", "sale")], limit=1)
                .id,
            }
        )
        self.env.user.company_ids |= company_b
        in_b = self._create_invoice(self.late_payer, 10000.0, days_overdue=60, company=company_b)
        in_a = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        run_a = self._run()
        run_b = self._run(company=company_b)
        self.assertRecordValues(run_a.accrual_ids, [{"move_id": in_a.id, "amount": 197.26}])
        self.assertRecordValues(run_b.accrual_ids, [{"move_id": in_b.id, "amount": 98.63}])
        self.assertEqual(run_b.invoice_ids.company_id, company_b)
        self.assertEqual(run_b.invoice_ids.journal_id.company_id, company_b)
        manager_b = self._create_user(
            "cc_interest_manager_b", "credit_collections.group_credit_manager", company=company_b
        )
        runs = self.env["credit.interest.run"].with_user(manager_b)
        self.assertEqual(runs.search([]), run_b)
        with self.assertRaises(AccessError):
            runs.browse(run_a.id).read(["name"])
        with self.assertRaises(AccessError):
            self.env["credit.interest.accrual"].with_user(manager_b).browse(
                run_a.accrual_ids.ids
            ).read(["amount"])

    def test_any_posted_receivable_bears_interest(self):
        # An entry's receivable item (what an installment of a plan is), 10,000.00
        # due 60 days ago: 197.26, like an invoice; no compensation (not an invoice).
        self.company.credit_interest_compensation_amount = 40.0
        receivable = self.late_payer.property_account_receivable_id
        entry = self.env["account.move"].create(
            {
                "move_type": "entry",
                "date": self.today - timedelta(days=90),
                "journal_id": self.company_data["default_journal_misc"].id,
                "line_ids": [
                    Command.create(
                        {
                            "name": "Installment 1/1",
                            "account_id": receivable.id,
                            "partner_id": self.late_payer.id,
                            "debit": 10000.0,
                            "date_maturity": self.today - timedelta(days=60),
                        }
                    ),
                    Command.create(
                        {
                            "name": "Rescheduled",
                            "account_id": self.company_data["default_account_revenue"].id,
                            "credit": 10000.0,
                        }
                    ),
                ],
            }
        )
        entry.action_post()
        run = self._run()
        self.assertRecordValues(
            run.accrual_ids, [{"kind": "interest", "move_id": entry.id, "amount": 197.26}]
        )

    # ------------------------------------------------------------------
    # What the user sees
    # ------------------------------------------------------------------

    def test_preview_is_what_the_run_invoices(self):
        # Three customers, a payment and a rate change: the preview's lines are
        # the invoiced lines, to the cent.
        others = [self._create_customer(f"Preview Customer {index}") for index in range(2)]
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self._pay_on(invoice, 2500.0, invoice.invoice_date_due + timedelta(days=12))
        for index, partner in enumerate(others):
            self._create_invoice(partner, 1234.56 * (index + 1), days_overdue=45 + index)
        self.env["credit.interest.rate"].create(
            {"name": "Up", "date_from": self.today - timedelta(days=20), "rate": 14.0}
        )
        run = self.env["credit.interest.run"].create({"date": self.today})
        run.action_compute()
        mine = run.accrual_ids.filtered(lambda a: a.partner_id in self.late_payer.union(*others))

        def lines(accruals):
            return sorted(
                (a.move_line_id.id, a.date_from, a.date_to, a.days, a.rate, a.amount)
                for a in accruals
            )

        preview = lines(mine)
        self.assertEqual(len(preview), 6, "two rate periods per invoice")
        run.action_invoice()
        invoiced = run.accrual_ids.filtered(
            lambda a: a.partner_id in self.late_payer.union(*others)
        )
        self.assertEqual(lines(invoiced), preview)
        interest_invoices = run.invoice_ids.filtered(
            lambda move: move.partner_id in self.late_payer.union(*others)
        )
        self.assertEqual(
            sum(interest_invoices.mapped("amount_total")),
            round(sum(line[-1] for line in preview), 2),
        )

    def test_interest_invoice_and_sources_refer_to_each_other(self):
        invoice = self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        other = self._create_invoice(self.late_payer, 5000.0, days_overdue=30)
        interest = self._run().invoice_ids
        self.assertEqual(interest.credit_interest_source_ids, invoice | other)
        self.assertEqual(invoice.credit_interest_invoice_ids, interest)
        self.assertEqual(other.credit_interest_invoice_ids, interest)
        # 197.26 + 5,000 x 12 % x 30 / 365 (49.315 -> 49.32) = 246.58
        self.assertEqual(interest.amount_total, 246.58)
        note = self.late_payer.message_ids[0]
        self.assertIn(interest.name, note.body)
        self.assertIn("246.58", note.body)

    def test_invoices_print_their_late_payment_terms(self):
        eur = self.setup_other_currency("EUR")
        self.company.write(
            {
                "credit_interest_print_terms": True,
                "credit_interest_grace_days": 5,
                "credit_interest_compensation_amount": 40.0,
                "credit_interest_compensation_currency_id": eur.id,
            }
        )
        invoice = self._create_invoice(self.late_payer, 100.0)
        text = invoice._credit_late_payment_terms()
        self.assertIn("Late payments bear interest at 12 % a year", text)
        self.assertIn("a fixed compensation of", text)
        self.assertIn("40.00", text)
        self.assertIn("5 days after the due date", text)
        # On the PDF the customer receives, as wkhtmltopdf prints it.
        pdf = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("account.account_invoices", invoice.ids)[0]
        )
        self.assertIn("Late payments bear interest at 12 % a year", self._pdf_text(pdf))
        # A payment term's own rate; a private person owes no compensation here.
        self.company.credit_interest_compensation_companies_only = True
        person = self._create_customer("Private Buyer", is_company=False)
        term = self._immediate_terms(credit_interest_rule="fixed", credit_interest_rate=18.0)
        own_terms = self._invoice_with_terms(person, 100.0, term, days_overdue=0)
        self.assertEqual(
            own_terms._credit_late_payment_terms(),
            "Late payments bear interest at 18 % a year. "
            "Interest runs from 5 days after the due date.",
        )
        # Off: nothing printed.
        self.company.credit_interest_print_terms = False
        self.assertEqual(invoice._credit_late_payment_terms(), "")
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("account.report_invoice", invoice.ids)[0]
            .decode()
        )
        self.assertNotIn("Late payments bear", html)

    # ------------------------------------------------------------------
    # Runs that fail
    # ------------------------------------------------------------------

    def _only_this_company_charges(self):
        # The demo company may charge interest too: only this one here.
        self.env["res.company"].search([("id", "!=", self.company.id)]).write(
            {"credit_interest_enabled": False}
        )

    def test_a_failing_customer_is_logged_and_skipped(self):
        other = self._create_customer("Other Late Payer")
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self._create_invoice(other, 10000.0, days_overdue=60)
        self._only_this_company_charges()
        run_class = type(self.env["credit.interest.run"])
        prepare = run_class._prepare_invoice_vals

        def failing_for_late_payer(run, partner, *args):
            if partner == self.late_payer:
                raise ValueError("No invoice address")
            return prepare(run, partner, *args)

        cron = self.env.ref("credit_collections.ir_cron_accrue_late_interest")
        with (
            patch.object(run_class, "_prepare_invoice_vals", failing_for_late_payer),
            freeze_time(datetime.combine(self.today, time(12))),
            mute_logger("odoo.addons.credit_collections.models.credit_interest_run_schedule"),
        ):
            cron.method_direct_trigger()
        run = self.env["credit.interest.run"].search([("company_id", "=", self.company.id)])
        self.assertEqual(run.state, "done")
        self.assertEqual(run.invoice_ids.partner_id, other)
        self.assertFalse(run.accrual_ids.filtered(lambda a: a.partner_id == self.late_payer))
        self.assertIn("No invoice address", self.late_payer.message_ids[0].body)
        self.assertIn("could not be charged", self.late_payer.message_ids[0].body)

    def test_a_crash_after_a_batch_then_a_rerun_charges_each_day_once(self):
        # One customer per call; the second call dies after charging (its whole
        # transaction is rolled back, as when the worker is killed); the next
        # call charges the second customer once, the first is not charged again.
        other = self._create_customer("Other Late Payer")
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self._create_invoice(other, 10000.0, days_overdue=60)
        self._only_this_company_charges()
        runs = self.env["credit.interest.run"]
        mine = [("company_id", "=", self.company.id)]
        with freeze_time(datetime.combine(self.today, time(12))):
            runs._cron_accrue_late_interest(limit=1)
            with (
                patch.object(
                    type(self.env["ir.cron"]),
                    "_notify_progress",
                    side_effect=RuntimeError("worker killed"),
                ),
                self.assertRaises(RuntimeError),
                self.env.cr.savepoint(),
            ):
                runs._cron_accrue_late_interest(limit=1)
            self.env.invalidate_all()
            run = runs.search(mine)
            self.assertEqual(len(run.invoice_ids), 1, "the second batch left nothing")
            for _call in range(3):
                runs._cron_accrue_late_interest(limit=1)
        run = runs.search(mine)
        self.assertEqual(len(run), 1)
        self.assertEqual(run.state, "done")
        self.assertEqual(run.invoice_ids.partner_id, self.late_payer | other)
        self.assertEqual(run.invoice_ids.mapped("amount_total"), [197.26, 197.26])
        self.assertEqual(len(run.accrual_ids), 2)

    def test_a_misconfigured_company_does_not_stop_the_later_ones(self):
        # Company A (first in id order) has lost its interest product: its run
        # stops, saying so; company B's run still charges 10,000.00 x 6 % x 60 / 365
        # = 98.63 the same day.
        company_b = self.setup_other_company(name="Interest Company After")["company"]
        self.env["credit.interest.rate"].create(
            {"name": "B rate", "company_id": company_b.id, "date_from": date(2000, 1, 1), "rate": 6}
        )
        company_b.write(
            {
                "credit_interest_enabled": True,
                "credit_interest_run_day": 1,
                "credit_interest_journal_id": self.env["account.journal"]
                .search([("company_id", "=", company_b.id), ("type", "=", "sale")], limit=1)
                .id,
            }
        )
        self.env.user.company_ids |= company_b
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60, company=company_b)
        self._create_invoice(self.late_payer, 10000.0, days_overdue=60)
        self.company.credit_interest_run_day = 1
        # The form refuses it; a product deleted under the setting leaves it so.
        self.env.cr.execute(
            SQL(
                "UPDATE res_company SET credit_interest_product_id = NULL WHERE id = %s",
                self.company.id,
            )
        )
        self.company.invalidate_recordset(["credit_interest_product_id"])
        self.assertLess(self.company.id, company_b.id)
        cron = self.env.ref("credit_collections.ir_cron_accrue_late_interest")
        with freeze_time(datetime.combine(self.today, time(12))):
            for _call in range(20):
                cron.method_direct_trigger()
                progress = self.env["ir.cron.progress"].search(
                    [("cron_id", "=", cron.id)], order="id desc", limit=1
                )
                if not progress.remaining:
                    break
        Run = self.env["credit.interest.run"]
        run_a = Run.search([("company_id", "=", self.company.id)])
        run_b = Run.search([("company_id", "=", company_b.id)])
        self.assertEqual(run_a.state, "draft")
        self.assertIn("needs", run_a.stop_reason)
        self.assertIn("needs", run_a.message_ids[0].body)
        self.assertEqual(run_b.state, "done")
        self.assertEqual(run_b.invoice_ids.amount_total, 98.63)
