"""The data set of the credit_collections benchmarks, generated at scale, shared
by our suite (benchmarks/suite.py, credit_check.py, followup_run.py) and the OCA
peers' run (benchmarks/oca.py): on any database with Odoo's ``sale`` installed::

    data, size = generate(env, args, company, salesperson=None)
    # prints, generates (generate_dataset), commits, returns the database size
    data = generate_dataset(env, company, partners, invoices, orders,
                            salesperson=None)   # -> DataSet; the caller commits
    checks = check_dataset(env, data)           # AssertionError on a mismatch

``partners`` customers, ``invoices`` posted customer invoices and credit notes
(5 % credit notes, 10 % in a second currency, a third partly or fully paid by
reconciled payments, due from 90 days ahead to 400 days back), ``orders``
confirmed orders partly invoiced; the first customer (``data.top_partner``) has
a tenth of the invoices and orders. ``DataSet`` gives the records
(``partners``, ``invoices``, ``orders``, ``payments``, ``product``,
``currency``) and the expected figures (``expected_credit``,
``expected_to_invoice``, by customer id). One record of each kind is made
through the ORM, the others are set-based SQL copies of them, balanced and
reconciled like them; ``check_dataset`` checks them with Odoo's own figures.
The default sizes are ``DATA_SIZES`` (the size options of every benchmark).

Last, what both runs do on the data set the same way, so that their rows stand
next to each other: the operations' names (``OPERATIONS``), the customers
measured (``top_partner``, ``few_partner``), the quotation confirmed
(``new_quotation``), the size of a customer's credit check
(``customer_size``), the list view read of ``EXPOSURE_CUSTOMERS`` customers
(``list_read``).
"""

import datetime
import re
import time
from dataclasses import dataclass

import harness

from odoo import fields
from odoo.tools import SQL

# The data set's sizes (generate_dataset), the size options of every benchmark:
# default, with --small, help.
DATA_SIZES = {
    "partners": (10_000, 200, "customers, companies with an email"),
    "invoices": (
        100_000,
        2_000,
        "posted customer invoices and credit notes, orders' invoices included",
    ),
    "orders": (10_000, 200, "confirmed orders, partly invoiced"),
}
ORDER_PREFIX = "S/BENCH/"
# Amounts of the clones are the template's times 1 to 10, due dates spread from
# DUE_AHEAD days ahead to DUE_BEHIND days back.
DUE_AHEAD = 90
DUE_BEHIND = 400
# The company's email, to send follow-ups (or credit control emails) from.
COMPANY_EMAIL = "accounts@bench.example.com"

# ----------------------------------------------------------------------
# Data generator
# ----------------------------------------------------------------------


def analyze(env, tables):
    """Fresh planner statistics after a bulk insert, as autovacuum would give."""
    for table in tables:
        env.cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))


def _columns(env, table):
    env.cr.execute(
        """
        SELECT column_name
          FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = %s
      ORDER BY ordinal_position
        """,
        [table],
    )
    return [row[0] for row in env.cr.fetchall()]


def _clone_rows(env, table, alias, from_clause, overrides):
    """INSERT INTO table every column of the rows selected by from_clause (alias
    being the source table), id from its sequence unless overridden.

    :param overrides: {column: SQL expression} for the columns that differ
    """
    columns = [name for name in _columns(env, table) if name != "id" or "id" in overrides]
    unknown = set(overrides) - set(columns)
    assert not unknown, f"no such columns in {table}: {unknown}"
    expressions = [
        overrides.get(name) or SQL("%s.%s", SQL.identifier(alias), SQL.identifier(name))
        for name in columns
    ]
    env.cr.execute(
        SQL(
            "INSERT INTO %s (%s) SELECT %s FROM %s",
            SQL.identifier(table),
            SQL(", ").join(SQL.identifier(name) for name in columns),
            SQL(", ").join(expressions),
            from_clause,
        )
    )
    return env.cr.rowcount


def _template_env(env, company):
    return env(
        context=dict(
            env.context, allowed_company_ids=[company.id], tracking_disable=True, mail_notrack=True
        )
    )


def _make_product(env):
    """A product without taxes, sold at 100.00, invoiced on order."""
    return env["product.product"].create(
        {
            "name": "Benchmark Product",
            "type": "consu",
            "list_price": 100.0,
            "invoice_policy": "order",
            "taxes_id": [(6, 0, [])],
            "company_id": False,
        }
    )


def _make_invoice(env, partner, product, today, currency=None, move_type="out_invoice"):
    """A posted invoice (or credit note) of partner: one line of product at 100.00
    (in currency, else the company's), due in 30 days."""
    invoice = env["account.move"].create(
        {
            "move_type": move_type,
            "partner_id": partner.id,
            "currency_id": (currency or env.company.currency_id).id,
            "invoice_date": today,
            "invoice_payment_term_id": False,
            "invoice_date_due": today + datetime.timedelta(days=30),
            "invoice_line_ids": [
                (
                    0,
                    0,
                    {
                        "product_id": product.id,
                        "quantity": 1.0,
                        "price_unit": 100.0,
                        "tax_ids": [(6, 0, [])],
                    },
                )
            ],
        }
    )
    invoice.action_post()
    return invoice


def _recomputed(records, field_names):
    """Stored computed fields of records as stored, and as the ORM recomputes
    them now: two {id: {field: value}}; nothing is written."""
    env = records.env
    stored = {
        record["id"]: {name: record[name] for name in field_names}
        for record in records.read(field_names, load=None)
    }
    with env.cr.savepoint() as savepoint:
        for name in field_names:
            env.add_to_compute(records._fields[name], records)
        computed = {
            record.id: {
                name: record._fields[name].convert_to_read(
                    record[name], record, use_display_name=False
                )
                for name in field_names
            }
            for record in records
        }
        savepoint.close(rollback=True)
    env.invalidate_all(flush=False)
    return stored, computed


