"""One full follow-up run (the scheduled action) over many customers sharing many
open invoices: the levels of the default follow-up policy applied (emails queued,
letters and invoices printed, activities, credit holds). Prints its time and SQL
query count, per batch of customers and per customer, and the queries and time of
each call, by level.

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run [--only followup_run] [--small] [--partners N] [--invoices N]
                   [--no-documents] [--log-queries]

Nothing is sent: the engine queues its emails (mail_notify_force_send=False) for
the mail scheduler, which never runs here, and the SMTP server is a closed port,
so that what Odoo sends at once (the notification of an activity assigned to
someone else) fails and shows in the figures.
"""

import contextlib
import functools
import importlib
import os
import sys
import threading
import time

import common

from odoo import fields

BENCHMARK = "followup_run"
# Data size options: default, with --small, help.
SIZES = {
    "partners": (10_000, 200, "customers, companies with an email"),
    "invoices": (100_000, 2_000, "open customer invoices, shared out among the customers"),
}
FLAGS = {
    "no-documents": "levels without letters nor invoices attached: no PDF rendering "
    "(wkhtmltopdf, about a second a PDF), for a quicker run",
}
COMPANY_EMAIL = "accounts@bench.example.com"
# SMTP: a closed port on the loopback. No HTTP server runs here: wkhtmltopdf
# cannot load the reports' stylesheets and warns of it at each PDF (made anyway),
# warnings left out.
ODOO_OPTIONS = (
    "--smtp",
    "127.0.0.1",
    "--smtp-port",
    "1",
    "--log-handler",
    "odoo.addons.base.models.ir_actions_report:ERROR",
)
# Methods whose queries and time are counted, by call path: (model, method).
# The engine's own first, then what it calls for each customer.
PROFILED = (
    ("credit.followup.engine", "_cron_run"),
    ("credit.promise", "_update_promises"),
    ("credit.followup.engine", "_candidate_partner_ids"),
    ("credit.followup.engine", "_run_batch"),
    ("credit.followup.engine", "_get_states"),
    ("credit.followup.engine", "_line_figures"),
    ("credit.followup.engine", "_end_episode"),
    ("credit.followup.engine", "_apply_level_safely"),
    ("credit.exposure", "_lock_partners"),
    ("credit.followup.engine", "_apply_level"),
    ("res.partner", "_get_followup_lines"),
    ("credit.followup.history", "create"),
    ("credit.followup.engine", "_send_email"),
    ("res.partner", "_get_followup_recipients"),
    ("mail.template", "_generate_template"),
    ("res.partner", "message_post"),
    ("credit.followup.engine", "_print_letter"),
    ("credit.followup.engine", "_invoice_attachments"),
    ("ir.actions.report", "_render_qweb_pdf"),
    ("ir.actions.report", "_run_wkhtmltopdf"),
    ("credit.followup.engine", "_schedule_activity"),
    ("res.partner", "activity_schedule"),
    ("credit.followup.engine", "_invoice_fee"),
)
# A progress line at most every so many seconds.
PROGRESS_SECONDS = 30
# Calls whose SQL is printed with --log-queries (the last call of each path).
LOGGED = {"_candidate_partner_ids", "_get_states", "_end_episode", "_apply_level_safely"}
# What happens to each customer: the actions of a level, or the end of an episode.
PER_CUSTOMER = {"_apply_level_safely", "_end_episode"}


# ----------------------------------------------------------------------
# Queries and time by call path
# ----------------------------------------------------------------------


