"""One full follow-up run (the scheduled action) over the data set of the
benchmarks (dataset.generate_dataset): the levels of the default follow-up policy
applied (emails queued, letters and invoices printed, activities, credit holds).
Prints its time and SQL
query count, per batch of customers and per customer, and the queries and time of
each call, by level.

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run --only followup_run [--small] [--partners N] [--invoices N]
                   [--orders N] [--no-documents] [--log-queries]
benchmarks/suite.py runs it too, with the other operations, through run_followups.

Nothing is sent: the engine queues its emails (mail_notify_force_send=False) for
the mail scheduler, which never runs here, and the SMTP server is a closed port
(harness.ODOO_OPTIONS), so that what Odoo sends at once (the notification of an
activity assigned to someone else) fails and shows in the figures.

The methods profiled (PROFILED) must all exist: the run stops with exit status 1
and names the missing ones otherwise (before generating the data).
"""

import sys
import time

import dataset
import harness

from odoo import fields, models

BENCHMARK = "followup_run"
FLAGS = {
    "no-documents": "levels without letters nor invoices attached: no PDF rendering "
    "(wkhtmltopdf, about a second a PDF), for a quicker run",
}
# The methods whose queries and time are counted, by call path: (model, method).
# Every one must exist (harness.require_methods). The engine's own first, then
# what it calls for each batch of customers.
PROFILED = (
    ("credit.followup.engine", "_cron_run"),
    ("credit.followup.engine", "_run_batch"),
    ("credit.followup.engine", "_get_states"),
    ("credit.followup.engine", "_candidate_partner_ids"),
    ("credit.followup.engine", "_apply_levels_safely"),
    ("res.partner", "_followup_claim"),
    ("credit.followup.engine", "_end_episode"),
    ("credit.promise", "_update_promises"),
    ("account.move.line", "_followup_figures"),
    ("account.move", "_credit_ensure_pdf_reports"),
    ("credit.followup.history", "_create_batch"),
    ("credit.followup.history", "_run_actions"),
    ("credit.followup.history", "_action_print_letter"),
    ("credit.followup.history", "_action_send_email"),
    ("credit.followup.history", "_action_schedule_activity"),
    ("credit.followup.history", "_action_set_credit_hold"),
    ("credit.followup.history", "_action_invoice_fee"),
    ("credit.followup.history", "_action_request_manual_action"),
    ("credit.followup.history", "_mark_items_followed_up"),
    ("ir.actions.report", "_credit_render_pdfs"),
    ("account.move.line", "_followup_items_by_partner"),
    ("res.partner", "_get_followup_lines"),
)
PROFILED_WHERE = "profiled (PROFILED of benchmarks/followup_run.py)"
# What some of PROFILED are to the report (method names of PROFILED, checked):
# the customers to follow up (its result counted), one batch of customers (its
# first argument: progress lines), choosing the customers and computing their
# states (what must not grow with the customers, only with the batches), and
# the calls whose SQL is printed with --log-queries (the last call of each path).
CANDIDATES = "_candidate_partner_ids"
BATCH = "_run_batch"
SELECTION = (CANDIDATES, "_get_states")
LOGGED = (CANDIDATES, "_get_states", "_end_episode", "_apply_levels_safely")
assert {CANDIDATES, BATCH, *SELECTION, *LOGGED} <= {method for _model, method in PROFILED}
# A call given one follow-up level is named after it: "method [level name]".
LEVEL_MODEL = "credit.followup.level"
# A progress line at most every so many seconds.
PROGRESS_SECONDS = 30


# ----------------------------------------------------------------------
# Queries and time by call path
# ----------------------------------------------------------------------


class FollowupProfile(harness.CallProfile):
    """harness.CallProfile of PROFILED, counting the candidates and the batches,
    with a progress line every PROGRESS_SECONDS at most."""

    def __init__(self, level_names, log_queries=False):
        super().__init__(PROFILED, LOGGED, log_queries, PROFILED_WHERE)
        self.level_names = level_names  # {level id: name}, read before the run
        # Customers CANDIDATES returned: each call of the scheduled action asks
        # for the next batch and one more (to know whether to be called again).
        self.candidate_ids = set()
        self.batches = self.done = 0  # batches and customers run
        self._start = self._last_progress = time.perf_counter()

    def label(self, method, args, kwargs):
        for value in (*args, *kwargs.values()):
            if isinstance(value, models.BaseModel) and value._name == LEVEL_MODEL:
                if len(value) == 1:
                    return f"{method} [{self.level_names.get(value.id, value.id)}]"
        return method

    def returned(self, method, args, kwargs, result):
        if method == CANDIDATES:
            self.candidate_ids.update(result)
        elif method == BATCH:
            self._progress(args[0] if args else kwargs["partners"])

    def _progress(self, batch_partners):
        self.done += len(batch_partners)
        self.batches += 1
        now = time.perf_counter()
        if now - self._last_progress >= PROGRESS_SECONDS:
            self._last_progress = now
            print(
                f"  batch {self.batches:,}: {self.done:,} of {len(self.candidate_ids):,} "
                f"customers, {self.queries:,} queries, {now - self._start:,.0f} s",
                flush=True,
            )

    def profiling(self, env, cr):
        self._start = self._last_progress = time.perf_counter()
        return super().profiling(env, cr)