CUSTOMER_NAME = "Bench Customer {:06d}"
CUSTOMER_EMAIL = "customer{:06d}@bench.example.com"


def _clone_customers(env, template, count):
    """count copies of the customer template (a company with an email), each with
    its own name and email, and bench_customer(idx, id, name): the template (idx 1)
    and its copies (idx 2 to count + 1)."""
    env.cr.execute("DROP TABLE IF EXISTS bench_customer")
    env.cr.execute(
        SQL(
            """
            CREATE TEMPORARY TABLE bench_customer AS
            SELECT 1 AS idx, %(template)s AS id, %(template_name)s::varchar AS name,
                   %(template_email)s::varchar AS email
             UNION ALL
            SELECT idx, nextval(pg_get_serial_sequence('res_partner', 'id'))::int,
                   format(%(name)s, lpad(idx::text, 6, '0')),
                   format(%(email)s, lpad(idx::text, 6, '0'))
              FROM generate_series(2, %(count)s + 1) AS idx
            """,
            template=template.id,
            template_name=template.name,
            template_email=template.email,
            name=CUSTOMER_NAME.replace("{:06d}", "%s"),
            email=CUSTOMER_EMAIL.replace("{:06d}", "%s"),
            count=count,
        )
    )
    assert template.commercial_partner_id == template and template.is_company, template
    assert template.commercial_company_name == template.name, template
    if count < 1:
        return
    partners = _clone_rows(
        env,
        "res_partner",
        "partner",
        SQL(
            "res_partner partner JOIN bench_customer clone ON partner.id = %s AND clone.idx > 1",
            template.id,
        ),
        {
            "id": SQL("clone.id"),
            "name": SQL("clone.name"),
            "complete_name": SQL("clone.name"),
            "commercial_company_name": SQL("clone.name"),
            # a company is its own commercial partner
            "commercial_partner_id": SQL("clone.id"),
            "email": SQL("clone.email"),
            "email_normalized": SQL("lower(clone.email)"),
            "ref": SQL("NULL"),
            "partner_gid": SQL("NULL"),
        },
    )
    assert partners == count, partners


# Tables of the records a template (a "bundle": an invoice, its payment and
# reconciliation, or an order and its invoice) is made of, in insertion order.
# A foreign key to a table inserted later is filled by an UPDATE afterwards.
BUNDLE_TABLES = (
    "account_full_reconcile",
    "sale_order",
    "sale_order_line",
    "account_move",
    "account_payment",
    "account_move_line",
    "account_partial_reconcile",
)
# Many2many tables between bundle records: (table, column, column).
BUNDLE_RELATIONS = (
    ("account_move__account_payment", "invoice_id", "payment_id"),
    ("sale_order_line_invoice_rel", "invoice_line_id", "order_line_id"),
)
# Columns holding a record's name or a reference to another's: renamed with
# the clone's names (bench_names) where they hold a template's name.
NAME_COLUMNS = {
    "account_move": ("name", "payment_reference", "ref", "invoice_origin"),
    "account_move_line": ("move_name", "name"),
    "account_payment": ("name", "memo", "payment_reference"),
    "sale_order": ("name",),
}
# Columns of a clone that must not repeat the template's: tokens, hashes, links
# to records that are not copied (attachments, transactions).
RESET_COLUMNS = (
    "access_token",
    "inalterable_hash",
    "secure_sequence_number",
    "message_main_attachment_id",
    "payment_transaction_id",
)
# Numeric columns that are amounts: multiplied by the clone's factor. Rates,
# quantities and percentages are not amounts and keep the template's values.
AMOUNT_COLUMN = re.compile(
    r"^(amount|debit|credit|balance|price_(unit|subtotal|total|tax|reduce)|technical_price_unit"
    r"|untaxed_amount|tax_base_amount|quick_edit_total_amount)"
)
# Due dates move with the clone's due date; other dates too, but never after today.
DUE_COLUMNS = ("invoice_date_due", "date_maturity", "discount_date")
# Templates fall due TEMPLATE_DUE days after today; a clone's dates are the
# template's shifted by (clone due date - template due date).
TEMPLATE_DUE = 30
# Second currency of the data set and its rate (units per unit of company
# currency), one rate for all dates: 100.00 in it is exactly 125.00 in company
# currency, so scaled clones convert exactly, as the ORM would.
SECOND_CURRENCY = "EUR"
SECOND_CURRENCY_FALLBACK = "USD"
SECOND_CURRENCY_RATE = 0.8
# Share of the invoices and orders of the customer with the most open items.
TOP_SHARE_EVERY = 10
# Share of the invoices by kind (of all invoices, orders' invoices included).
REFUND_SHARE = 0.05
FOREIGN_SHARE = 0.10
PAID_SHARE = 1 / 6  # fully paid
PARTIAL_SHARE = 1 / 6  # partly paid
# Kinds of bundle: what a clone copies. "order": a confirmed order of two units
# of which one is invoiced (posted, open).
STANDALONE_KINDS = ("open", "foreign", "refund", "paid", "partial")
MOVE_PREFIXES = {
    "out_invoice": "INV/BENCH/",
    "out_refund": "RINV/BENCH/",
    "entry": "PBNK/BENCH/",
}