class CallProfile:
    """Queries (of every cursor of this thread), SQL time and wall time of the
    profiled methods, inclusive, by call path. The methods are wrapped on the
    registry's model classes for the duration of the block of ``profiling``."""

    def __init__(self, log_queries=False):
        self.queries = 0
        self.sql_seconds = 0.0
        self.candidates = 0  # customers _candidate_partner_ids returned
        self.batches = self.done = 0  # batches and customers run
        self._start = self._last_progress = time.perf_counter()
        self.stats = {}  # path: {calls, queries, sql_seconds, seconds}
        self.sql = {}  # path: SQL of its last call (with log_queries, LOGGED labels)
        self.log_queries = log_queries
        self._stack = []
        self._capturing = []  # SQL lists of the calls being logged

    def _hook(self, cr, query, params, start, delay):
        self.queries += 1
        self.sql_seconds += delay
        if self._capturing:
            text = query.decode() if isinstance(query, bytes) else str(query)
            text = " ".join(text.split())
            for queries in self._capturing:
                queries.append(text)

    @contextlib.contextmanager
    def _call(self, label):
        self._stack.append(label)
        path = tuple(self._stack)
        stat = self.stats.setdefault(
            path, {"calls": 0, "queries": 0, "sql_seconds": 0.0, "seconds": 0.0}
        )
        capture = self.log_queries and label.split(" ", 1)[0] in LOGGED
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

    def _progress(self, batch_partners):
        """A line every PROGRESS_SECONDS at most, for long runs."""
        self.done += len(batch_partners)
        self.batches += 1
        now = time.perf_counter()
        if now - self._last_progress >= PROGRESS_SECONDS:
            self._last_progress = now
            print(
                f"  batch {self.batches:,}: {self.done:,} of {self.candidates:,} customers, "
                f"{self.queries:,} queries, {now - self._start:,.0f} s",
                flush=True,
            )

    def _wrap(self, cls, method, label):
        original = getattr(cls, method)
        profile = self

        @functools.wraps(original)
        def wrapper(record, *args, **kwargs):
            with profile._call(label(args, kwargs) if callable(label) else label):
                result = original(record, *args, **kwargs)
            if method == "_candidate_partner_ids":
                profile.candidates += len(result)
            elif method == "_run_batch":
                profile._progress(args[0])
            return result

        return wrapper

    @contextlib.contextmanager
    def profiling(self, env, cr, level_names):
        """Profiles PROFILED, the commits of cr and every query of this thread."""
        thread = threading.current_thread()
        previous_hooks = getattr(thread, "query_hooks", ())
        with contextlib.ExitStack() as stack:
            for model, method in PROFILED:
                cls = type(env[model])
                if not callable(getattr(cls, method, None)):
                    print(f"Not profiled: {model}.{method} does not exist")
                    continue
                label = method
                if method == "_apply_level_safely":

                    def label(args, kwargs, method=method):
                        level = kwargs["level"] if "level" in kwargs else args[2]
                        return f"{method} [{level_names.get(level.id, level.id)}]"

                own = vars(cls).get(method)
                setattr(cls, method, self._wrap(cls, method, label))
                if own is None:
                    stack.callback(delattr, cls, method)
                else:
                    stack.callback(setattr, cls, method, own)
            commit = cr.commit
            cr.commit = self._wrap_commit(commit)
            stack.callback(delattr, cr, "commit")
            thread.query_hooks = (*previous_hooks, self._hook)
            stack.callback(setattr, thread, "query_hooks", previous_hooks)
            self._start = self._last_progress = time.perf_counter()
            yield self

    def _wrap_commit(self, commit):
        @functools.wraps(commit)
        def wrapper():
            with self._call("commit (flush, commit, post-commit hooks)"):
                return commit()

        return wrapper

    def total(self, label):
        """Calls and queries of the paths ending with a label starting with label."""
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