# ----------------------------------------------------------------------
# Set-up and outcome
# ----------------------------------------------------------------------


def prepare_company(company, no_documents=False):
    """An email to send from, and the default follow-up policy (with no_documents,
    without letters nor invoices attached)."""
    if not company.email:
        company.email = dataset.COMPANY_EMAIL
    # Every level in one run, as OCA's credit control does: the heaviest run,
    # and the one the peer comparison and expected_levels() measure.
    company.credit_followup_start_mode = "oldest_item"
    company._credit_create_default_followup_policy()
    policy = company.env["credit.followup.policy"]._get_company_default(company)
    levels = policy._get_levels()
    assert levels, f"{company.name} has no follow-up levels"
    if no_documents:
        levels.write({"send_letter": False, "attach_invoices": False})
    return policy, levels


def expected_levels(env, base, levels):
    """{level id: customers}: the level each customer's oldest open item (residual
    above zero) has reached today, from the data (nothing excluded, nothing paused,
    no promise), the company's minimum overdue amount applied as the engine does."""
    today = fields.Date.context_today(env.user)
    env.flush_all()
    env.cr.execute(
        """
        SELECT MIN(line.date_maturity),
               COALESCE(SUM(line.amount_residual) FILTER (WHERE line.date_maturity < %s), 0)
          FROM account_move_line line
          JOIN account_account account ON account.id = line.account_id
         WHERE line.partner_id = ANY(%s) AND line.company_id = %s
           AND account.account_type = 'asset_receivable' AND line.parent_state = 'posted'
           AND NOT line.reconciled AND line.amount_residual > 0
      GROUP BY line.partner_id
        """,
        [today, base.partners.ids, base.company.id],
    )
    rows = env.cr.fetchall()
    minimum = base.company.credit_followup_min_amount
    expected = dict.fromkeys(levels.ids, 0)
    for oldest_due, overdue in rows:
        days = (today - oldest_due).days
        reached = [level for level in levels if level.delay <= days]
        if reached and (reached[-1].delay < 0 or overdue >= minimum):
            expected[reached[-1].id] += 1
    return expected


def snapshot(env, base):
    """Counts of what a run creates, and the last mail.mail id: {figure: count}."""
    partner_ids = base.partners.ids
    company_key = str(base.company.id)
    queries = {
        "histories": "SELECT count(*) FROM credit_followup_history",
        "last_mail_id": "SELECT COALESCE(MAX(id), 0) FROM mail_mail",
        "messages": (
            "SELECT count(*) FROM mail_message WHERE model = 'res.partner' AND res_id = ANY(%s)",
            [partner_ids],
        ),
        "history_messages": (
            "SELECT count(*) FROM mail_message WHERE model = 'credit.followup.history'"
        ),
        "activities": (
            "SELECT count(*) FROM mail_activity WHERE res_model = 'res.partner' "
            "AND res_id = ANY(%s)",
            [partner_ids],
        ),
        "pdf_attachments": "SELECT count(*) FROM ir_attachment WHERE mimetype = 'application/pdf'",
        "credit_holds": (
            "SELECT count(*) FROM res_partner WHERE id = ANY(%s) AND (credit_hold ->> %s)::boolean",
            [partner_ids, company_key],
        ),
    }
    return harness.count_rows(env, queries)


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
# Measurement
# ----------------------------------------------------------------------