@dataclass
class DataSet:
    """Customers sharing posted invoices (some paid, some credit notes, some in a
    second currency) and confirmed orders partly invoiced, in one company."""

    company: object
    partners: object  # res.partner: the customers, the top customer first
    product: object
    currency: object  # the second currency
    invoices: object  # account.move: every posted customer invoice and credit note
    orders: object  # sale.order: every confirmed order
    payments: object  # account.payment
    expected_credit: dict  # {partner id: open receivable in company currency}
    expected_to_invoice: dict  # {partner id: amount to invoice on its orders}
    counts: dict  # {kind: invoices (or orders) of that kind}
    seconds: float = 0.0

    @property
    def top_partner(self):
        """The customer with the most open items."""
        return self.partners[:1]

    @property
    def few_partner(self):
        """A customer with few open items: the last (the top one when alone)."""
        return self.partners[-1:] if len(self.partners) > 1 else self.top_partner

    @property
    def expected_receivable(self):
        return sum(self.expected_credit.values())

    def describe(self):
        return (
            f"{len(self.partners):,} customers, {len(self.invoices):,} invoices, "
            f"{len(self.orders):,} orders"
        )

    def sizes(self):
        return {
            "customers": len(self.partners),
            "invoices": len(self.invoices),
            "orders": len(self.orders),
            "payments": len(self.payments),
            **{f"{kind}": count for kind, count in self.counts.items()},
        }


def _second_currency(env, company):
    """The second currency, active, with one rate for every date."""
    name = SECOND_CURRENCY
    if company.currency_id.name == name:
        name = SECOND_CURRENCY_FALLBACK
    currency = env["res.currency"].with_context(active_test=False).search([("name", "=", name)])
    currency.active = True
    env["res.currency.rate"].search(
        [("currency_id", "=", currency.id), ("company_id", "in", [company.id, False])]
    ).unlink()
    env["res.currency.rate"].create(
        {
            "currency_id": currency.id,
            "company_id": company.id,
            "name": "2000-01-01",
            "rate": SECOND_CURRENCY_RATE,
        }
    )
    return currency


def _pay(env, invoice, amount, today):
    """A customer payment of amount reconciled with invoice, through Odoo's wizard."""
    wizard = (
        env["account.payment.register"]
        .with_context(active_model="account.move", active_ids=invoice.ids)
        .create({"amount": amount, "payment_date": today})
    )
    return wizard._create_payments()


def _make_order(env, partner, product, today):
    """A confirmed order of 2 units at 100.00, one of them invoiced (posted, open,
    due in TEMPLATE_DUE days): 100.00 still to invoice."""
    order = env["sale.order"].create(
        {
            "partner_id": partner.id,
            "order_line": [
                (
                    0,
                    0,
                    {
                        "product_id": product.id,
                        "product_uom_qty": 2.0,
                        "price_unit": 100.0,
                        "tax_id": [(6, 0, [])],
                    },
                )
            ],
        }
    )
    order.action_confirm()
    invoice = order._create_invoices()
    invoice.write(
        {
            "invoice_date": today,
            "invoice_payment_term_id": False,
            "invoice_date_due": today + datetime.timedelta(days=TEMPLATE_DUE),
        }
    )
    invoice.invoice_line_ids.quantity = 1.0
    invoice.action_post()
    return order, invoice


def _make_bundle_templates(env, partner, product, currency, today):
    """The originals every clone copies, through the ORM, all of partner:
    {kind: {table: ids}} and {kind: (receivable residual, amount to invoice)}."""
    due = today + datetime.timedelta(days=TEMPLATE_DUE)
    open_invoice = _make_invoice(env, partner, product, today)
    foreign = _make_invoice(env, partner, product, today, currency=currency)
    refund = _make_invoice(env, partner, product, today, move_type="out_refund")
    paid = _make_invoice(env, partner, product, today)
    paid_payment = _pay(env, paid, 100.0, today)
    partial = _make_invoice(env, partner, product, today)
    partial_payment = _pay(env, partial, 40.0, today)
    order, order_invoice = _make_order(env, partner, product, today)
    env.flush_all()
    for invoice in (open_invoice, foreign, refund, paid, partial, order_invoice):
        assert invoice.state == "posted" and invoice.invoice_date_due == due, invoice
    assert paid.payment_state in ("paid", "in_payment") and partial.payment_state == "partial"
    assert order.state == "sale" and order.amount_to_invoice == 100.0, order.amount_to_invoice

    def records(moves, payments=None, orders=None):
        lines = moves.line_ids
        partials = lines.matched_debit_ids | lines.matched_credit_ids
        return {
            "account_move": moves.ids,
            "account_move_line": lines.ids,
            "account_partial_reconcile": partials.ids,
            "account_full_reconcile": lines.full_reconcile_id.ids,
            "account_payment": payments.ids if payments else [],
            "sale_order": orders.ids if orders else [],
            "sale_order_line": orders.order_line.ids if orders else [],
        }

    bundles = {
        "open": records(open_invoice),
        "foreign": records(foreign),
        "refund": records(refund),
        "paid": records(paid | paid_payment.move_id, paid_payment),
        "partial": records(partial | partial_payment.move_id, partial_payment),
        "order": records(order_invoice, orders=order),
    }
    figures = {
        kind: (invoice.amount_residual_signed, 0.0)
        for kind, invoice in (
            ("open", open_invoice),
            ("foreign", foreign),
            ("refund", refund),
            ("paid", paid),
            ("partial", partial),
        )
    }
    figures["order"] = (order_invoice.amount_residual_signed, order.amount_to_invoice)
    return bundles, figures


def _foreign_keys(env, table):
    """{column: referenced table} of table's single-column foreign keys."""
    env.cr.execute(
        """
        SELECT attribute.attname, constraint_.confrelid::regclass::text
          FROM pg_constraint constraint_
          JOIN pg_attribute attribute ON attribute.attrelid = constraint_.conrelid
                                     AND attribute.attnum = constraint_.conkey[1]
         WHERE constraint_.contype = 'f' AND constraint_.conrelid = %s::regclass
           AND array_length(constraint_.conkey, 1) = 1
        """,
        [table],
    )
    return dict(env.cr.fetchall())


