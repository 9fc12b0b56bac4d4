import logging
from datetime import date, timedelta

from odoo import models
from odoo.tools import SQL

DAY_COUNTS = {"actual_365": 365, "actual_360": 360}

_logger = logging.getLogger(__name__)


class CreditInterestRun(models.Model):
    """What a run charges: the items owing interest, their days, payments and
    rates, the minimum and the fixed compensation (no invoice here)."""

    _inherit = "credit.interest.run"

    def _prepare_accrual_vals_list(self, partners=None):
        """Accruals of the customers (all those of the company by default) up to
        the run's date."""
        self.ensure_one()
        company = self.company_id
        items, last_charged = self._get_interest_items(partners)
        items = items.filtered(
            lambda line: (
                not line.partner_id.commercial_partner_id.with_company(
                    company
                ).credit_interest_exempt
            )
        )
        rates = self.env["credit.interest.rate"]._get_item_rate_tables(company, items)
        items = items.filtered(lambda line: rates[line.id] is not None)
        payments = self._get_payments(items)
        vals_list = []
        for line in items:
            partner = line.partner_id.commercial_partner_id
            start = max(
                line.date_maturity + timedelta(days=company.credit_interest_grace_days + 1),
                last_charged.get(line.id, date.min) + timedelta(days=1),
            )
            for period in _interest_periods(
                start,
                self.date,
                abs(line.amount_currency),
                payments.get(line.id, []),
                rates[line.id],
                company.credit_interest_day_count,
            ):
                vals_list.append(
                    dict(
                        period,
                        run_id=self.id,
                        kind="interest",
                        move_line_id=line.id,
                        partner_id=partner.id,
                        currency_id=line.currency_id.id,
                        amount=line.currency_id.round(period["amount"]),
                    )
                )
        vals_list = self._apply_minimum(vals_list)
        return vals_list + self._prepare_compensation_vals_list(items)

    def _interest_items_sql(self, select, partners=None, after=0):
        """The receivable items owing interest up to the run's date, as the owner
        of the position at a date sees them (account.move.line.
        _receivable_position_sql), each item valued at the end of its last day
        charged: overdue past the grace days with an amount still owed then
        (open, or paid since), days left to charge, and not covered by the
        customer's open credits (account.move.line._netted_receivable_sql); of
        the given commercial partners, else of those after `after`.

        :param select: the columns, of ``position`` (the owner's columns) and
            ``charged`` (``date_to``: the last day charged, see
            _interest_charged_sql)
        """
        company = self.company_id
        grace = company.credit_interest_grace_days
        Line = self.env["account.move.line"]
        Line.flush_model()
        self.env["account.move"].flush_model()
        self.env["account.partial.reconcile"].flush_model()
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["credit.interest.accrual"].flush_model()
        customers = SQL(
            "partner.commercial_partner_id > %s "
            "AND (%s OR partner.commercial_partner_id = ANY(%s))",
            after,
            partners is None,
            partners.ids if partners is not None else [],
        )
        return SQL(
            """
            SELECT %(select)s
              FROM (%(position)s) position
              JOIN account_move_line line ON line.id = position.id
              LEFT JOIN LATERAL (%(charged)s) charged ON TRUE
             WHERE %(overdue)s
            """,
            select=select,
            position=self._interest_position_sql(customers),
            charged=self._interest_charged_sql(),
            # Overdue past the grace days, with what was owed at its last day charged.
            overdue=Line._overdue_sql(self.date - timedelta(days=grace), alias="position"),
        )

    def _interest_position_sql(self, customers):
        """The position of the candidate items of the customers (SQL on
        ``partner``), each at the end of its last day charged (see
        _interest_items_sql)."""
        company = self.company_id
        Line = self.env["account.move.line"]
        grace = company.credit_interest_grace_days
        # The last day already charged; interest runs from the day after.
        since = SQL("GREATEST(charged.date_to, line.date_maturity + %s)", grace)
        return Line._receivable_position_sql(
            company,
            # An item booked after its due date is valued from the day it was.
            date=SQL("GREATEST(%s, line.date)", since),
            joins=SQL(
                "JOIN account_move move ON move.id = line.move_id "
                "LEFT JOIN LATERAL (%s) charged ON TRUE",
                self._interest_charged_sql(),
            ),
            conditions=SQL(
                """
                line.balance > 0
                AND NOT COALESCE(line.followup_excluded, FALSE)
                AND (%(on_interest)s OR move.credit_charge_type IS DISTINCT FROM 'interest')
                AND %(since)s < %(date)s
                AND NOT (%(reversed)s)
                AND %(customers)s
                AND line.id NOT IN (
                    SELECT id FROM (%(netted)s) netting WHERE netting.net_residual <= 0)
                """,
                on_interest=company.credit_interest_on_interest,
                since=since,
                date=self.date,
                reversed=self._reversed_entry_sql(),
                customers=customers,
                netted=Line._netted_receivable_sql(company, customers),
            ),
        )

    def _interest_charged_sql(self):
        """A lateral subquery on the item ``line``: ``date_to``, the last day of
        it charged (its invoiced interest), or the last day its amount was owed
        on other items (see _moved_in_sql), NULL when none."""
        return SQL(
            """
            SELECT GREATEST(MAX(accrual.date_to), MAX(moved.date)) AS date_to
              FROM (SELECT 1) one
              LEFT JOIN credit_interest_accrual accrual
                     ON accrual.move_line_id = line.id
                    AND accrual.kind = 'interest' AND accrual.state = 'invoiced'
              LEFT JOIN account_move moved
                     ON moved.id = line.move_id
                    AND (%s)
            """,
            self._moved_in_sql(),
        )

    def _moved_in_sql(self):
        """Whether the entry `moved` of the item `line` moved an amount owed on
        other receivable items into it (an installment plan's entry, its
        cancellation, the reversal of either, a transfer of debt): it credits
        receivable items too. Those items bore the interest up to the entry's
        date, the day it settled them; the item it created bears it from the
        next day only, whatever its due date (a restored item keeps the
        original one). So a day of an amount is charged once, on the item that
        held it that day, whatever entries it moved through."""
        return SQL(
            """
            moved.move_type = 'entry' AND EXISTS (
                SELECT 1
                  FROM account_move_line settling
                  JOIN account_account settling_account
                    ON settling_account.id = settling.account_id
                 WHERE settling.move_id = moved.id
                   AND settling_account.account_type = 'asset_receivable'
                   AND settling.balance < 0
            )
            """
        )

    def _reversed_entry_sql(self):
        """Whether the item `line` belongs to an entry reversed since (a plan's
        entry or its cancellation undone by Odoo's Reverse): the reversal puts
        the amounts back on the items the entry had settled, which bear the
        interest again from their own last day charged; the entry's own items
        never held the amount and bear no more. A credit note is not such a
        reversal: an invoice was owed until it, and its days stay due."""
        return SQL(
            """
            move.move_type = 'entry' AND EXISTS (
                SELECT 1
                  FROM account_move reversal
                 WHERE reversal.reversed_entry_id = move.id
                   AND reversal.state = 'posted'
            )
            """
        )

    def _get_interest_items(self, partners=None):
        """:return: (account.move.line, {item id: last day charged, or last day
        its amount was owed on other items (see _moved_in_sql)})"""
        rows = self.env.execute_query(
            SQL(
                "%s ORDER BY position.id",
                self._interest_items_sql(SQL("position.id, charged.date_to"), partners),
            )
        )
        items = self.env["account.move.line"].browse([row[0] for row in rows])
        items.fetch(["partner_id", "move_id", "date_maturity", "amount_currency", "currency_id"])
        items.move_id.fetch(["invoice_payment_term_id", "move_type", "credit_charge_type"])
        return items, {row[0]: row[1] for row in rows if row[1]}

    def _get_interest_partner_ids(self, after, limit):
        """Commercial partners owing interest, after `after`, by id."""
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM (%s) owing ORDER BY id LIMIT %s",
                self._interest_items_sql(SQL("DISTINCT position.partner_id AS id"), after=after),
                limit,
            )
        )
        return [row[0] for row in rows]

    def _get_payments(self, items):
        """{item id: [(date, amount in the item's currency)]} of what was matched
        with each item, at the date of the payment or credit note."""
        partials = self.env["account.partial.reconcile"].search_fetch(
            [("debit_move_id", "in", items.ids)],
            ["debit_move_id", "credit_move_id", "debit_amount_currency"],
        )
        partials.credit_move_id.fetch(["date"])
        payments = {}
        for partial in partials:
            payments.setdefault(partial.debit_move_id.id, []).append(
                (partial.credit_move_id.date, partial.debit_amount_currency)
            )
        # What the customer's open credits cover of an item counts as paid on its
        # due date: interest runs on what is left.
        net = items._get_net_residuals()
        for line in items:
            covered = line.currency_id.round(line.amount_residual_currency - net[line.id])
            if not line.currency_id.is_zero(covered):
                payments.setdefault(line.id, []).append((line.date_maturity, covered))
        return payments

    def _apply_minimum(self, vals_list):
        """Leave out the customers whose interest is below the company's minimum:
        their days stay uncharged for the next run."""
        company = self.company_id
        minimum = company.credit_interest_min_amount
        if not minimum:
            return vals_list
        currencies = self.env["res.currency"].browse({vals["currency_id"] for vals in vals_list})
        to_company = {
            currency.id: currency._get_conversion_rate(
                currency, company.currency_id, company, self.date
            )
            for currency in currencies
        }
        totals = {}
        for vals in vals_list:
            totals.setdefault(vals["partner_id"], 0.0)
            totals[vals["partner_id"]] += vals["amount"] * to_company[vals["currency_id"]]
        return [vals for vals in vals_list if totals[vals["partner_id"]] >= minimum]

    def _prepare_compensation_vals_list(self, items):
        """The fixed compensation, once per late invoice."""
        company = self.company_id
        Bands = self.env["credit.interest.compensation"]
        bands = Bands._get_bands(company)
        if not company.credit_interest_compensation_amount and not bands:
            return []
        invoices = items.move_id.filtered(
            lambda move: move.move_type == "out_invoice" and not move.credit_charge_type
        )
        compensated = set(
            self.env["credit.interest.accrual"]
            .search([("move_id", "in", invoices.ids), ("kind", "=", "compensation")])
            .filtered(lambda accrual: accrual.state == "invoiced")
            .move_id.ids
        )
        source_currency = company.credit_interest_compensation_currency_id or company.currency_id
        first_item_of = {}
        for item in items:
            first_item_of.setdefault(item.move_id.id, item)
        vals_list = []
        for invoice in invoices:
            partner = invoice.commercial_partner_id
            if invoice.id in compensated or (
                company.credit_interest_compensation_companies_only and not partner.is_company
            ):
                continue
            line = first_item_of[invoice.id]
            # By the size of the debt (the invoice, in the compensation currency).
            amount = Bands._get_amount(
                company,
                invoice.currency_id._convert(
                    invoice.amount_total,
                    source_currency,
                    company,
                    invoice.invoice_date or self.date,
                ),
                bands=bands,
            )
            if not amount:
                continue
            vals_list.append(
                {
                    "run_id": self.id,
                    "kind": "compensation",
                    "move_line_id": line.id,
                    "partner_id": partner.id,
                    "date_from": self.date,
                    "date_to": self.date,
                    "days": 0,
                    "currency_id": invoice.currency_id.id,
                    "amount": source_currency._convert(
                        amount, invoice.currency_id, company, self.date
                    ),
                }
            )
        return vals_list


