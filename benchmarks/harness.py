"""The harness of the credit_collections benchmarks: everything a benchmark
script needs but its operations.

- Options (``parse_args``): the connection set by ``benchmarks/run``, the data
  sizes, ``--small``, ``--repeat``, ``--results-dir``, ``--log-queries``, the
  switches, and a script's own options.
- Odoo in-process on the database prepared by ``benchmarks/run``
  (``odoo_env``, ``ODOO_OPTIONS`` for the runs that queue mail).
- Counting: ``measure`` (median wall time and SQL query count of an operation,
  the ORM cache emptied before every repetition), ``query_hook`` (every query of
  the thread), ``count_rows`` (what a run created), ``CallProfile`` (queries and
  time by call path of named model methods, which must exist).
- Results: ``Result`` rows, each operation next to its peer (Odoo's own
  computation, or another module's) on the same data, printed as a table
  (``print_table``) and written as JSON (``write_json``, ``result_path``).

A benchmark script parses its options with ``parse_args``, bootstraps Odoo with
``odoo_env``, builds its data (``dataset.generate``), measures its operations
and reports them; its ``main`` runs through ``run_main``, which turns a
``BenchmarkError`` into a message and exit status 1.
"""

import argparse
import contextlib
import datetime
import functools
import json
import os
import platform
import statistics
import sys
import threading
import time
from dataclasses import asdict, dataclass, field

import odoo
from odoo import SUPERUSER_ID, api

# Data size options of the benchmarks. benchmarks/run gives its options to every
# benchmark: each reads the ones it declares to parse_args, with its own
# defaults, and ignores the others.
SIZE_OPTIONS = ("partners", "invoices", "orders")
# Switches of some benchmarks, ignored likewise by the others.
FLAG_OPTIONS = ("no-documents",)
# Odoo's options of a run that queues mail: SMTP a closed port on the loopback,
# so that nothing is sent. No HTTP server runs here: wkhtmltopdf cannot load the
# reports' stylesheets and warns of it at each PDF (made anyway), warnings left
# out.
ODOO_OPTIONS = (
    "--smtp",
    "127.0.0.1",
    "--smtp-port",
    "1",
    "--log-handler",
    "odoo.addons.base.models.ir_actions_report:ERROR",
)


class BenchmarkError(Exception):
    """A benchmark that cannot run as written (run_main: message, exit status 1)."""


def run_main(main):
    """main()'s exit status; a BenchmarkError is printed and gives 1."""
    try:
        return main()
    except BenchmarkError as error:
        print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr, flush=True)
        return 1


def say(text=""):
    """Writes a line to the standard output at once (progress of long runs)."""
    sys.stdout.write(f"{text}\n")
    sys.stdout.flush()


# ----------------------------------------------------------------------
# Options and Odoo bootstrap
# ----------------------------------------------------------------------


def parse_args(description, sizes, argv=None, flags=None, add_options=None):
    """Options shared by every benchmark script: connection, data size, repetitions.

    :param sizes: {option: (default, value with --small, help)}: the data size
        options this benchmark reads (keys of SIZE_OPTIONS). The size options of
        the other benchmarks, given to every benchmark by benchmarks/run, are
        accepted and ignored. A size given explicitly wins over --small.
    :param flags: {switch: help}: the switches of FLAG_OPTIONS this benchmark
        reads; the others are accepted and ignored
    :param add_options: add_options(parser): the script's own options
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
    if add_options:
        add_options(parser)
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


# ----------------------------------------------------------------------
# Counting: queries, time, rows
# ----------------------------------------------------------------------


@contextlib.contextmanager
def query_hook(hook):
    """hook(cr, query, params, start, delay) called at every query of this
    thread (every cursor) in the block."""
    thread = threading.current_thread()
    previous = getattr(thread, "query_hooks", ())
    thread.query_hooks = (*previous, hook)
    try:
        yield
    finally:
        thread.query_hooks = previous


def query_text(query):
    """A query's SQL text on one line, without its parameters."""
    text = query.decode() if isinstance(query, bytes) else str(query)
    return " ".join(text.split())


@contextlib.contextmanager
def _query_log():
    """Collects the SQL text (without parameters) of every query run in the block."""
    queries = []

    def hook(cr, query, params, start, delay):
        queries.append(query_text(query))

    with query_hook(hook):
        yield queries


def count_rows(env, queries):
    """{name: count} of queries ({name: SQL returning one number, or (SQL,
    params)}), pending writes flushed first: what a run creates, by the
    difference of two counts."""
    env.flush_all()
    counts = {}
    for name, query in queries.items():
        sql, params = query if isinstance(query, tuple) else (query, [])
        env.cr.execute(sql, params)
        counts[name] = env.cr.fetchone()[0]
    return counts