def _column_types(env, table):
    env.cr.execute(
        """
        SELECT column_name, data_type FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = %s
        """,
        [table],
    )
    return dict(env.cr.fetchall())


def _check_bundle_closed(env, bundles):
    """Every reference of a template record to a bundle table points inside its
    bundle: a clone would otherwise share a record with its template."""
    for kind, records in bundles.items():
        for table, ids in records.items():
            if not ids:
                continue
            for column, target in _foreign_keys(env, table).items():
                if target not in BUNDLE_TABLES:
                    continue
                env.cr.execute(
                    SQL(
                        "SELECT array_agg(DISTINCT %s) FROM %s WHERE id = ANY(%s)",
                        SQL.identifier(column),
                        SQL.identifier(table),
                        ids,
                    )
                )
                outside = set(filter(None, env.cr.fetchone()[0] or [])) - set(records[target])
                assert not outside, f"{kind}: {table}.{column} points outside: {outside}"


def _clone_plan(env, today, customers, standalone, orders):
    """Temporary table bench_clone(seq, kind, partner_id, partner_name, due, shift,
    factor): one row per clone. Standalone invoices and orders are each spread
    over the due dates (DUE_AHEAD days ahead to DUE_BEHIND back) and amounts (1 to
    10 times the template's); every TOP_SHARE_EVERY-th goes to the top customer
    (bench_customer idx 1), the others to the other customers in blocks of
    consecutive due dates, so each customer's oldest due date differs. Invoice
    kinds are interleaved along the dates with a golden-ratio sequence, in the
    shares of the module constants."""
    env.cr.execute("DROP TABLE IF EXISTS bench_clone")
    env.cr.execute(
        """
        CREATE TEMPORARY TABLE bench_clone (
            seq int PRIMARY KEY, kind varchar, rank int, group_size int, partner_id int,
            partner_name varchar, due date, shift int, factor numeric)
        """
    )
    total = standalone + orders
    # Shares of the standalone clones, such that the shares hold over all invoices.
    bands = []
    limit = 0.0
    for kind, share in (
        ("refund", REFUND_SHARE),
        ("foreign", FOREIGN_SHARE),
        ("paid", PAID_SHARE),
        ("partial", PARTIAL_SHARE),
    ):
        limit = min(1.0, limit + share * total / max(standalone, 1))
        bands.append((kind, limit))
    kind_sql = SQL(
        "CASE %s ELSE 'open' END",
        SQL(" ").join(
            SQL(
                "WHEN mod((rank + rank / %s) * 0.6180339887498949, 1) < %s THEN %s",
                TOP_SHARE_EVERY,
                bound,
                kind,
            )
            for kind, bound in bands
        ),
    )
    for group_kind, count, first_seq in (
        ("standalone", standalone, 1),
        ("order", orders, standalone + 1),
    ):
        if count < 1:
            continue
        env.cr.execute(
            SQL(
                """
                INSERT INTO bench_clone (seq, kind, rank, group_size, due, factor)
                SELECT %(first)s + rank - 1, %(kind)s, rank, %(count)s,
                       (%(today)s::date + %(ahead)s
                        - (rank - 1) * %(span)s / GREATEST(%(count)s - 1, 1))::date,
                       1 + mod(rank + rank / %(every)s, 10)
                  FROM generate_series(1, %(count)s) AS rank
                """,
                first=first_seq,
                kind=kind_sql if group_kind == "standalone" else "order",
                count=count,
                today=today,
                ahead=DUE_AHEAD,
                span=DUE_AHEAD + DUE_BEHIND,
                every=TOP_SHARE_EVERY,
            )
        )
    env.cr.execute(
        SQL(
            """
            UPDATE bench_clone clone
               SET shift = clone.due - (%(today)s::date + %(template_due)s),
                   partner_id = customer.id, partner_name = customer.name
              FROM bench_customer customer
             WHERE customer.idx = CASE
                   WHEN mod(clone.rank, %(every)s) = 0 OR %(customers)s = 1 THEN 1
                   ELSE 2 + (clone.rank - clone.rank / %(every)s - 1)::bigint * (%(customers)s - 1)
                            / GREATEST(clone.group_size - clone.group_size / %(every)s, 1)
                   END
            """,
            today=today,
            template_due=TEMPLATE_DUE,
            every=TOP_SHARE_EVERY,
            customers=customers,
        )
    )
    env.cr.execute("SELECT count(*) FROM bench_clone WHERE partner_id IS NULL")
    assert not env.cr.fetchone()[0], "clones without a customer"
    env.cr.execute("ANALYZE bench_clone")