def run_followups(env, data, levels, run, log_queries=False):
    """Runs run() (a full follow-up run: the scheduled action, batches committed
    one by one) over data (dataset.DataSet) once, profiled, and checks what it did.

    :return: {seconds, queries, summary, levels, profile, problems}: summary the
        figures of the run; levels a row per level (customers reaching it from the
        data, histories created, their states); problems what is wrong (failed
        follow-ups, emails sent instead of queued, histories not matching the data)
    """
    level_names = {level.id: level.name for level in levels}
    expected = expected_levels(env, data, levels)
    before = snapshot(env, data)
    env.cr.commit()
    env.invalidate_all()
    profile = FollowupProfile(level_names, log_queries=log_queries)
    with profile.profiling(env, env.cr):
        cr_before = env.cr.sql_log_count
        start = time.perf_counter()
        run()
        env.flush_all()
        seconds = time.perf_counter() - start
        cr_queries = env.cr.sql_log_count - cr_before
    env.cr.commit()
    queries = profile.queries
    created, histories, mails = outcome(env, data, before)

    batches, _batch_queries = profile.total(BATCH)
    # Choosing the customers and computing their states: what must not grow with
    # the customers, only with the batches.
    selection_queries = sum(profile.total(method)[1] for method in SELECTION)
    actioned = created["histories"]
    summary = {
        "customers": len(data.partners),
        "invoices": len(data.invoices),
        "candidates": len(profile.candidate_ids),
        "batches": batches,
        "histories_created": created["histories"],
        "mail_mail_created": created["mail_mail"],
        "mail_mail_outgoing": created["mail_mail_outgoing"],
        **{f"mail_mail ({kind})": count for kind, count in mails.items()},
        "messages_posted": created["messages"],
        "messages_on_histories (emails)": created["history_messages"],
        "activities_created": created["activities"],
        "pdf_attachments_created": created["pdf_attachments"],
        "credit_holds_set": created["credit_holds"],
        "seconds": round(seconds, 3),
        "sql_seconds": round(profile.sql_seconds, 3),
        "queries": queries,
        "queries_of_the_cursor": cr_queries,
        "queries_of_other_cursors": queries - cr_queries,
        "queries_per_batch": round(queries / max(batches, 1), 1),
        "queries_per_customer": round(queries / len(data.partners), 2),
        "selection_and_state_queries": selection_queries,
        "selection_and_state_queries_per_batch": round(selection_queries / max(batches, 1), 1),
        "queries_per_history": round((queries - selection_queries) / max(actioned, 1), 2),
        "commit_queries (flush, post-commit)": profile.total("commit")[1],
    }
    level_rows = []
    for level in levels:
        states = histories.get(level.id, {})
        level_rows.append(
            {
                "level": level.name,
                "delay": level.delay,
                "customers": expected[level.id],
                "histories": sum(states.values()),
                "states": states,
            }
        )

    problems = []
    errors = sum(states.get("error", 0) for states in histories.values())
    if errors:
        problems.append(f"{errors} follow-ups failed (history state error)")
    not_queued = created["mail_mail"] - created["mail_mail_outgoing"]
    if not_queued:
        problems.append(
            f"{not_queued} emails sent at once, not queued: "
            + ", ".join(f"{kind} {count}" for kind, count in mails.items())
        )
    for row in level_rows:
        if row["histories"] != row["customers"]:
            problems.append(
                f"{row['level']}: {row['histories']} histories for {row['customers']} "
                "customers reaching it"
            )
    emailed = sum(row["customers"] for row in level_rows if row["delay"] < 60)
    if not created["mail_mail_outgoing"] and emailed:
        problems.append("no email queued")
    return {
        "seconds": seconds,
        "queries": queries,
        "summary": summary,
        "levels": level_rows,
        "profile": profile,
        "problems": problems,
    }


def print_report(report, data, log_queries=False, file=None):
    file = file or sys.stdout
    summary = report["summary"]
    print(f"\nOne full follow-up run, {data.describe()}:\n", file=file)
    harness.print_rows(
        ("figure", "value"), [(name, f"{value:,}") for name, value in summary.items()], file=file
    )
    print(
        "\nFollow-up levels (customers reaching each, from the data; histories created):\n",
        file=file,
    )
    harness.print_rows(
        ("level", "customers", "histories", "history states"),
        [
            (
                f"{row['level']} ({row['delay']:+d} days)",
                row["customers"],
                row["histories"],
                ", ".join(f"{state} {count}" for state, count in sorted(row["states"].items())),
            )
            for row in report["levels"]
        ],
        file=file,
    )
    print("\nQueries and time by call (inclusive; every cursor of the thread):\n", file=file)
    report["profile"].print(file=file)
    if log_queries:
        report["profile"].print_logged_queries(file=file)
    for problem in report["problems"]:
        print(f"Problem: {problem}", file=file)


def report_json(report):
    """The report without its profile object, the calls instead, for JSON."""
    return {
        **report["summary"],
        "levels": report["levels"],
        "calls": [
            {"path": list(path), **{key: round(value, 4) for key, value in stat.items()}}
            for path, stat in report["profile"].rows()
        ],
        "problems": report["problems"],
    }


# ----------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------


def main():
    args = harness.parse_args(__doc__.split("\n\n")[0], dataset.DATA_SIZES, flags=FLAGS)
    args.repeat = 1  # one run: it changes what the next one would do
    with harness.odoo_env(args, harness.ODOO_OPTIONS) as env:
        harness.require_methods(env, PROFILED, PROFILED_WHERE)
        company = env.ref("base.main_company")
        _policy, levels = prepare_company(company, args.no_documents)
        # The collector of every customer: its salesperson.
        data, size = dataset.generate(env, args, company, salesperson=env.ref("base.user_admin"))
        checks = dataset.check_dataset(env, data)
        print("Data checked with Odoo's figures")
        print("Running the follow-ups...", flush=True)
        cron = env.ref("credit_collections.ir_cron_run_followups")
        report = run_followups(
            env, data, levels, lambda: harness.run_scheduled_action(env, cron), args.log_queries
        )
        print_report(report, data, args.log_queries)
        path = harness.result_path(
            args, BENCHMARK, ("partners", "invoices"), no_documents=args.no_documents
        )
        if path:
            measurement = harness.Measurement.once(report["seconds"], report["queries"])
            result = harness.Result("full follow-up run", data.describe(), measurement)
            json_data = {
                **report_json(report),
                "no_documents": args.no_documents,
                "generation_seconds": round(data.seconds, 3),
                "database_size_bytes": size,
                "checks": checks,
            }
            harness.write_json(path, BENCHMARK, env, args, json_data, [result])
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