@dataclass
class Measurement:
    seconds: float  # median wall time
    queries: int  # median SQL query count (the same for every repetition, normally)
    runs: list = field(default_factory=list)  # wall time of each repetition
    query_counts: list = field(default_factory=list)  # queries of each repetition
    sql: list = field(default_factory=list)  # queries of the last repetition

    @classmethod
    def once(cls, seconds, queries):
        """A measurement of one run (that changes what a next run would do)."""
        return cls(seconds=seconds, queries=queries, runs=[seconds], query_counts=[queries])

    @classmethod
    def from_dict(cls, values):
        """A measurement as written by write_json (unknown keys left out)."""
        return cls(
            **{key: value for key, value in values.items() if key in cls.__dataclass_fields__}
        )


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


class CallProfile:
    """Queries (of every cursor of this thread), SQL time and wall time of model
    methods, inclusive, by call path, and of the commits of a cursor. The
    methods are wrapped on the registry's model classes for the duration of the
    block of ``profiling``; every one must exist (``missing_methods``), else
    BenchmarkError.

    Subclasses name a call (``label``) and see its result (``returned``).
    """

    def __init__(self, methods, logged=(), log_queries=False, where="profiled"):
        """
        :param methods: ((model, method), ...) profiled
        :param logged: method names whose SQL is kept with log_queries (the
            last call of each path)
        :param where: what the methods are, for the message when some do not
            exist
        """
        self.methods = tuple(methods)
        self.where = where
        self.logged = set(logged)
        unknown = self.logged - {method for _model, method in self.methods}
        assert not unknown, f"logged but not profiled: {unknown}"
        self.queries = 0
        self.sql_seconds = 0.0
        self.stats = {}  # path: {calls, queries, sql_seconds, seconds}
        self.sql = {}  # path: SQL of its last call (with log_queries, logged methods)
        self.log_queries = log_queries
        self._stack = []
        self._capturing = []  # SQL lists of the calls being logged

    def label(self, method, args, kwargs):
        """The name of a call in the paths."""
        return method

    def returned(self, method, args, kwargs, result):
        """Called after each call of a profiled method."""

    def _hook(self, cr, query, params, start, delay):
        self.queries += 1
        self.sql_seconds += delay
        if self._capturing:
            text = query_text(query)
            for queries in self._capturing:
                queries.append(text)

    @contextlib.contextmanager
    def _call(self, label):
        self._stack.append(label)
        path = tuple(self._stack)
        stat = self.stats.setdefault(
            path, {"calls": 0, "queries": 0, "sql_seconds": 0.0, "seconds": 0.0}
        )
        capture = self.log_queries and label.split(" ", 1)[0] in self.logged
        if capture:
            queries_of_call = []
            self._capturing.append(queries_of_call)
        queries, sql_seconds, start = self.queries, self.sql_seconds, time.perf_counter()
        try:
            yield
        finally:
            stat["calls"] += 1
            stat["queries"] += self.queries - queries
            stat["sql_seconds"] += self.sql_seconds - sql_seconds
            stat["seconds"] += time.perf_counter() - start
            if capture:
                self._capturing.remove(queries_of_call)
                self.sql[path] = queries_of_call  # the last call: caches warm
            self._stack.pop()

    def _wrap(self, original, method):
        profile = self

        @functools.wraps(original)
        def wrapper(record, *args, **kwargs):
            with profile._call(profile.label(method, args, kwargs)):
                result = original(record, *args, **kwargs)
            profile.returned(method, args, kwargs, result)
            return result

        return wrapper

    def _wrap_commit(self, commit):
        @functools.wraps(commit)
        def wrapper():
            with self._call("commit (flush, commit, post-commit hooks)"):
                return commit()

        return wrapper

    @contextlib.contextmanager
    def profiling(self, env, cr):
        """Profiles the methods, the commits of cr and every query of this thread."""
        require_methods(env, self.methods, self.where)
        with contextlib.ExitStack() as stack:
            for model, method in self.methods:
                cls = type(env[model])
                own = vars(cls).get(method)
                setattr(cls, method, self._wrap(getattr(cls, method), method))
                if own is None:
                    stack.callback(delattr, cls, method)
                else:
                    stack.callback(setattr, cls, method, own)
            cr.commit = self._wrap_commit(cr.commit)
            stack.callback(delattr, cr, "commit")
            stack.enter_context(query_hook(self._hook))
            yield self

    def total(self, label):
        """Calls and queries of the paths ending with a label starting with label
        (a profiled method, or "commit")."""
        assert label == "commit" or any(label == method for _model, method in self.methods), (
            f"{label} is not profiled"
        )
        calls = queries = 0
        for path, stat in self.stats.items():
            if path[-1].split(" ", 1)[0] == label:
                calls += stat["calls"]
                queries += stat["queries"]
        return calls, queries

    def rows(self):
        """The call tree, each path after its parent, in the order first called."""
        order = list(self.stats)
        rows = []

        def children(parent):
            return [path for path in order if path[:-1] == parent]

        def visit(path):
            rows.append((path, self.stats[path]))
            for child in children(path):
                visit(child)

        for root in children(()):
            visit(root)
        return rows

    def print(self, file=None):
        rows = []
        for path, stat in self.rows():
            calls = stat["calls"]
            rows.append(
                (
                    "  " * (len(path) - 1) + path[-1],
                    f"{calls:,}",
                    f"{stat['queries']:,}",
                    f"{stat['queries'] / calls:.1f}",
                    f"{stat['seconds']:.2f}",
                    f"{stat['seconds'] / calls:.4f}",
                    f"{stat['sql_seconds']:.2f}",
                )
            )
        header = ("call", "calls", "queries", "queries/call", "s", "s/call", "SQL s")
        print_grid(header, rows, right=range(1, len(header)), file=file)

    def print_logged_queries(self, file=None):
        file = file or sys.stdout
        for path, queries in self.sql.items():
            print(f"\n-- {' > '.join(path)}: {len(queries)} queries (last call)", file=file)
            for index, query in enumerate(queries, 1):
                print(f"{index:4d}. {query[:300]}", file=file)


