from datetime import timedelta

from odoo import Command
from odoo.tests import tagged
from odoo.tools import SQL

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestOverdueOwners(CreditCollectionsCommon):
    """The SQL condition, the ORM domain and the record predicate of "overdue"
    (account_move_line_receivable.py) name the same items, at any date."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor = cls._create_customer("Overdue Owners Debtor")

        def item(invoice):
            return invoice.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

        cls.yesterday = item(cls._create_invoice(cls.debtor, 100.0, days_overdue=1))
        cls.due_today = item(cls._create_invoice(cls.debtor, 110.0, days_overdue=0))
        cls.tomorrow = item(cls._create_invoice(cls.debtor, 120.0, days_overdue=-1))
        paid = cls._create_invoice(cls.debtor, 130.0, days_overdue=10)
        cls._pay(paid, 130.0)
        cls.paid = item(paid)
        partly = cls._create_invoice(cls.debtor, 140.0, days_overdue=10)
        cls._pay(partly, 40.0)
        cls.partly = item(partly)
        cls.refund = item(
            cls._create_invoice(cls.debtor, 50.0, days_overdue=10, move_type="out_refund")
        )
        cls.draft = item(cls._create_invoice(cls.debtor, 150.0, days_overdue=10, post=False))
        cls.excluded = item(cls._create_invoice(cls.debtor, 160.0, days_overdue=10))
        cls.excluded.sudo().write(
            {"followup_excluded": True, "followup_exclusion_reason": "Disputed quantity"}
        )
        cls.items = (
            cls.yesterday
            | cls.due_today
            | cls.tomorrow
            | cls.paid
            | cls.partly
            | cls.refund
            | cls.draft
            | cls.excluded
        )

    def _by_sql(self, date):
        Line = self.env["account.move.line"]
        Line.flush_model()
        rows = self.env.execute_query(
            SQL(
                "SELECT line.id %s",
                Line._open_receivable_sql(
                    self.company,
                    conditions=SQL(
                        "line.id = ANY(%s) AND %s", self.items.ids, Line._overdue_sql(date)
                    ),
                ),
            )
        )
        return self.env["account.move.line"].browse(row[0] for row in rows)

    def _by_domain(self, date):
        Line = self.env["account.move.line"]
        return Line.search(
            [
                ("id", "in", self.items.ids),
                *Line._open_receivable_domain(self.company),
                *Line._overdue_domain(date),
            ]
        )

    def _by_predicate(self, date):
        return self.items.filtered(lambda line: line._credit_is_overdue(date))

    def test_sql_domain_and_predicate_name_the_same_overdue_items_today(self):
        # Due yesterday, partly paid (100.00 left, due 10 days ago) and excluded
        # (still an open item: exclusion is the follow-ups' business); not due
        # today nor tomorrow, not paid, not a credit note, not a draft.
        expected = self.yesterday | self.partly | self.excluded
        for name, found in (
            ("sql", self._by_sql(None)),
            ("domain", self._by_domain(None)),
            ("predicate", self._by_predicate(None)),
        ):
            with self.subTest(owner=name):
                self.assertEqual(found, expected)

    def test_an_item_due_today_is_overdue_tomorrow_for_every_owner(self):
        tomorrow = self.today + timedelta(days=1)
        expected = self.yesterday | self.due_today | self.partly | self.excluded
        self.assertEqual(self._by_sql(tomorrow), expected)
        self.assertEqual(self._by_domain(tomorrow), expected)
        self.assertEqual(self._by_predicate(tomorrow), expected)
        # Ten days ago, nothing was overdue yet (the oldest fell due then).
        past = self.today - timedelta(days=10)
        self.assertFalse(self._by_sql(past) | self._by_domain(past) | self._by_predicate(past))

    def test_open_receivable_predicate_matches_the_domain(self):
        Line = self.env["account.move.line"]
        by_domain = Line.search(
            [("id", "in", self.items.ids), *Line._open_receivable_domain(self.company)]
        )
        by_predicate = self.items.filtered(lambda line: line._credit_is_open_receivable())
        self.assertEqual(by_domain, by_predicate)
        self.assertEqual(by_domain, self.items - self.paid - self.draft)
        chased = Line.search(
            [("id", "in", self.items.ids), *Line._chased_receivable_domain(self.company)]
        )
        self.assertEqual(chased, by_domain - self.refund - self.excluded)


@tagged("post_install", "-at_install")
class TestReceivablePosition(CreditCollectionsCommon):
    """The position of a customer's receivables as they stood at past dates,
    worked out by hand. Timeline (D = today - 60 days, company currency USD,
    EUR at 2.00 per USD):

    - D:      invoice INV1 1,000.00, due D+30
    - D+10:   invoice INV2 600.00, due D+20
    - D+15:   payment of 400.00 on INV1 (partial)
    - D+25:   payment of 600.00 on INV2 (full)
    - D+35:   credit note CN 150.00, not matched
    - D+38:   invoice INV3 EUR 500.00 (USD 250.00), due D+50
    - D+40:   payment of EUR 200.00 (USD 100.00) on INV3

    At the end of:
    - D-1:  nothing
    - D+12: INV1 1,000.00 + INV2 600.00 = 1,600.00 due, nothing overdue
    - D+22: INV1 600.00 + INV2 600.00 (overdue since D+20) = 1,200.00, 600.00 overdue
    - D+36: INV1 600.00 (overdue since D+30), CN -150.00: total 450.00, due 600.00,
            overdue 600.00, credits -150.00
    - D+45: as D+36 plus INV3 EUR 300.00 = USD 150.00 (not due): total 600.00,
            due 750.00, overdue 600.00, credits -150.00; today the same.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.eur = cls.setup_other_currency("EUR")
        cls.debtor = cls._create_customer("Position Debtor")
        cls.d = cls.today - timedelta(days=60)
        d = cls.d
        cls.inv1 = cls._dated_invoice(1000.0, d, d + timedelta(days=30))
        cls.inv2 = cls._dated_invoice(600.0, d + timedelta(days=10), d + timedelta(days=20))
        cls._dated_payment(cls.inv1, 400.0, d + timedelta(days=15))
        cls._dated_payment(cls.inv2, 600.0, d + timedelta(days=25))
        cls.refund = cls._dated_invoice(
            150.0, d + timedelta(days=35), d + timedelta(days=35), move_type="out_refund"
        )
        cls.inv3 = cls._dated_invoice(
            500.0, d + timedelta(days=38), d + timedelta(days=50), currency=cls.eur
        )
        cls._dated_payment(cls.inv3, 200.0, d + timedelta(days=40), currency=cls.eur)

    @classmethod
    def _dated_invoice(cls, amount, date, due, move_type="out_invoice", currency=None):
        invoice = cls.env["account.move"].create(
            {
                "move_type": move_type,
                "partner_id": cls.debtor.id,
                "company_id": cls.company.id,
                "invoice_date": date,
                "date": date,
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "currency_id": (currency or cls.company.currency_id).id,
                "invoice_line_ids": [
                    Command.create(
                        {"name": "Goods", "quantity": 1, "price_unit": amount, "tax_ids": []}
                    )
                ],
            }
        )
        invoice.action_post()
        return invoice

    @classmethod
    def _dated_payment(cls, invoice, amount, date, currency=None):
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create(
                {
                    "amount": amount,
                    "payment_date": date,
                    "currency_id": (currency or cls.company.currency_id).id,
                }
            )
            ._create_payments()
        )

    def _position(self, days):
        Line = self.env["account.move.line"]
        date = self.d + timedelta(days=days) if days is not None else None
        return Line._get_receivable_position(self.debtor, self.company, date).get(self.debtor.id)

    def _rows(self, date=None):
        Line = self.env["account.move.line"]
        Line.flush_model()
        self.env["account.partial.reconcile"].flush_model()
        rows = self.env.execute_query_dict(
            SQL(
                "SELECT * FROM (%s) position",
                Line._receivable_position_sql(
                    self.company, date, SQL("partner.commercial_partner_id = %s", self.debtor.id)
                ),
            )
        )
        return {row["id"]: row for row in rows}

    def _item(self, move):
        return move.line_ids.filtered(lambda line: line.account_type == "asset_receivable")

    def assertPosition(self, position, total, due, overdue, credits, oldest):
        self.assertAlmostEqual(position["total"], total, places=2)
        self.assertAlmostEqual(position["due"], due, places=2)
        self.assertAlmostEqual(position["overdue"], overdue, places=2)
        self.assertAlmostEqual(position["credits"], credits, places=2)
        self.assertEqual(position["oldest_overdue"], oldest)

    def test_nothing_before_the_first_invoice(self):
        self.assertIsNone(self._position(-1))

    def test_two_invoices_before_any_payment(self):
        self.assertPosition(self._position(12), 1600.0, 1600.0, 0.0, 0.0, None)

    def test_partial_payment_counts_from_its_date_and_overdue_at_that_date(self):
        self.assertPosition(
            self._position(22), 1200.0, 1200.0, 600.0, 0.0, self.d + timedelta(days=20)
        )
        rows = self._rows(self.d + timedelta(days=22))
        self.assertEqual(set(rows), set((self._item(self.inv1) | self._item(self.inv2)).ids))
        self.assertAlmostEqual(rows[self._item(self.inv1).id]["amount_residual"], 600.0, 2)

    def test_full_payment_and_credit_note(self):
        self.assertPosition(
            self._position(36), 450.0, 600.0, 600.0, -150.0, self.d + timedelta(days=30)
        )

    def test_foreign_currency_item_partly_paid(self):
        self.assertPosition(
            self._position(45), 600.0, 750.0, 600.0, -150.0, self.d + timedelta(days=30)
        )
        row = self._rows(self.d + timedelta(days=45))[self._item(self.inv3).id]
        self.assertEqual(row["currency_id"], self.eur.id)
        self.assertAlmostEqual(row["amount_residual"], 150.0, 2)
        self.assertAlmostEqual(row["amount_residual_currency"], 300.0, 2)
        # Before its payment, the whole invoice: EUR 500.00 = USD 250.00.
        row = self._rows(self.d + timedelta(days=39))[self._item(self.inv3).id]
        self.assertAlmostEqual(row["amount_residual"], 250.0, 2)
        self.assertAlmostEqual(row["amount_residual_currency"], 500.0, 2)

    def test_position_today_is_the_open_items(self):
        # Today (d + 60): 600.00 left on the first invoice (due d + 30) and 300 EUR
        # of the third (150.00 at 2 EUR a dollar, due d + 50), both overdue; the
        # credit note's 150.00 deducted: 750.00 - 150.00 = 600.00.
        self.assertPosition(
            self._position(None), 600.0, 750.0, 750.0, -150.0, self.d + timedelta(days=30)
        )
        Line = self.env["account.move.line"]
        open_items = Line.search(
            [
                *Line._open_receivable_domain(self.company),
                ("partner_id", "child_of", self.debtor.id),
            ]
        )
        rows = self._rows()
        self.assertEqual(set(rows), set(open_items.ids))
        for line in open_items:
            with self.subTest(item=line.move_id.name):
                self.assertAlmostEqual(rows[line.id]["amount_residual"], line.amount_residual, 2)
                self.assertAlmostEqual(
                    rows[line.id]["amount_residual_currency"], line.amount_residual_currency, 2
                )

    def test_position_of_many_customers_in_constant_queries(self):
        others = self.env["res.partner"]
        for index in range(3):
            others |= self._create_customer(f"Position Other {index}")
        Line = self.env["account.move.line"]
        Line._get_receivable_position(self.debtor, self.company)
        with self.assertQueryCount(1):
            Line._get_receivable_position(self.debtor | others, self.company, self.d)
