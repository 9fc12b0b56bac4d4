"""Shared tools of the credit_collections benchmarks.

- Odoo in-process on the database prepared by ``benchmarks/run`` (``odoo_env``).
- ``measure``: median wall time and SQL query count of an operation, the ORM
  cache emptied before every repetition.
- Result rows, printed as a table (``print_table``) and written as JSON
  (``write_json``), each operation next to its peer (Odoo's own computation, or
  another module's) on the same data.
- A data generator (``generate_customer_book``): one customer with thousands of
  open invoices and confirmed orders, cloned with set-based SQL from one invoice
  and one order made through the ORM, then checked with Odoo's own figures
  (``check_customer_book``).

A benchmark script parses its options with ``parse_args``, bootstraps Odoo with
``odoo_env``, builds its data, measures its operations and reports them.
"""

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

import odoo
from odoo import SUPERUSER_ID, api, fields
from odoo.tools import SQL

SMALL_SIZE = {"invoices": 200, "orders": 20}
FULL_SIZE = {"invoices": 10_000, "orders": 1_000}
INVOICE_PREFIX = "INV/BENCH/"
ORDER_PREFIX = "S/BENCH/"
# Amounts of the clones are the template's times 1 to 10, due dates spread from
# DUE_AHEAD days ahead to DUE_BEHIND days back.
DUE_AHEAD = 90
DUE_BEHIND = 400


# ----------------------------------------------------------------------
# Options and Odoo bootstrap
# ----------------------------------------------------------------------


def parse_args(description, argv=None):
    """Options shared by every benchmark script: connection, data size, repetitions."""
    parser = argparse.ArgumentParser(description=description)
    connection = parser.add_argument_group("database (set by benchmarks/run)")
    connection.add_argument("--database", "-d", required=True)
    connection.add_argument("--addons-path", required=True)
    connection.add_argument("--db-host", default=None)
    connection.add_argument("--db-user", default=None)
    connection.add_argument("--data-dir", default=None)
    size = parser.add_argument_group("data size")
    size.add_argument(
        "--invoices",
        type=int,
        default=FULL_SIZE["invoices"],
        help="open customer invoices of the benchmark customer (default %(default)s)",
    )
    size.add_argument(
        "--orders",
        type=int,
        default=FULL_SIZE["orders"],
        help="confirmed orders not yet invoiced of the benchmark customer (default %(default)s)",
    )
    size.add_argument(
        "--small",
        action="store_true",
        help="quick run: {invoices} invoices and {orders} orders".format(**SMALL_SIZE),
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="repetitions of each operation (median)"
    )
    parser.add_argument("--results-dir", default=None, help="where to write <name>.json")
    parser.add_argument("--name", default=None, help="name of the JSON result file")
    parser.add_argument(
        "--log-queries", action="store_true", help="print the SQL queries of each operation"
    )
    args = parser.parse_args(argv)
    if args.small:
        args.invoices, args.orders = SMALL_SIZE["invoices"], SMALL_SIZE["orders"]
    if args.invoices < 1 or args.orders < 1 or args.repeat < 1:
        parser.error("--invoices, --orders and --repeat must be at least 1")
    return args


@contextlib.contextmanager
def odoo_env(args):
    """An environment as superuser on args.database; its transaction is committed
    when the block ends normally, rolled back otherwise."""
    options = ["-d", args.database, "--addons-path", args.addons_path, "--log-level", "warn"]
    if args.db_host:
        options += ["--db_host", args.db_host]
    if args.db_user:
        options += ["--db_user", args.db_user]
    if args.data_dir:
        options += ["--data-dir", args.data_dir]
    odoo.tools.config.parse_config(options)
    registry = odoo.modules.registry.Registry(args.database)
    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


def database_size(env):
    env.cr.execute("SELECT pg_database_size(current_database())")
    return env.cr.fetchone()[0]


def analyze(env, tables):
    """Fresh planner statistics after a bulk insert, as autovacuum would give."""
    for table in tables:
        env.cr.execute(SQL("ANALYZE %s", SQL.identifier(table)))


# ----------------------------------------------------------------------
# Measurement and results
# ----------------------------------------------------------------------