def run_scheduled_action(env, cron, max_calls=10_000):
    """A scheduled action run to its end as Odoo 18's scheduler runs it: one call
    (one batch), a commit, and again while the call reports work left
    (ir.cron._notify_progress).

    :return: the number of calls
    """
    for calls in range(1, max_calls + 1):
        cron.method_direct_trigger()
        env.cr.commit()
        progress = env["ir.cron.progress"].search(
            [("cron_id", "=", cron.id)], order="id desc", limit=1
        )
        if not progress.remaining:
            return calls
    raise BenchmarkError(f"{cron.name} did not finish in {max_calls} calls")


def missing_methods(env, methods):
    """The "model.method" of methods ((model, method), ...) that do not exist
    in env's registry."""
    missing = []
    for model, method in methods:
        if model not in env.registry:
            missing.append(f"{model}.{method} (no model {model})")
        elif not callable(getattr(type(env[model]), method, None)):
            missing.append(f"{model}.{method}")
    return missing


def require_methods(env, methods, where="profiled"):
    """BenchmarkError naming every method of methods that does not exist.

    :param where: what the methods are, for the message
    """
    missing = missing_methods(env, methods)
    if missing:
        raise BenchmarkError(
            f"{len(missing)} {where} method(s) do not exist in database {env.cr.dbname}: "
            + ", ".join(missing)
        )


# ----------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------


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

    def as_dict(self, **extra):
        """The row of write_json, and extra keys."""
        return {
            "operation": self.operation,
            "size": self.size,
            "measurement": asdict(self.measurement),
            "peer": self.peer or None,
            "peer_measurement": asdict(self.peer_measurement) if self.peer_measurement else None,
            "ratio": self.ratio,
            **extra,
        }


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


def print_grid(header, rows, right=(), right_header=True, file=None):
    """A Markdown table: the columns of right right-aligned (their header too
    unless right_header is false), the others left-aligned."""
    file = file or sys.stdout
    right = set(right)
    lines = [tuple(map(str, header)), *(tuple(map(str, row)) for row in rows)]
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]

    def line(row, right):
        cells = [
            cell.rjust(width) if index in right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    print(line(lines[0], right if right_header else ()), file=file)
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|", file=file)
    for row in lines[1:]:
        print(line(row, right), file=file)


def print_rows(header, rows, file=None):
    """A table of a label and figures: the figures right-aligned, the header left."""
    print_grid(header, rows, right=range(1, len(header)), right_header=False, file=file)


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
    print_grid(TABLE_COLUMNS, map(_table_row, results), right={2, 3, 5, 6, 7}, file=file)


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


def result_path(args, benchmark, sizes=SIZE_OPTIONS, no_documents=False):
    """results_dir/<benchmark>_<sizes>[_no_documents].json (--name instead of
    the name when given); None without --results-dir."""
    if not args.results_dir:
        return None
    name = args.name
    if not name:
        name = f"{benchmark}_" + "x".join(str(getattr(args, size)) for size in sizes)
        name += "_no_documents" if no_documents else ""
    return os.path.join(args.results_dir, name + ".json")


def write_json(path, benchmark, env, args, data, results):
    """Writes the results (Result) and what they were measured on as JSON; says
    where; returns path."""
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
        "results": [result.as_dict() for result in results],
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, default=str)
        stream.write("\n")
    say(f"\nResults written to {os.path.relpath(path)}")
    return path