def print_profile(profile, file=None):
    file = file or sys.stdout
    header = ("call", "calls", "queries", "queries/call", "s", "s/call", "SQL s")
    lines = [header]
    for path, stat in profile.rows():
        calls = stat["calls"]
        lines.append(
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
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]

    def line(row):
        cells = [
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(cells) + " |"

    print(line(lines[0]), file=file)
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|", file=file)
    for row in lines[1:]:
        print(line(row), file=file)


def print_logged_queries(profile, file=None):
    file = file or sys.stdout
    for path, queries in profile.sql.items():
        print(f"\n-- {' > '.join(path)}: {len(queries)} queries (last call)", file=file)
        for index, query in enumerate(queries, 1):
            print(f"{index:4d}. {query[:300]}", file=file)


def print_rows(header, rows, file=None):
    file = file or sys.stdout
    lines = [header, *rows]
    widths = [max(len(str(line[column])) for line in lines) for column in range(len(header))]
    cells = [str(cell).ljust(width) for cell, width in zip(header, widths, strict=True)]
    print("| " + " | ".join(cells) + " |", file=file)
    print("|" + "|".join("-" * (width + 2) for width in widths) + "|", file=file)
    for row in rows:
        cells = [
            str(cell).ljust(width) if index == 0 else str(cell).rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        print("| " + " | ".join(cells) + " |", file=file)


# ----------------------------------------------------------------------
# Set-up and outcome
# ----------------------------------------------------------------------


def prepare_company(company, no_documents=False):
    """An email to send from, and the default follow-up policy (with no_documents,
    without letters nor invoices attached)."""
    if not company.email:
        company.email = COMPANY_EMAIL
    company._credit_create_default_followup_policy()
    policy = company.env["credit.followup.policy"]._get_company_default(company)
    levels = policy._get_levels()
    assert levels, f"{company.name} has no follow-up levels"
    if no_documents:
        levels.write({"send_letter": False, "attach_invoices": False})
    return policy, levels


def expected_levels(env, base, levels):
    """{level id: customers}: the level each customer's oldest invoice has reached
    today, from the generated data (all open, nothing excluded, no minimum)."""
    today = fields.Date.context_today(env.user)
    env.cr.execute(
        """
        SELECT partner_id, MIN(invoice_date_due) FROM account_move
         WHERE id = ANY(%s) GROUP BY partner_id
        """,
        [base.invoices.ids],
    )
    expected = dict.fromkeys(levels.ids, 0)
    for _partner_id, oldest_due in env.cr.fetchall():
        days = (today - oldest_due).days
        reached = [level for level in levels if level.delay <= days]
        if reached:
            expected[reached[-1].id] += 1
    return expected


def snapshot(env, base):
    """Counts of what a run creates, and the last mail.mail id: {figure: count}."""
    partner_ids = base.partners.ids
    company_key = str(base.company.id)
    env.flush_all()
    queries = {
        "histories": ("SELECT count(*) FROM credit_followup_history", []),
        "last_mail_id": ("SELECT COALESCE(MAX(id), 0) FROM mail_mail", []),
        "messages": (
            "SELECT count(*) FROM mail_message WHERE model = 'res.partner' AND res_id = ANY(%s)",
            [partner_ids],
        ),
        "activities": (
            "SELECT count(*) FROM mail_activity WHERE res_model = 'res.partner' "
            "AND res_id = ANY(%s)",
            [partner_ids],
        ),
        "pdf_attachments": (
            "SELECT count(*) FROM ir_attachment WHERE mimetype = 'application/pdf'",
            [],
        ),
        "credit_holds": (
            "SELECT count(*) FROM res_partner WHERE id = ANY(%s) AND (credit_hold ->> %s)::boolean",
            [partner_ids, company_key],
        ),
    }
    counts = {}
    for name, (query, params) in queries.items():
        env.cr.execute(query, params)
        counts[name] = env.cr.fetchone()[0]
    return counts


def outcome(env, base, before):
    """What the run created: ({figure: count}, {level id: {history state: count}},
    {"message type, mail state": mail.mail count})."""
    after = snapshot(env, base)
    created = {name: after[name] - before[name] for name in after if name != "last_mail_id"}
    env.cr.execute(
        """
        SELECT level_id, state, count(*) FROM credit_followup_history
         WHERE partner_id = ANY(%s) GROUP BY level_id, state
        """,
        [base.partners.ids],
    )
    histories = {}
    for level_id, state, count in env.cr.fetchall():
        histories.setdefault(level_id, {})[state] = count
    env.cr.execute(
        """
        SELECT message.message_type, mail.state, count(*)
          FROM mail_mail mail JOIN mail_message message ON message.id = mail.mail_message_id
         WHERE mail.id > %s
      GROUP BY message.message_type, mail.state ORDER BY 1, 2
        """,
        [before["last_mail_id"]],
    )
    mails = {f"{message_type}, {state}": count for message_type, state, count in env.cr.fetchall()}
    created["mail_mail"] = sum(mails.values())
    created["mail_mail_outgoing"] = sum(
        count for kind, count in mails.items() if kind.endswith(", outgoing")
    )
    return created, histories, mails


# ----------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------


def main():
    args = common.parse_args(__doc__.split("\n\n")[0], SIZES, flags=FLAGS)
    if args.invoices < args.partners:
        print("--invoices must be at least --partners: one invoice each", file=sys.stderr)
        return 2
    args.repeat = 1  # one run: it changes what the next one would do
    with common.odoo_env(args, ODOO_OPTIONS) as env:
        # importable once the registry is loaded (the addons path set)
        engine_module = importlib.import_module(
            "odoo.addons.credit_collections.models.credit_followup_engine"
        )
        batch_size = engine_module.BATCH_SIZE
        company = env.ref("base.main_company")
        policy, levels = prepare_company(company, args.no_documents)
        level_names = {level.id: level.name for level in levels}
        print(
            f"Generating {args.partners:,} customers and {args.invoices:,} invoices...", flush=True
        )
        # The collector of every customer: its salesperson.
        salesperson = env.ref("base.user_admin")
        base = common.generate_customers(
            env, company, args.partners, args.invoices, salesperson=salesperson
        )
        env.cr.commit()
        size = common.database_size(env)
        print(
            f"Generated {base.describe()} in {base.seconds:.1f} s; "
            f"database size {size / 2**20:.0f} MB"
        )
        checks = common.check_customers(env, base)
        print(
            "Data checked with Odoo's figures: receivable {receivable:,.2f}; res.partner.credit "
            "of {sampled_customers} customers equals the sum of their invoices' residual".format(
                **checks
            )
        )
        expected = expected_levels(env, base, levels)
        missing = [level_names[level_id] for level_id, count in expected.items() if not count]
        if missing:
            print(f"Warning: no customer reaches {', '.join(missing)}: more customers needed")

        before = snapshot(env, base)
        env.cr.commit()
        env.invalidate_all()
        profile = CallProfile(log_queries=args.log_queries)
        print(
            f"Running the follow-ups ({policy.name}"
            + (", without letters nor invoices attached" if args.no_documents else "")
            + f", batches of {batch_size}, committed one by one)...",
            flush=True,
        )
        with profile.profiling(env, env.cr, level_names):
            cr_before = env.cr.sql_log_count
            start = time.perf_counter()
            env["res.partner"]._cron_run_followups()
            env.flush_all()
            seconds = time.perf_counter() - start
            cr_queries = env.cr.sql_log_count - cr_before
        env.cr.commit()
        queries = profile.queries
        created, histories, mails = outcome(env, base, before)

        batches, batch_queries = profile.total("_run_batch")
        per_customer_calls = per_customer_queries = 0
        for label in PER_CUSTOMER:
            calls, label_queries = profile.total(label)
            per_customer_calls += calls
            per_customer_queries += label_queries
        # Choosing the customers and computing their states: what must not grow
        # with the customers, only with the batches.
        selection_queries = (
            profile.total("_update_promises")[1]
            + profile.total("_candidate_partner_ids")[1]
            + batch_queries
            - per_customer_queries
        )
        commit_queries = profile.total("commit")[1]
        summary = {
            "customers": len(base.partners),
            "invoices": len(base.invoices),
            "candidates": profile.candidates,
            "batches": batches,
            "customers_actioned": per_customer_calls,
            "histories_created": created["histories"],
            "mail_mail_created": created["mail_mail"],
            "mail_mail_outgoing": created["mail_mail_outgoing"],
            **{f"mail_mail ({kind})": count for kind, count in mails.items()},
            "messages_posted": created["messages"],
            "activities_created": created["activities"],
            "pdf_attachments_created": created["pdf_attachments"],
            "credit_holds_set": created["credit_holds"],
            "seconds": round(seconds, 3),
            "sql_seconds": round(profile.sql_seconds, 3),
            "queries": queries,
            "queries_of_the_cursor": cr_queries,
            "queries_of_other_cursors": queries - cr_queries,
            "queries_per_batch": round(queries / max(batches, 1), 1),
            "queries_per_customer": round(queries / len(base.partners), 2),
            "selection_and_state_queries": selection_queries,
            "selection_and_state_queries_per_batch": round(selection_queries / max(batches, 1), 1),
            "per_customer_action_queries": per_customer_queries,
            "queries_per_customer_actioned": round(
                per_customer_queries / max(per_customer_calls, 1), 2
            ),
            "commit_queries (flush, post-commit)": commit_queries,
        }

        print(f"\nOne full follow-up run, {base.describe()}:\n")
        print_rows(("figure", "value"), [(name, f"{value:,}") for name, value in summary.items()])
        print("\nFollow-up levels (customers reaching each, from the data; histories created):\n")
        level_rows = []
        for level in levels:
            states = histories.get(level.id, {})
            level_rows.append(
                (
                    f"{level.name} ({level.delay:+d} days)",
                    expected[level.id],
                    sum(states.values()),
                    ", ".join(f"{state} {count}" for state, count in sorted(states.items())),
                )
            )
        print_rows(("level", "customers", "histories", "history states"), level_rows)
        print("\nQueries and time by call (inclusive; every cursor of the thread):\n")
        print_profile(profile)
        if args.log_queries:
            print_logged_queries(profile)

        errors = sum(states.get("error", 0) for states in histories.values())
        problems = []
        if errors:
            problems.append(f"{errors} follow-ups failed (history state error)")
        not_queued = created["mail_mail"] - created["mail_mail_outgoing"]
        if not_queued:
            problems.append(
                f"{not_queued} emails sent at once, not queued: "
                + ", ".join(f"{kind} {count}" for kind, count in mails.items())
            )
        for level in levels:
            if sum(histories.get(level.id, {}).values()) != expected[level.id]:
                problems.append(f"{level.name}: histories differ from the customers reaching it")
        for problem in problems:
            print(f"Problem: {problem}")

        if args.results_dir:
            name = args.name or f"{BENCHMARK}_{args.partners}x{args.invoices}" + (
                "_no_documents" if args.no_documents else ""
            )
            measurement = common.Measurement(
                seconds=seconds, queries=queries, runs=[seconds], query_counts=[queries]
            )
            data = {
                **summary,
                "no_documents": args.no_documents,
                "batch_size": batch_size,
                "generation_seconds": round(base.seconds, 3),
                "database_size_bytes": size,
                "checks": checks,
                "levels": {
                    level_names[level.id]: {
                        "delay": level.delay,
                        "customers": expected[level.id],
                        "histories": histories.get(level.id, {}),
                    }
                    for level in levels
                },
                "calls": [
                    {"path": list(path), **{key: round(value, 4) for key, value in stat.items()}}
                    for path, stat in profile.rows()
                ],
                "problems": problems,
            }
            result = common.Result("full follow-up run (_cron_run)", base.describe(), measurement)
            path = common.write_json(
                os.path.join(args.results_dir, name + ".json"),
                BENCHMARK,
                env,
                args,
                data,
                [result],
            )
            print(f"\nResults written to {os.path.relpath(path)}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
