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

# Data size options of the benchmarks. benchmarks/run gives its options to every
# benchmark: each reads the ones it declares to parse_args, with its own
# defaults, and ignores the others.
SIZE_OPTIONS = ("partners", "invoices", "orders")
# Switches of some benchmarks, ignored likewise by the others.
FLAG_OPTIONS = ("no-documents",)
INVOICE_PREFIX = "INV/BENCH/"
ORDER_PREFIX = "S/BENCH/"
# Amounts of the clones are the template's times 1 to 10, due dates spread from
# DUE_AHEAD days ahead to DUE_BEHIND days back.
DUE_AHEAD = 90
DUE_BEHIND = 400


# ----------------------------------------------------------------------
# Options and Odoo bootstrap
# ----------------------------------------------------------------------


def parse_args(description, sizes, argv=None, flags=None):
    """Options shared by every benchmark script: connection, data size, repetitions.

    :param sizes: {option: (default, value with --small, help)}: the data size
        options this benchmark reads (keys of SIZE_OPTIONS). The size options of
        the other benchmarks, given to every benchmark by benchmarks/run, are
        accepted and ignored. A size given explicitly wins over --small.
    :param flags: {switch: help}: the switches of FLAG_OPTIONS this benchmark
        reads; the others are accepted and ignored
    """
    flags = flags or {}
    unknown = (set(sizes) - set(SIZE_OPTIONS)) | (set(flags) - set(FLAG_OPTIONS))
    assert not unknown, f"undeclared options: {unknown}"
    parser = argparse.ArgumentParser(description=description)
    connection = parser.add_argument_group("database (set by benchmarks/run)")
    connection.add_argument("--database", "-d", required=True)
    connection.add_argument("--addons-path", required=True)
    connection.add_argument("--db-host", default=None)
    connection.add_argument("--db-user", default=None)
    connection.add_argument("--data-dir", default=None)
    size = parser.add_argument_group("data size")
    for name in SIZE_OPTIONS:
        if name in sizes:
            default, _small, help_text = sizes[name]
            size.add_argument(
                f"--{name}", type=int, default=None, help=f"{help_text} (default {default:,})"
            )
        else:  # another benchmark's
            size.add_argument(f"--{name}", type=int, dest=f"ignored_{name}", help=argparse.SUPPRESS)
    for name in FLAG_OPTIONS:
        if name in flags:
            parser.add_argument(f"--{name}", action="store_true", help=flags[name])
        else:  # another benchmark's
            parser.add_argument(
                f"--{name}",
                action="store_true",
                dest="ignored_" + name.replace("-", "_"),
                help=argparse.SUPPRESS,
            )
    size.add_argument(
        "--small",
        action="store_true",
        help="quick run: "
        + ", ".join(f"{small:,} {name}" for name, (_default, small, _help) in sizes.items()),
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
    for name, (default, small, _help) in sizes.items():
        if getattr(args, name) is None:
            setattr(args, name, small if args.small else default)
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


@contextlib.contextmanager
def odoo_env(args, options=()):
    """An environment as superuser on args.database; its transaction is committed
    when the block ends normally, rolled back otherwise.

    :param options: more options of Odoo's command line
    """
    options = [
        "-d",
        args.database,
        "--addons-path",
        args.addons_path,
        "--log-level",
        "warn",
        *options,
    ]
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


def _make_invoice(env, partner, product, today):
    """A posted invoice of partner: one line of product at 100.00, due in 30 days."""
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
    return invoice


def _make_templates(env, company):
    """The customer, a product without taxes, one posted invoice and one confirmed
    order, through the ORM: the originals every clone copies."""
    env = _template_env(env, company)
    today = fields.Date.context_today(env.user)
    partner = env["res.partner"].create(
        {"name": "Benchmark Customer", "is_company": True, "company_id": False}
    )
    product = _make_product(env)
    invoice = _make_invoice(env, partner, product, today)
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


def _clone_invoices(env, template, count, today, customers=0):
    """count copies of the posted invoice template, of the template's customer, or
    with customers (> 0) of the customers of the table bench_customer(idx, id, name),
    idx from 1 to customers: the template and its count copies, in order, share
    them out in blocks of consecutive invoices, the template to the first."""
    if count < 1:
        return env["account.move"]
    _clone_map(env, "bench_move_clone", "account_move", count, INVOICE_PREFIX, today)
    move_partner, line_partner = {}, {}
    if customers:
        env.cr.execute(
            """
            ALTER TABLE bench_move_clone ADD COLUMN partner_id int, ADD COLUMN partner_name varchar;
            UPDATE bench_move_clone clone
               SET partner_id = customer.id, partner_name = customer.name
              FROM bench_customer customer
             WHERE customer.idx = 1 + clone.seq::bigint * %(customers)s / (%(count)s + 1)
            """,
            {"customers": customers, "count": count},
        )
        move_partner = {
            "partner_id": SQL("clone.partner_id"),
            "commercial_partner_id": SQL("clone.partner_id"),
            "partner_shipping_id": SQL("clone.partner_id"),
            "invoice_partner_display_name": SQL("clone.partner_name"),
        }
        line_partner = {
            "partner_id": SQL(
                "CASE WHEN line.partner_id IS NULL THEN NULL ELSE clone.partner_id END"
            )
        }
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
            **move_partner,
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
            **line_partner,
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


# ----------------------------------------------------------------------
# Data generator: many customers
# ----------------------------------------------------------------------

CUSTOMER_NAME = "Bench Customer {:06d}"
CUSTOMER_EMAIL = "customer{:06d}@bench.example.com"


@dataclass
class CustomerBase:
    """Many customers sharing many open invoices in one company."""

    company: object
    partners: object  # res.partner, template first
    product: object
    invoices: object  # account.move, template first
    expected_credit: dict  # {partner id: sum of its invoices' residual}
    seconds: float = 0.0

    @property
    def expected_receivable(self):
        return sum(self.expected_credit.values())

    def describe(self):
        return f"{len(self.partners):,} customers, {len(self.invoices):,} invoices"


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


def generate_customers(env, company, partners, invoices, salesperson=None):
    """`partners` new customers of company (companies with an email) sharing
    `invoices` open posted invoices (templates included), in company currency,
    without taxes.

    One customer and one invoice are made through the ORM; the others are SQL
    copies of them, each customer with its own name and email, each invoice with
    its own name, due date (from 90 days ahead to 400 days back) and amount (1 to
    10 times the template's 100.00). Consecutive invoices go to the same customer:
    a customer's invoices fall due within days of each other, and the customers'
    oldest due dates spread over the whole range (every follow-up level is reached
    by some customers).

    :param salesperson: res.users, the salesperson of every customer (else none)
    """
    assert invoices >= partners >= 1, (partners, invoices)
    start = time.perf_counter()
    today = fields.Date.context_today(env.user)
    template_env = _template_env(env, company)
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
    invoice = _make_invoice(template_env, partner, product, today)
    template_env.flush_all()
    assert invoice.state == "posted" and invoice.amount_residual == 100.0, invoice
    _clone_customers(env, partner, partners - 1)
    clones = _clone_invoices(env, invoice, invoices - 1, today, customers=partners)
    expected = {partner.id: 100.0}
    if clones:
        env.cr.execute("SELECT partner_id, SUM(factor) FROM bench_move_clone GROUP BY partner_id")
        for partner_id, factors in env.cr.fetchall():
            expected[partner_id] = expected.get(partner_id, 0.0) + 100.0 * float(factors)
    env.cr.execute("SELECT id FROM bench_customer ORDER BY idx")
    partner_ids = [row[0] for row in env.cr.fetchall()]
    env.invalidate_all()  # the ORM cache knows nothing of the SQL inserts
    analyze(env, ["res_partner", "account_move", "account_move_line"])
    return CustomerBase(
        company=company,
        partners=env["res.partner"].browse(partner_ids),
        product=product,
        invoices=invoice | clones,
        expected_credit=expected,
        seconds=time.perf_counter() - start,
    )


def check_customers(env, base, sample=20):
    """Checks the generated customers and invoices with Odoo's own figures on a
    sample of customers; raises AssertionError on the first mismatch. Returns the
    figures checked."""
    env.invalidate_all()
    company = base.company
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
        [base.partners.ids],
    )
    count, own_commercial, names, emails = env.cr.fetchone()
    if not count == own_commercial == names == emails == len(base.partners):
        raise AssertionError(
            f"{count} customers: {own_commercial} companies of their own with an email, "
            f"{names} names, {emails} emails"
        )
    env.cr.execute(
        """
        SELECT count(*) FROM (
            SELECT move_id FROM account_move_line WHERE move_id = ANY(%s)
          GROUP BY move_id HAVING SUM(balance) <> 0 OR SUM(debit) <> SUM(credit)) unbalanced
        """,
        [base.invoices.ids],
    )
    unbalanced = env.cr.fetchone()[0]
    if unbalanced:
        raise AssertionError(f"{unbalanced} generated invoices are not balanced")
    env.cr.execute(
        """
        SELECT count(*), SUM(amount_residual),
               count(*) FILTER (WHERE state = 'posted' AND payment_state = 'not_paid'),
               count(DISTINCT partner_id),
               count(*) FILTER (WHERE partner_id <> commercial_partner_id)
          FROM account_move WHERE id = ANY(%s)
        """,
        [base.invoices.ids],
    )
    count, residual, open_count, customers, mismatched = env.cr.fetchone()
    if count != open_count or count != len(base.invoices):
        raise AssertionError(f"{count} invoices, {open_count} posted and open")
    if customers != len(base.partners) or mismatched:
        raise AssertionError(f"invoices of {customers} customers, {mismatched} mismatched")
    same("sum of the invoices' amount_residual", residual, base.expected_receivable)
    env.cr.execute(
        """
        SELECT count(*) FROM account_move_line line JOIN account_move move ON move.id = line.move_id
         WHERE line.move_id = ANY(%s) AND line.partner_id IS DISTINCT FROM move.partner_id
        """,
        [base.invoices.ids],
    )
    if env.cr.fetchone()[0]:
        raise AssertionError("invoice lines of another customer than their invoice")

    # Odoo's own figures on a sample of customers, from the database.
    partners = base.partners.with_company(company)
    sample_partners = partners[:: max(1, len(partners) // sample)]
    env.cr.execute(
        """
        SELECT partner_id, SUM(amount_residual) FROM account_move
         WHERE id = ANY(%s) AND partner_id = ANY(%s) GROUP BY partner_id
        """,
        [base.invoices.ids, sample_partners.ids],
    )
    residuals = dict(env.cr.fetchall())
    for partner in sample_partners:
        expected = base.expected_credit[partner.id]
        same(f"{partner.name}: its invoices' amount_residual", residuals[partner.id], expected)
        same(f"{partner.name}: res.partner.credit", partner.credit, expected)

    # Samples recomputed by the ORM match what was inserted.
    stored, computed = _recomputed(
        sample_partners,
        ["commercial_partner_id", "complete_name", "commercial_company_name", "email_normalized"],
    )
    if stored != computed:
        raise AssertionError(f"customers recomputed differ: {stored} != {computed}")
    sample_invoices = base.invoices[:: max(1, len(base.invoices) // sample)]
    stored, computed = _recomputed(
        sample_invoices,
        [
            "commercial_partner_id",
            "invoice_partner_display_name",
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
        ["partner_id", "amount_residual", "amount_residual_currency", "reconciled"],
    )
    if stored != computed:
        raise AssertionError(f"invoice lines recomputed differ: {stored} != {computed}")
    env.invalidate_all()
    return {
        "receivable": base.expected_receivable,
        "sampled_customers": len(sample_partners),
        "sampled_invoices": len(sample_invoices),
    }