def _interest_periods(start, end, amount, payments, rate_table, day_count):
    """Interest on one item from start to end, both included, one period per rate
    table entry: each day on the amount open at its start (payments lower it from
    the day after their date), at the rate in force that day.

    :param amount: amount of the item, in its currency
    :param payments: [(date, amount)] matched with the item
    :param rate_table: [(date_from, annual rate %)] by date
    :return: [{date_from, date_to, days, base_amount, rate, amount (not rounded)}]
    """
    if start > end:
        return []
    changes = {start, end + timedelta(days=1)}
    changes |= {paid_on + timedelta(days=1) for paid_on, _paid in payments}
    changes |= {date_from for date_from, _rate in rate_table}
    if day_count == "actual_actual":
        changes |= {date(year, 1, 1) for year in range(start.year, end.year + 2)}
    bounds = sorted(day for day in changes if start <= day <= end + timedelta(days=1))
    periods = {}
    for segment_start, next_start in zip(bounds[:-1], bounds[1:], strict=True):
        days = (next_start - segment_start).days
        base = amount - sum(paid for paid_on, paid in payments if paid_on < segment_start)
        entry = next(
            (entry for entry in reversed(rate_table) if entry[0] <= segment_start), (None, 0.0)
        )
        if base <= 0 or not entry[1]:
            continue
        year_days = DAY_COUNTS.get(day_count) or (366 if _is_leap(segment_start.year) else 365)
        period = periods.setdefault(
            entry[0],
            {
                "date_from": segment_start,
                "days": 0,
                "weighted": 0.0,
                "rate": entry[1],
                "amount": 0.0,
            },
        )
        period["date_to"] = next_start - timedelta(days=1)
        period["days"] += days
        period["weighted"] += base * days
        period["amount"] += base * entry[1] / 100 * days / year_days
    return [
        {
            "date_from": period["date_from"],
            "date_to": period["date_to"],
            "days": period["days"],
            "base_amount": period["weighted"] / period["days"],
            "rate": period["rate"],
            "amount": period["amount"],
        }
        for period in periods.values()
    ]


def _is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