def _bundle_overrides(env, table, template_partner, today, inserted):
    """{column: SQL expression} of a clone's row of table, read from src (the
    template row), idmap (its mapping) and clone (bench_clone); and the columns
    to fill afterwards: [(column, referenced table)]."""
    types = _column_types(env, table)
    foreign_keys = _foreign_keys(env, table)
    overrides, deferred = {"id": SQL("idmap.new_id")}, []
    for column, data_type in types.items():
        source = SQL.identifier("src", column)
        target = foreign_keys.get(column)
        if column == "id":
            continue
        if target in BUNDLE_TABLES:
            if target not in inserted:
                overrides[column] = SQL("NULL")
                deferred.append((column, target))
            else:
                overrides[column] = SQL(
                    """(SELECT map.new_id FROM bench_idmap map
                         WHERE map.tbl = %s AND map.seq = clone.seq AND map.old_id = %s)""",
                    target,
                    source,
                )
        elif target == "res_partner":
            overrides[column] = SQL(
                "CASE WHEN %s = %s THEN clone.partner_id ELSE %s END",
                source,
                template_partner.id,
                source,
            )
        elif column in RESET_COLUMNS:
            overrides[column] = SQL("NULL")
        elif column in NAME_COLUMNS.get(table, ()):
            overrides[column] = SQL(
                """COALESCE((SELECT names.new_name FROM bench_names names
                              WHERE names.seq = clone.seq AND names.old_name = %s), %s)""",
                source,
                source,
            )
        elif data_type == "numeric" and AMOUNT_COLUMN.match(column):
            overrides[column] = SQL("%s * clone.factor", source)
        elif data_type == "date" and column in DUE_COLUMNS:
            overrides[column] = SQL("%s + clone.shift", source)
        elif data_type == "date":
            overrides[column] = SQL("LEAST(%s + clone.shift, %s::date)", source, today)
    if table == "account_move":
        overrides.update(
            sequence_prefix=SQL(
                """(SELECT names.prefix FROM bench_names names
                     WHERE names.seq = clone.seq AND names.old_name = src.name)"""
            ),
            sequence_number=SQL("clone.seq"),
            made_sequence_gap=SQL("FALSE"),
            invoice_partner_display_name=SQL(
                "CASE WHEN src.invoice_partner_display_name = %s THEN clone.partner_name "
                "ELSE src.invoice_partner_display_name END",
                template_partner.name,
            ),
        )
    elif table == "account_move_line":
        # "P" + the smallest partial's id when partly reconciled, else the full
        # reconcile's id (Odoo's _update_matching_number).
        overrides["matching_number"] = SQL(
            """CASE
               WHEN src.full_reconcile_id IS NOT NULL THEN %(full)s::varchar
               WHEN left(src.matching_number, 1) = 'P' THEN 'P' || (
                   SELECT map.new_id FROM bench_idmap map
                    WHERE map.tbl = 'account_partial_reconcile' AND map.seq = clone.seq
                      AND map.old_id = substr(src.matching_number, 2)::int)
               ELSE src.matching_number END""",
            full=overrides["full_reconcile_id"],
        )
    elif table == "sale_order":
        overrides["date_order"] = SQL("src.date_order - make_interval(days => mod(clone.seq, 60))")
    return overrides, deferred


def _clone_bundles(env, bundles, template_partner, today):
    """Copies each kind's template records once per bench_clone row of that kind,
    with the clone's ids, names, customer, dates and amounts; references between
    them follow. Returns {table: rows inserted}."""
    env.cr.execute("DROP TABLE IF EXISTS bench_idmap")
    env.cr.execute(
        "CREATE TEMPORARY TABLE bench_idmap (tbl varchar, seq int, old_id int, new_id int)"
    )
    for table in BUNDLE_TABLES:
        for kind, records in bundles.items():
            if records.get(table):
                env.cr.execute(
                    SQL(
                        """
                        INSERT INTO bench_idmap
                        SELECT %(table)s, clone.seq, old.id,
                               nextval(pg_get_serial_sequence(%(table)s, 'id'))
                          FROM bench_clone clone, unnest(%(ids)s::int[]) AS old(id)
                         WHERE clone.kind = %(kind)s
                      ORDER BY clone.seq, old.id
                        """,
                        table=table,
                        ids=records[table],
                        kind=kind,
                    )
                )
    env.cr.execute("CREATE INDEX ON bench_idmap (tbl, seq, old_id)")
    env.cr.execute("CREATE INDEX ON bench_idmap (tbl, old_id)")
    env.cr.execute("ANALYZE bench_idmap")

    # Names: a prefix by kind of record, numbered by clone (unique per journal).
    kinds, old_names, prefixes = [], [], []
    for kind, records in bundles.items():
        for move in env["account.move"].browse(records["account_move"]):
            kinds.append(kind)
            old_names.append(move.name)
            prefixes.append(MOVE_PREFIXES[move.move_type])
        for order in env["sale.order"].browse(records["sale_order"]):
            kinds.append(kind)
            old_names.append(order.name)
            prefixes.append(ORDER_PREFIX)
    env.cr.execute("DROP TABLE IF EXISTS bench_names")
    env.cr.execute(
        """
        CREATE TEMPORARY TABLE bench_names AS
        SELECT clone.seq, template.old_name, template.prefix,
               template.prefix || lpad(clone.seq::text, 7, '0') AS new_name
          FROM bench_clone clone
          JOIN unnest(%s::varchar[], %s::varchar[], %s::varchar[])
               AS template(kind, old_name, prefix) ON template.kind = clone.kind
        """,
        [kinds, old_names, prefixes],
    )
    env.cr.execute("CREATE INDEX ON bench_names (seq, old_name)")
    env.cr.execute("ANALYZE bench_names")

    inserted, counts, deferred = [], {}, []
    for table in BUNDLE_TABLES:
        overrides, later = _bundle_overrides(env, table, template_partner, today, inserted)
        counts[table] = _clone_rows(
            env,
            table,
            "src",
            SQL(
                """%s src
                   JOIN bench_idmap idmap ON idmap.tbl = %s AND idmap.old_id = src.id
                   JOIN bench_clone clone ON clone.seq = idmap.seq""",
                SQL.identifier(table),
                table,
            ),
            overrides,
        )
        inserted.append(table)
        deferred += [(table, column, target) for column, target in later]
    for table, column, target in deferred:
        env.cr.execute(
            SQL(
                """
                UPDATE %(table)s row_ SET %(column)s = target.new_id
                  FROM bench_idmap idmap
                  JOIN %(table)s src ON src.id = idmap.old_id
                  JOIN bench_idmap target ON target.tbl = %(target)s AND target.seq = idmap.seq
                 WHERE idmap.tbl = %(table_name)s AND row_.id = idmap.new_id
                   AND target.old_id = src.%(column)s
                """,
                table=SQL.identifier(table),
                column=SQL.identifier(column),
                target=target,
                table_name=table,
            )
        )
    for relation, left, right in BUNDLE_RELATIONS:
        left_table, right_table = (
            _foreign_keys(env, relation)[left],
            _foreign_keys(env, relation)[right],
        )
        env.cr.execute(
            SQL(
                """
                INSERT INTO %(relation)s (%(left)s, %(right)s)
                SELECT left_.new_id, right_.new_id
                  FROM %(relation)s rel
                  JOIN bench_idmap left_ ON left_.tbl = %(left_table)s
                                        AND left_.old_id = rel.%(left)s
                  JOIN bench_idmap right_ ON right_.tbl = %(right_table)s
                                         AND right_.old_id = rel.%(right)s
                                         AND right_.seq = left_.seq
                """,
                relation=SQL.identifier(relation),
                left=SQL.identifier(left),
                right=SQL.identifier(right),
                left_table=left_table,
                right_table=right_table,
            )
        )
        counts[relation] = env.cr.rowcount
    return counts