@dataclass
class Measurement:
    seconds: float  # median wall time
    queries: int  # median SQL query count (the same for every repetition, normally)
    runs: list = field(default_factory=list)  # wall time of each repetition
    query_counts: list = field(default_factory=list)  # queries of each repetition
    sql: list = field(default_factory=list)  # queries of the last repetition


@contextlib.contextmanager
def _query_log():
    """Collects the SQL text (without parameters) of every query run in the block."""
    thread = threading.current_thread()
    queries = []

    def hook(cr, query, params, start, delay):
        text = query.decode() if isinstance(query, bytes) else str(query)
        queries.append(" ".join(text.split()))

    previous = getattr(thread, "query_hooks", ())
    thread.query_hooks = (*previous, hook)
    try:
        yield queries
    finally:
        thread.query_hooks = previous


def measure(env, fn, repeat):
    """Runs fn() repeat times; returns the median wall time and the query count.

    The ORM cache is emptied (pending writes flushed first) before each repetition,
    so that every figure is read from the database; registry caches (access rights,
    ormcache) stay warm, as in a running server.
    """
    runs, counts, sql = [], [], []
    for _index in range(repeat):
        env.flush_all()
        env.invalidate_all()
        with _query_log() as queries:
            before = env.cr.sql_log_count
            start = time.perf_counter()
            fn()
            env.flush_all()  # writes of fn count as its queries
            runs.append(time.perf_counter() - start)
            counts.append(env.cr.sql_log_count - before)
        sql = queries
    return Measurement(
        seconds=statistics.median(runs),
        queries=int(statistics.median(counts)),
        runs=runs,
        query_counts=counts,
        sql=sql,
    )


@dataclass
class Result:
    """One operation, measured next to its peer on the same data."""

    operation: str
    size: str
    measurement: Measurement
    peer: str = ""
    peer_measurement: Measurement = None

    @property
    def ratio(self):
        if not self.peer_measurement or not self.peer_measurement.seconds:
            return None
        return self.measurement.seconds / self.peer_measurement.seconds


TABLE_COLUMNS = (
    "operation",
    "data size",
    "median s",
    "queries",
    "peer",
    "peer median s",
    "peer queries",
    "ratio",
)


def _table_row(result):
    peer = result.peer_measurement
    return (
        result.operation,
        result.size,
        f"{result.measurement.seconds:.4f}",
        str(result.measurement.queries),
        result.peer or "-",
        f"{peer.seconds:.4f}" if peer else "-",
        str(peer.queries) if peer else "-",
        f"{result.ratio:.2f}" if result.ratio is not None else "-",
    )


def print_table(results, file=None):
    file = file or sys.stdout
    rows = [TABLE_COLUMNS, *map(_table_row, results)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(TABLE_COLUMNS))]
    numeric = {2, 3, 5, 6, 7}

    def line(row):
        cells = [
            cell.rjust(width) if index in numeric else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    print(line(rows[0]), file=file)
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|", file=file)
    for row in rows[1:]:
        print(line(row), file=file)


def print_queries(results, file=None):
    file = file or sys.stdout
    for result in results:
        for label, measurement in (
            (result.operation, result.measurement),
            (result.peer, result.peer_measurement),
        ):
            if not measurement:
                continue
            print(f"\n-- {label}: {measurement.queries} queries", file=file)
            for index, query in enumerate(measurement.sql, 1):
                print(f"{index:4d}. {query[:300]}", file=file)


def write_json(path, benchmark, env, args, data, results):
    """Writes the results and what they were measured on as JSON; returns path."""
    env.cr.execute("SHOW server_version")
    document = {
        "benchmark": benchmark,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "environment": {
            "odoo": odoo.release.version,
            "postgresql": env.cr.fetchone()[0],
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "machine": platform.machine(),
        },
        "repeat": args.repeat,
        "data": data,
        "results": [
            {
                "operation": result.operation,
                "size": result.size,
                "measurement": asdict(result.measurement),
                "peer": result.peer or None,
                "peer_measurement": (
                    asdict(result.peer_measurement) if result.peer_measurement else None
                ),
                "ratio": result.ratio,
            }
            for result in results
        ],
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, default=str)
        stream.write("\n")
    return path


# ----------------------------------------------------------------------
# Data generator
# ----------------------------------------------------------------------


@dataclass
class CustomerBook:
    """A customer with many open invoices and confirmed orders in one company."""

    company: object
    partner: object
    product: object
    invoices: object  # account.move, template first
    orders: object  # sale.order, template first
    expected_receivable: float
    expected_to_invoice: float
    seconds: float = 0.0

    def describe(self):
        return f"{len(self.invoices):,} invoices, {len(self.orders):,} orders"


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


def _scaled(alias, columns, factor="clone.factor"):
    return {
        name: SQL("%s.%s * %s", SQL.identifier(alias), SQL.identifier(name), SQL(factor))
        for name in columns
    }


def _clone_map(env, name, table, count, prefix, today):
    """Temporary table name(seq, id, name, due, invoice_date, factor): one row per
    clone, its id taken from table's sequence."""
    env.cr.execute(SQL("DROP TABLE IF EXISTS %s", SQL.identifier(name)))
    env.cr.execute(
        SQL(
            """
            CREATE TEMPORARY TABLE %(map)s AS
            SELECT seq,
                   nextval(pg_get_serial_sequence(%(table)s, 'id'))::int AS id,
                   %(prefix)s || lpad(seq::text, GREATEST(6, length(%(count)s::text)), '0')
                       AS name,
                   due,
                   LEAST(due - 30, %(today)s::date) AS invoice_date,
                   (1 + mod(seq, 10))::numeric AS factor
              FROM generate_series(1, %(count)s) AS seq,
                   LATERAL (SELECT (%(today)s::date + %(ahead)s
                                    - (seq - 1) * %(span)s / GREATEST(%(count)s - 1, 1)
                                   )::date AS due) AS due
            """,
            map=SQL.identifier(name),
            table=table,
            prefix=prefix,
            today=today,
            count=count,
            ahead=DUE_AHEAD,
            span=DUE_AHEAD + DUE_BEHIND,
        )
    )


def _make_templates(env, company):
    """The customer, a product without taxes, one posted invoice and one confirmed
    order, through the ORM: the originals every clone copies."""
    env = env(
        context=dict(
            env.context, allowed_company_ids=[company.id], tracking_disable=True, mail_notrack=True
        )
    )
    today = fields.Date.context_today(env.user)
    partner = env["res.partner"].create(
        {"name": "Benchmark Customer", "is_company": True, "company_id": False}
    )
    product = env["product.product"].create(
        {
            "name": "Benchmark Product",
            "type": "consu",
            "list_price": 100.0,
            "invoice_policy": "order",
            "taxes_id": [(6, 0, [])],
            "company_id": False,
        }
    )
    invoice = env["account.move"].create(
        {
            "move_type": "out_invoice",
            "partner_id": partner.id,
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
    order = env["sale.order"].create(
        {
            "partner_id": partner.id,
            "order_line": [
                (
                    0,
                    0,
                    {
                        "product_id": product.id,
                        "product_uom_qty": 1.0,
                        "price_unit": 100.0,
                        "tax_id": [(6, 0, [])],
                    },
                )
            ],
        }
    )
    order.action_confirm()
    env.flush_all()
    assert invoice.state == "posted" and invoice.amount_residual == 100.0, invoice
    assert order.state == "sale" and order.amount_total == 100.0, order
    return partner, product, invoice, order


def _clone_invoices(env, template, count, today):
    if count < 1:
        return env["account.move"]
    _clone_map(env, "bench_move_clone", "account_move", count, INVOICE_PREFIX, today)
    amounts = [name for name in _columns(env, "account_move") if name.startswith("amount_")]
    moves = _clone_rows(
        env,
        "account_move",
        "move",
        SQL(
            "account_move move JOIN bench_move_clone clone ON move.id = %s",
            template.id,
        ),
        {
            **_scaled("move", [*amounts, "quick_edit_total_amount"]),
            "id": SQL("clone.id"),
            "name": SQL("clone.name"),
            "sequence_prefix": SQL("%s", INVOICE_PREFIX),
            "sequence_number": SQL("clone.seq"),
            "payment_reference": SQL("clone.name"),
            "date": SQL("clone.invoice_date"),
            "invoice_date": SQL("clone.invoice_date"),
            "invoice_date_due": SQL("clone.due"),
            "access_token": SQL("NULL"),
            "inalterable_hash": SQL("NULL"),
            "secure_sequence_number": SQL("NULL"),
            "made_sequence_gap": SQL("FALSE"),
        },
    )
    lines = _clone_rows(
        env,
        "account_move_line",
        "line",
        SQL(
            """account_move_line line
               JOIN account_move move ON move.id = line.move_id
               JOIN bench_move_clone clone ON line.move_id = %s""",
            template.id,
        ),
        {
            **_scaled(
                "line",
                [
                    "debit",
                    "credit",
                    "balance",
                    "amount_currency",
                    "amount_residual",
                    "amount_residual_currency",
                    "tax_base_amount",
                    "price_unit",
                    "price_subtotal",
                    "price_total",
                ],
            ),
            "move_id": SQL("clone.id"),
            "move_name": SQL("clone.name"),
            "name": SQL("CASE WHEN line.name = move.name THEN clone.name ELSE line.name END"),
            "date": SQL("clone.invoice_date"),
            "invoice_date": SQL("clone.invoice_date"),
            "date_maturity": SQL(
                "CASE WHEN line.date_maturity IS NULL THEN NULL ELSE clone.due END"
            ),
            "reconciled": SQL("FALSE"),
            "matching_number": SQL("NULL"),
            "full_reconcile_id": SQL("NULL"),
        },
    )
    assert moves == count and lines == count * len(template.line_ids), (moves, lines)
    env.cr.execute("SELECT id FROM bench_move_clone ORDER BY seq")
    return env["account.move"].browse([row[0] for row in env.cr.fetchall()])


def _clone_orders(env, template, count, today):
    if count < 1:
        return env["sale.order"]
    _clone_map(env, "bench_order_clone", "sale_order", count, ORDER_PREFIX, today)
    orders = _clone_rows(
        env,
        "sale_order",
        "sale",
        SQL("sale_order sale JOIN bench_order_clone clone ON sale.id = %s", template.id),
        {
            **_scaled("sale", ["amount_untaxed", "amount_tax", "amount_total"]),
            "id": SQL("clone.id"),
            "name": SQL("clone.name"),
            "state": SQL("'sale'"),
            "date_order": SQL("sale.date_order - make_interval(days => mod(clone.seq, 60))"),
            "access_token": SQL("NULL"),
        },
    )
    lines = _clone_rows(
        env,
        "sale_order_line",
        "line",
        SQL(
            "sale_order_line line JOIN bench_order_clone clone ON line.order_id = %s",
            template.id,
        ),
        {
            **_scaled(
                "line",
                [
                    "price_unit",
                    "technical_price_unit",
                    "price_subtotal",
                    "price_tax",
                    "price_total",
                    "price_reduce_taxexcl",
                    "price_reduce_taxinc",
                    "untaxed_amount_to_invoice",
                ],
            ),
            "order_id": SQL("clone.id"),
            "state": SQL("'sale'"),
            "untaxed_amount_invoiced": SQL("0"),
            "qty_invoiced": SQL("0"),
        },
    )
    assert orders == count and lines == count * len(template.order_line), (orders, lines)
    env.cr.execute("SELECT id FROM bench_order_clone ORDER BY seq")
    return env["sale.order"].browse([row[0] for row in env.cr.fetchall()])


def generate_customer_book(env, company, invoices, orders):
    """A new customer of company with `invoices` open posted invoices and `orders`
    confirmed orders not yet invoiced (templates included), in company currency,
    without taxes.

    One invoice and one order are made through the ORM; the others are SQL copies
    of them with their own names, due dates (from 90 days ahead to 400 days back)
    and amounts (1 to 10 times the template's 100.00).
    """
    start = time.perf_counter()
    today = fields.Date.context_today(env.user)
    partner, product, invoice, order = _make_templates(env, company)
    clones_invoices = _clone_invoices(env, invoice, invoices - 1, today)
    clones_orders = _clone_orders(env, order, orders - 1, today)
    env.invalidate_all()  # the ORM cache knows nothing of the SQL inserts
    analyze(env, ["account_move", "account_move_line", "sale_order", "sale_order_line"])
    factors = [1 + seq % 10 for seq in range(1, invoices)]
    order_factors = [1 + seq % 10 for seq in range(1, orders)]
    return CustomerBook(
        company=company,
        partner=partner,
        product=product,
        invoices=invoice | clones_invoices,
        orders=order | clones_orders,
        expected_receivable=100.0 * (1 + sum(factors)),
        expected_to_invoice=100.0 * (1 + sum(order_factors)),
        seconds=time.perf_counter() - start,
    )


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
        computed = {record.id: {name: record[name] for name in field_names} for record in records}
        savepoint.close(rollback=True)
    env.invalidate_all(flush=False)
    return stored, computed


def check_customer_book(env, book):
    """Checks the generated data with Odoo's own figures; raises AssertionError on
    the first mismatch. Returns the figures checked."""
    env.invalidate_all()
    company = book.company
    currency = company.currency_id
    partner = book.partner.with_company(company)

    def same(label, actual, expected):
        if currency.compare_amounts(actual, expected) != 0:
            raise AssertionError(f"{label}: {actual} != expected {expected}")

    env.cr.execute(
        """
        SELECT count(*) FROM (
            SELECT move_id FROM account_move_line WHERE move_id = ANY(%s)
          GROUP BY move_id HAVING SUM(balance) <> 0 OR SUM(debit) <> SUM(credit)) unbalanced
        """,
        [book.invoices.ids],
    )
    unbalanced = env.cr.fetchone()[0]
    if unbalanced:
        raise AssertionError(f"{unbalanced} generated invoices are not balanced")

    env.cr.execute(
        """
        SELECT count(*), SUM(amount_residual), SUM(amount_total),
               count(*) FILTER (WHERE state = 'posted' AND payment_state = 'not_paid')
          FROM account_move WHERE id = ANY(%s)
        """,
        [book.invoices.ids],
    )
    count, residual, total, open_count = env.cr.fetchone()
    if count != open_count or count != len(book.invoices):
        raise AssertionError(f"{count} invoices, {open_count} posted and open")
    same("sum of the invoices' amount_residual", residual, book.expected_receivable)
    same("sum of the invoices' amount_total", total, book.expected_receivable)

    env.cr.execute(
        "SELECT count(*), SUM(amount_total) FROM sale_order WHERE id = ANY(%s) AND state = 'sale'",
        [book.orders.ids],
    )
    order_count, orders_total = env.cr.fetchone()
    if order_count != len(book.orders):
        raise AssertionError(f"{order_count} of {len(book.orders)} orders are confirmed")
    same("sum of the orders' amount_total", orders_total, book.expected_to_invoice)

    # Odoo's own figures, from the database.
    same("res.partner.credit", partner.credit, book.expected_receivable)
    same("res.partner.credit_to_invoice", partner.credit_to_invoice, book.expected_to_invoice)
    ours = partner.credit_exposure
    same("res.partner.credit_exposure", ours, partner.credit + partner.credit_to_invoice)

    # Samples recomputed by the ORM match what was inserted.
    sample_invoices = book.invoices[:: max(1, len(book.invoices) // 5)]
    stored, computed = _recomputed(
        sample_invoices,
        [
            "amount_total",
            "amount_residual",
            "amount_residual_signed",
            "payment_state",
            "invoice_date_due",
        ],
    )
    if stored != computed:
        raise AssertionError(f"invoices recomputed differ: {stored} != {computed}")
    stored, computed = _recomputed(
        sample_invoices.line_ids,
        [
            "amount_residual",
            "amount_residual_currency",
            "reconciled",
            "price_subtotal",
            "price_total",
        ],
    )
    if stored != computed:
        raise AssertionError(f"invoice lines recomputed differ: {stored} != {computed}")
    sample_orders = book.orders[:: max(1, len(book.orders) // 5)]
    stored, computed = _recomputed(
        sample_orders, ["amount_untaxed", "amount_total", "invoice_status"]
    )
    if stored != computed:
        raise AssertionError(f"orders recomputed differ: {stored} != {computed}")
    stored, computed = _recomputed(
        sample_orders.order_line,
        [
            "price_subtotal",
            "price_total",
            "untaxed_amount_to_invoice",
            "qty_to_invoice",
            "invoice_status",
        ],
    )
    if stored != computed:
        raise AssertionError(f"order lines recomputed differ: {stored} != {computed}")
    for order in sample_orders:
        same(f"{order.name} amount_to_invoice", order.amount_to_invoice, order.amount_total)
    env.invalidate_all()
    return {
        "credit": partner.credit,
        "credit_to_invoice": partner.credit_to_invoice,
        "credit_exposure": partner.credit_exposure,
        "sampled_invoices": len(sample_invoices),
        "sampled_orders": len(sample_orders),
    }