def generate_dataset(env, company, partners, invoices, orders, salesperson=None):
    """The data set of the benchmarks, in company (its currency, no taxes):

    - `partners` customers (companies with an email, `salesperson` their
      salesperson if given), the first being the customer with the most open
      items: every TOP_SHARE_EVERY-th invoice and order is its;
    - `invoices` posted customer invoices and credit notes (orders' invoices
      included), due from DUE_AHEAD days ahead to DUE_BEHIND days back, amounts
      1 to 10 times 100.00: 5 % credit notes, 10 % in a second currency (one rate),
      a sixth fully paid and a sixth partly paid (40 %) by customer payments
      reconciled with them, the others open;
    - `orders` confirmed orders of two units, one invoiced: partly invoiced.

    One record of each kind is made through the ORM (invoices posted, payments
    registered and reconciled by Odoo's wizard); the others are set-based SQL
    copies of them and of everything they are made of (lines, payments, partial
    and full reconciliations, order lines and their invoice lines), so that each
    copy is balanced and reconciled like its original. ``check_dataset`` checks
    the result with Odoo's own figures. The caller commits.

    :return: DataSet
    """
    standalone = invoices - orders - len(STANDALONE_KINDS)
    if partners < 1 or orders < 1 or standalone < 0:
        raise ValueError(
            f"need at least 1 customer and 1 order and {len(STANDALONE_KINDS)} invoices "
            f"more than orders: {partners} customers, {invoices} invoices, {orders} orders"
        )
    start = time.perf_counter()
    today = fields.Date.context_today(env.user)
    template_env = _template_env(env, company)
    currency = _second_currency(template_env, company)
    partner = template_env["res.partner"].create(
        {
            "name": CUSTOMER_NAME.format(1),
            "email": CUSTOMER_EMAIL.format(1),
            "is_company": True,
            "company_id": False,
            "user_id": salesperson.id if salesperson else False,
        }
    )
    product = _make_product(template_env)
    bundles, figures = _make_bundle_templates(template_env, partner, product, currency, today)
    template_env.flush_all()
    _check_bundle_closed(env, bundles)
    _clone_customers(env, partner, partners - 1)
    _clone_plan(env, today, partners, standalone, orders - 1)
    _clone_bundles(env, bundles, partner, today)

    # Expected figures, from the plan and the templates' own figures.
    expected_credit = dict.fromkeys([partner.id], 0.0)
    expected_to_invoice = dict.fromkeys([partner.id], 0.0)
    counts = dict.fromkeys(bundles, 1)
    for residual, to_invoice in figures.values():
        expected_credit[partner.id] += residual
        expected_to_invoice[partner.id] += to_invoice
    env.cr.execute("SELECT partner_id, kind, SUM(factor), count(*) FROM bench_clone GROUP BY 1, 2")
    for partner_id, kind, factors, count in env.cr.fetchall():
        residual, to_invoice = figures[kind]
        expected_credit[partner_id] = expected_credit.get(partner_id, 0.0) + residual * float(
            factors
        )
        expected_to_invoice[partner_id] = expected_to_invoice.get(
            partner_id, 0.0
        ) + to_invoice * float(factors)
        counts[kind] += count

    def cloned(table, template_ids):
        env.cr.execute(
            "SELECT new_id FROM bench_idmap WHERE tbl = %s AND old_id = ANY(%s) ORDER BY seq",
            [table, template_ids],
        )
        return template_ids + [row[0] for row in env.cr.fetchall()]

    invoice_ids = [
        move.id
        for records in bundles.values()
        for move in env["account.move"].browse(records["account_move"])
        if move.move_type != "entry"
    ]
    order_ids = [order_id for records in bundles.values() for order_id in records["sale_order"]]
    payment_ids = [pid for records in bundles.values() for pid in records["account_payment"]]
    env.cr.execute("SELECT id FROM bench_customer ORDER BY idx")
    partner_ids = [row[0] for row in env.cr.fetchall()]
    env.invalidate_all()  # the ORM cache knows nothing of the SQL inserts
    analyze(env, [*BUNDLE_TABLES, "res_partner", *(rel for rel, _l, _r in BUNDLE_RELATIONS)])
    return DataSet(
        company=company,
        partners=env["res.partner"].browse(partner_ids),
        product=product,
        currency=currency,
        invoices=env["account.move"].browse(cloned("account_move", invoice_ids)),
        orders=env["sale.order"].browse(cloned("sale_order", order_ids)),
        payments=env["account.payment"].browse(cloned("account_payment", payment_ids)),
        expected_credit=expected_credit,
        expected_to_invoice=expected_to_invoice,
        counts=counts,
        seconds=time.perf_counter() - start,
    )


def check_dataset(env, data, sample=20):
    """Checks the generated data set with Odoo's own figures; raises AssertionError
    on the first mismatch. Returns the figures checked.

    Set-wide: every customer a company of its own with its email; every move of
    the data set balanced; the counts of each kind; the open receivable of all
    customers as planned. On a sample of each kind (template and clones): the
    stored computed fields of invoices, their lines, payments and orders as the
    ORM recomputes them (residuals and payment states from the reconciliations,
    quantities invoiced from the order lines' invoice lines), Odoo's matching
    number constraint; Odoo's credit and credit_to_invoice of a sample of
    customers as planned, and credit_exposure their sum (when credit_collections
    is installed: not on the OCA peers' database).
    """
    env.invalidate_all()
    company = data.company
    currency = company.currency_id

    def same(label, actual, expected):
        if currency.compare_amounts(actual, expected) != 0:
            raise AssertionError(f"{label}: {actual} != expected {expected}")

    env.cr.execute(
        """
        SELECT count(*),
               count(*) FILTER (WHERE commercial_partner_id = id AND is_company
                                AND email IS NOT NULL AND email_normalized = lower(email)),
               count(DISTINCT name), count(DISTINCT email)
          FROM res_partner WHERE id = ANY(%s)
        """,
        [data.partners.ids],
    )
    count, own_commercial, names, emails = env.cr.fetchone()
    if not count == own_commercial == names == emails == len(data.partners):
        raise AssertionError(
            f"{count} customers: {own_commercial} companies of their own with an email, "
            f"{names} names, {emails} emails"
        )
    move_ids = data.invoices.ids + data.payments.move_id.ids
    env.cr.execute(
        """
        SELECT count(*) FROM (
            SELECT move_id FROM account_move_line WHERE move_id = ANY(%s)
          GROUP BY move_id HAVING SUM(balance) <> 0 OR SUM(debit) <> SUM(credit)) unbalanced
        """,
        [move_ids],
    )
    unbalanced = env.cr.fetchone()[0]
    if unbalanced:
        raise AssertionError(f"{unbalanced} generated moves are not balanced")
    env.cr.execute(
        """
        SELECT count(*) FILTER (WHERE state = 'posted'),
               count(*) FILTER (WHERE move_type = 'out_refund'),
               count(*) FILTER (WHERE currency_id <> %s),
               count(*) FILTER (WHERE payment_state IN ('paid', 'in_payment')
                                AND move_type = 'out_invoice'),
               count(*) FILTER (WHERE payment_state = 'partial'),
               count(DISTINCT partner_id),
               count(*) FILTER (WHERE partner_id <> commercial_partner_id)
          FROM account_move WHERE id = ANY(%s)
        """,
        [currency.id, data.invoices.ids],
    )
    posted, refunds, foreign, paid, partial, customers, mismatched = env.cr.fetchone()
    found = {"refund": refunds, "foreign": foreign, "paid": paid, "partial": partial}
    planned = {kind: data.counts[kind] for kind in found}
    if posted != len(data.invoices) or found != planned:
        raise AssertionError(f"{posted} posted invoices, {found} instead of {planned}")
    if customers != len(data.partners) or mismatched:
        raise AssertionError(f"invoices of {customers} customers, {mismatched} mismatched")
    env.cr.execute(
        """
        SELECT SUM(line.amount_residual)
          FROM account_move_line line JOIN account_account account ON account.id = line.account_id
         WHERE line.partner_id = ANY(%s) AND account.account_type = 'asset_receivable'
           AND line.parent_state = 'posted'
        """,
        [data.partners.ids],
    )
    same("open receivable of the customers", env.cr.fetchone()[0], data.expected_receivable)
    env.cr.execute(
        "SELECT count(*) FROM sale_order WHERE id = ANY(%s) AND state = 'sale'",
        [data.orders.ids],
    )
    if env.cr.fetchone()[0] != len(data.orders):
        raise AssertionError("orders not all confirmed")

    # Samples of each kind recomputed by the ORM match what was inserted.
    def spread(records, size):
        return records[:: max(1, len(records) // size)]

    sample_invoices = spread(data.invoices, sample * 3)
    sample_invoices |= data.invoices.filtered(lambda move: move.payment_state != "not_paid")[
        :: max(1, len(data.invoices) // sample)
    ]
    sample_payments = spread(data.payments, sample)
    sample_orders = spread(data.orders, sample)
    checks = (
        (
            sample_invoices,
            [
                "commercial_partner_id",
                "invoice_partner_display_name",
                "amount_total",
                "amount_total_signed",
                "amount_residual",
                "amount_residual_signed",
                "payment_state",
                "invoice_date_due",
            ],
        ),
        (
            (sample_invoices | sample_payments.move_id).line_ids,
            [
                "partner_id",
                "amount_residual",
                "amount_residual_currency",
                "reconciled",
                "price_subtotal",
                "price_total",
            ],
        ),
        (sample_payments, ["amount_company_currency_signed", "is_reconciled", "is_matched"]),
        (sample_orders, ["amount_untaxed", "amount_total", "invoice_status"]),
        (
            sample_orders.order_line,
            [
                "price_subtotal",
                "price_total",
                "qty_invoiced",
                "qty_to_invoice",
                "untaxed_amount_invoiced",
                "untaxed_amount_to_invoice",
                "invoice_status",
            ],
        ),
    )
    for records, field_names in checks:
        stored, computed = _recomputed(records, field_names)
        if stored != computed:
            differ = {
                record_id: {
                    name: (value, computed[record_id][name])
                    for name, value in values.items()
                    if value != computed[record_id][name]
                }
                for record_id, values in stored.items()
                if values != computed[record_id]
            }
            raise AssertionError(f"{records._name} recomputed differ (stored, computed): {differ}")
    (sample_invoices | sample_payments.move_id).line_ids._constrains_matching_number()

    # Odoo's own figures on a sample of customers, the top customer first.
    partners = data.partners.with_company(company)
    sample_partners = partners[:1] | spread(partners[1:], sample)
    # credit_collections' field: absent from a peer database (benchmarks/oca.py)
    has_exposure = "credit_exposure" in partners._fields
    for partner in sample_partners:
        same(
            f"{partner.name}: res.partner.credit", partner.credit, data.expected_credit[partner.id]
        )
        if company.account_use_credit_limit:
            same(
                f"{partner.name}: res.partner.credit_to_invoice",
                partner.credit_to_invoice,
                data.expected_to_invoice.get(partner.id, 0.0),
            )
        if has_exposure:
            same(
                f"{partner.name}: res.partner.credit_exposure",
                partner.credit_exposure,
                data.expected_credit[partner.id] + data.expected_to_invoice.get(partner.id, 0.0),
            )
    for order in sample_orders:
        same(f"{order.name} amount_to_invoice", order.amount_to_invoice, order.amount_total / 2)
    env.invalidate_all()
    top = partners[:1]
    return {
        "receivable": data.expected_receivable,
        "top_customer_credit": top.credit,
        "top_customer_credit_exposure": top.credit_exposure if has_exposure else None,
        "sampled_customers": len(sample_partners),
        "sampled_invoices": len(sample_invoices),
        "sampled_payments": len(sample_payments),
        "sampled_orders": len(sample_orders),
    }


# ----------------------------------------------------------------------
# Generation, as every benchmark opens
# ----------------------------------------------------------------------


def generate(env, args, company, salesperson=None, prepare=None):
    """The data set of args' sizes (--partners, --invoices, --orders) in
    company, generated with progress lines, prepare(data) run on it if given,
    committed. Returns (DataSet, database size in bytes)."""
    harness.say(
        f"Generating {args.partners:,} customers, {args.invoices:,} invoices and "
        f"{args.orders:,} orders..."
    )
    data = generate_dataset(
        env, company, args.partners, args.invoices, args.orders, salesperson=salesperson
    )
    if prepare:
        prepare(data)
    env.cr.commit()
    size = harness.database_size(env)
    harness.say(
        f"Generated {data.describe()} in {data.seconds:.1f} s; database size {size / 2**20:,.0f} MB"
    )
    return data, size


# ----------------------------------------------------------------------
# What both runs do on the data set (ours, and the OCA peers')
# ----------------------------------------------------------------------

# The customers whose credit check is measured (Result labels).
TOP = "customer with the most open items"
FEW = "customer with few open items"
# Customers whose exposure is read at once, as a list view page of 1,000 would.
EXPOSURE_CUSTOMERS = 1_000
# High enough for every generated customer: the credit check passes, after
# computing every figure of the customer.
CREDIT_LIMIT = 10**12
# Odoo's own figures, measured on both databases as the common peer: the credit
# warning of the order confirmed, and the credit columns of the partner list.
CREDIT_CHECK_PEER = "Odoo: order credit warning (credit + credit_to_invoice)"
EXPOSURE_PEER = "Odoo: credit + credit_to_invoice"
ODOO_EXPOSURE_FIELDS = ("display_name", "credit", "credit_to_invoice")
# The follow-up runs of the suite, one after the other (the second the same
# day): {kind: label}.
FOLLOWUP_RUNS = {
    "followup_run": "full follow-up run",
    "followup_run_again": "follow-up run again, nothing due",
}


def credit_check_operation(customer):
    """The name of the credit check of an order of customer (a label)."""
    return f"credit check on confirming one order: {customer}"


# Our operations by kind, as benchmarks/suite.py names its rows: an OCA row
# (benchmarks/oca.py) of the same kind stands next to the row of that name.
OPERATIONS = {
    "credit_check_top": credit_check_operation(TOP),
    "credit_check_few": credit_check_operation(FEW),
    "exposure": f"exposure for {EXPOSURE_CUSTOMERS:,} customers at once (list view)",
    **{kind: f"scheduled action: {label}" for kind, label in FOLLOWUP_RUNS.items()},
}


def operation(kind, no_documents=False):
    """The name of our operation of kind (OPERATIONS), " (no documents)" added
    to a follow-up run's with --no-documents; None for an unknown kind."""
    name = OPERATIONS.get(kind)
    if name and kind.startswith("followup_run") and no_documents:
        name += " (no documents)"
    return name


def new_quotation(env, data, partner=None):
    """A quotation of one unit at 100.00 for partner (else the top customer)."""
    return (
        env["sale.order"]
        .with_company(data.company)
        .create(
            {
                "partner_id": (partner or data.top_partner).id,
                "company_id": data.company.id,
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": data.product.id,
                            "product_uom_qty": 1.0,
                            "price_unit": 100.0,
                            "tax_id": [(6, 0, [])],
                        },
                    )
                ],
            }
        )
    )


def customer_size(env, data, partner):
    """The data size of a customer's credit check: its open receivable items and
    confirmed orders, and the data set's."""
    env.cr.execute(
        """
        SELECT count(*) FROM account_move_line line
          JOIN account_account account ON account.id = line.account_id
         WHERE line.partner_id = %s AND account.account_type = 'asset_receivable'
           AND line.parent_state = 'posted' AND NOT line.reconciled
        """,
        [partner.id],
    )
    open_items = env.cr.fetchone()[0]
    orders = env["sale.order"].search_count(
        [("partner_id", "=", partner.id), ("state", "=", "sale")]
    )
    return f"{open_items:,} open items, {orders:,} orders; {data.describe()}"


def list_read(env, data, field_names, count=EXPOSURE_CUSTOMERS):
    """field_names of the first count customers, read at once as the partner
    list reads them (web_search_read): a function of no argument, to measure,
    returning the records read."""
    partners = data.partners[:count]
    model = env["res.partner"].with_company(data.company)
    domain = [("id", "in", partners.ids)]
    specification = {name: {} for name in field_names}

    def read():
        return model.web_search_read(domain, specification, limit=len(partners))["records"]

    return read
