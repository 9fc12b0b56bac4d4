"""Every benchmark of credit_collections on one generated data set, each operation
next to its peer on the same data: the table of benchmarks/run.

One database, one data set (dataset.generate_dataset), then, median of --repeat
runs with the ORM cache emptied before each:

- the credit check on confirming one order of the customer with the most open
  items, and of a customer with few, next to Odoo's credit warning of the same
  order (partner credit + credit_to_invoice against the limit);
- the exposure of 1,000 customers at once, read as the partner list reads it,
  next to Odoo's credit and credit_to_invoice of the same customers;
- every scheduled action of the addon found in the database, each run through
  its scheduled action (method_direct_trigger) in a savepoint rolled back after
  each run, so that each run does the same work;
- then, as it changes the data: the scheduled follow-up run, once (emails
  queued, not sent), then once more (nothing left to do);
- last, as it invoices: the late interest, its scheduled action run to its end
  at 1.5 % a month and 40.00 per late invoice, then a second run the same day
  that charges nothing (benchmarks/interest_run.py).

With --peer-results FILE (the JSON of benchmarks/oca.py, measured on a
database of its own built from the same generator and sizes), each operation
with an OCA counterpart gets a second row: the OCA module's figures and the
ratio (the credit check and the exposure next to sale_financial_risk, the full
follow-up run next to account_credit_control's credit control run), and OCA's
notes on what is not comparable are printed under the table.

Every result is checked (figures equal Odoo's, verdicts, what each run
created): the exit status is 1 when one is wrong, never because of a time.

Run through benchmarks/run, which prepares a fresh database (and the OCA one):
    benchmarks/run [--small] [--partners N] [--invoices N] [--orders N]
                   [--repeat N] [--no-documents] [--log-queries] [--no-oca]
"""

import contextlib
import glob
import json
import os
import sys
import time
from datetime import timedelta

import credit_check
import dataset
import followup_run
import harness
import interest_run

from odoo import fields

BENCHMARK = "suite"
FLAGS = {"no-documents": followup_run.FLAGS["no-documents"]}
# The credit columns of the partner list (optional columns of the addon), with
# the customer's name as the list shows it (Odoo's: dataset.ODOO_EXPOSURE_FIELDS).
EXPOSURE_FIELDS = (
    "display_name",
    "credit_exposure",
    "credit_available",
    "credit_overdue_amount",
    "credit_status",
)
# The scheduled action that runs the follow-ups: measured last, once, since it
# commits its batches and changes what a next run does.
FOLLOWUP_METHOD = "_cron_run_followups"
# OCA rows (benchmarks/oca.py's JSON, "peers") shown next to ours: {kind: what
# the peer column says after the module's name}. The second credit control run
# of the same day is left out: OCA escalates and emails again where
# credit_collections has nothing to do (see PEER_NOTES).
OCA_PEER_LABELS = {
    "credit_check_top": "risk check (evaluate_risk_message)",
    "credit_check_few": "risk check (evaluate_risk_message)",
    "exposure": "risk columns (risk_total, remaining, unpaid, exception)",
    "followup_run": "credit control run (lines, ready, emails queued)",
}
# Data for the other scheduled actions to work on: a customer in REVIEW_EVERY
# has its credit review due, one in APPROVAL_EVERY a quotation whose credit
# approval expired yesterday.
REVIEW_EVERY = 50
APPROVAL_EVERY = 100


# ----------------------------------------------------------------------
# Set-up
# ----------------------------------------------------------------------


def prepare_scheduled_actions(env, data):
    """Work for the scheduled actions other than the follow-ups: credit reviews
    due and expired credit approvals. Returns what each should do:
    {method name: expected count}."""
    company = data.company
    today = fields.Date.context_today(env.user)
    reviewed = data.partners[::REVIEW_EVERY].with_company(company)
    reviewed.write({"credit_review_date": today})
    approved = data.partners[1::APPROVAL_EVERY]
    quotations = env["sale.order"]
    for partner in approved:
        quotations |= dataset.new_quotation(env, data, partner)
    requests = env["credit.approval.request"].create(
        [
            {
                "order_id": quotation.id,
                "amount": quotation.amount_total,
            }
            for quotation in quotations
        ]
    )
    # Approved and expired: what the approval path leaves behind days later.
    requests.write({"state": "approved", "valid_until": today - timedelta(days=1)})
    return {
        "_cron_schedule_credit_reviews": len(reviewed),
        "_cron_expire_credit_approvals": len(requests),
    }


def addon_crons(env):
    """The scheduled actions of credit_collections, by their XML ids."""
    cron_ids = (
        env["ir.model.data"]
        .search([("module", "=", "credit_collections"), ("model", "=", "ir.cron")])
        .mapped("res_id")
    )
    return env["ir.cron"].with_context(active_test=False).browse(cron_ids).sorted("id")


@contextlib.contextmanager
def commits_held(cr):
    """cr.commit() only flushes in the block: a scheduled action that commits
    its work stays inside the savepoint rolled back after each run."""
    commit = cr.commit
    cr.commit = cr.flush
    try:
        yield
    finally:
        cr.commit = commit


def cron_counts(env):
    """What a scheduled action creates or changes: {figure: count}."""
    return harness.count_rows(
        env,
        {
            "activities": "SELECT count(*) FROM mail_activity",
            "messages": "SELECT count(*) FROM mail_message",
            "mails": "SELECT count(*) FROM mail_mail",
            "expired_approvals": "SELECT count(*) FROM credit_approval_request "
            "WHERE state = 'expired'",
        },
    )


# ----------------------------------------------------------------------
# Operations
# ----------------------------------------------------------------------


def measure_exposure(env, data, repeat, problems):
    """Exposure of dataset.EXPOSURE_CUSTOMERS customers read at once as the
    partner list reads them (web_search_read), next to Odoo's credit and
    credit_to_invoice of the same customers; every exposure must equal Odoo's
    credit + credit_to_invoice."""
    partners = data.partners[: dataset.EXPOSURE_CUSTOMERS]
    read_ours = dataset.list_read(env, data, EXPOSURE_FIELDS)
    read_odoo = dataset.list_read(env, data, dataset.ODOO_EXPOSURE_FIELDS)
    ours = harness.measure(env, read_ours, repeat)
    peer = harness.measure(env, read_odoo, repeat)
    env.invalidate_all()
    odoo = {row["id"]: row["credit"] + row["credit_to_invoice"] for row in read_odoo()}
    rows = read_ours()
    currency = data.company.currency_id
    differ = [
        row["display_name"]
        for row in rows
        if currency.compare_amounts(row["credit_exposure"], odoo[row["id"]])
    ]
    if len(rows) != len(partners) or differ:
        problems.append(
            f"exposure: {len(rows)} customers read, {len(differ)} differ from Odoo's "
            f"credit + credit_to_invoice: {differ[:5]}"
        )
    return harness.Result(
        dataset.OPERATIONS["exposure"],
        f"{len(partners):,} customers read; {data.describe()}",
        ours,
        dataset.EXPOSURE_PEER,
        peer,
    )


def prepare_states(env, data):
    """The stored customer states of the generated data (inserted in SQL, unseen
    by the events) created and computed once, as at install or by the daily
    refresh: the customer list then reads them fresh, as users do."""
    company = data.company
    State = env["credit.customer.state"].with_company(company)
    started = time.perf_counter()
    State._credit_create_missing_states()
    State._credit_refresh(company)
    env.flush_all()
    print(
        f"Customer states of {len(data.partners):,} customers computed in "
        f"{time.perf_counter() - started:.1f} s (once: at install, then by the events and "
        "the daily refresh)",
        flush=True,
    )
    env.cr.commit()


def measure_state_filters(env, data, repeat, problems):
    """The filters "Credit Blocked" and "Follow-up Needed" over all customers, as
    the customer list runs them (a count and the first page), answered in SQL by
    the stored customer states (prepare_states first): constant queries
    whatever the number of customers; each customer found must be the one its
    computed status says."""
    company = data.company
    Partner = env["res.partner"].with_company(company)
    filters = {
        "credit_status": [("credit_status", "=", "blocked")],
        "followup_status": [("followup_status", "=", "action_needed")],
    }

    def run():
        for domain in filters.values():
            Partner.search_count(domain)
            Partner.search(domain, limit=80).mapped("display_name")

    measurement = harness.measure(env, run, repeat)
    env.invalidate_all()
    partners = data.partners.with_company(company)
    for field_name, domain in filters.items():
        found = set(Partner.search([*domain, ("id", "in", partners.ids)]).ids)
        expected = {partner.id for partner in partners if partner[field_name] == domain[0][2]}
        if found != expected:
            problems.append(
                f"{field_name} filter: {len(found)} customers found, {len(expected)} computed "
                f"({len(found ^ expected)} differ)"
            )
        print(f"Filter {domain}: {len(found):,} customers, as computed", flush=True)
    return harness.Result(
        'filter "Credit Blocked" and "Follow-up Needed" (count + first page each)',
        data.describe(),
        measurement,
    )


def measure_cron(env, data, cron, repeat, expected, problems):
    """A scheduled action, run through its scheduled action record, each run in
    a savepoint rolled back; checks that the first run did what is expected."""
    outcomes = []

    def run():
        with env.cr.savepoint() as savepoint:
            before = cron_counts(env)
            with commits_held(env.cr):
                cron.method_direct_trigger()
            after = cron_counts(env)
            outcomes.append({name: after[name] - before[name] for name in after})
            savepoint.close(rollback=True)

    measurement = harness.measure(env, run, repeat)
    env.invalidate_all()
    method = next((name for name in expected if name in (cron.code or "")), None)
    created = outcomes[0]
    figure = {
        "_cron_schedule_credit_reviews": "activities",
        "_cron_expire_credit_approvals": "expired_approvals",
    }.get(method)
    if figure and created[figure] != expected[method]:
        problems.append(f"{cron.name}: {created[figure]} {figure} instead of {expected[method]}")
    return (
        # "Credit & Collections: " is the menu's, the same for every action
        harness.Result(
            f"scheduled action: {cron.name.split(': ', 1)[-1]}", data.describe(), measurement
        ),
        created,
    )


# ----------------------------------------------------------------------
# Peers measured on a database of their own (benchmarks/oca.py)
# ----------------------------------------------------------------------


def load_peer_results(path, sizes):
    """The OCA peers' JSON (benchmarks/oca.py): (document, {our operation:
    [(peer label, harness.Measurement)]}, problems). Rows are taken only when the
    OCA data set has exactly our data set's sizes (same generator, same
    options); otherwise none, and a problem says why (the exit status is 1)."""
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    data = document.get("data", {})
    notes = []
    if data.get("sizes") != sizes:
        notes.append(
            f"OCA figures left out: its data set ({data.get('sizes')}) is not ours ({sizes})"
        )
        return document, {}, notes
    measurements = {
        row["operation"]: harness.Measurement.from_dict(row["measurement"])
        for row in document.get("results", [])
    }
    peers = {}
    for peer in data.get("peers", []):
        label = OCA_PEER_LABELS.get(peer.get("kind"))
        if not label or peer["operation"] not in measurements:
            continue
        peers.setdefault(peer["compares_to"], []).append(
            (f"OCA {peer['module']}: {label}", measurements[peer["operation"]])
        )
    return document, peers, notes


def add_peer_rows(results, peers):
    """results with, after each of ours that has peers, one row per peer: our
    figures again, the peer's, the ratio. Returns (rows, peer rows, the peers'
    operations not found among ours)."""
    rows, peer_rows, matched = [], [], set()
    for result in results:
        rows.append(result)
        for label, measurement in peers.get(result.operation, ()):
            peer_row = harness.Result(
                result.operation, result.size, result.measurement, label, measurement
            )
            rows.append(peer_row)
            peer_rows.append(peer_row)
            matched.add(result.operation)
    return rows, peer_rows, sorted(set(peers) - matched)


# ----------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------


def other_sizes(results_dir, current_path):
    """Query counts of the same operations in the suite's other JSON results:
    [(data size, {operation: queries})], smallest first."""
    found = []
    for path in glob.glob(os.path.join(results_dir, f"{BENCHMARK}_*.json")):
        if os.path.abspath(path) == os.path.abspath(current_path or ""):
            continue
        try:
            with open(path, encoding="utf-8") as stream:
                document = json.load(stream)
            sizes = document["data"]["sizes"]
            queries = {
                result["operation"]: result["measurement"]["queries"]
                for result in document["results"]
            }
        except (OSError, ValueError, KeyError):
            continue
        found.append((sizes, queries))
    return sorted(found, key=lambda item: item[0].get("invoices", 0))


def print_scaling(results, sizes, others, file=None):
    """Query counts by data size: this run next to the suite's other results."""
    file = file or sys.stdout
    columns = [sizes, *[size for size, _queries in others]]
    header = ["operation", *[f"{size['invoices']:,} invoices" for size in columns]]
    rows = []
    for result in results:
        operation = result.operation
        rows.append(
            [
                operation,
                str(result.measurement.queries),
                *[str(queries.get(operation, "-")) for _size, queries in others],
            ]
        )
    harness.print_rows(header, rows, file=file)


def parse_args(argv=None):
    """harness.parse_args, and --peer-results FILE (repeatable): peers' JSON."""

    def add_options(parser):
        parser.add_argument(
            "--peer-results",
            action="append",
            default=[],
            metavar="FILE",
            help="benchmarks/oca.py's JSON, its rows next to ours",
        )

    return harness.parse_args(
        __doc__.split("\n\n")[0], dataset.DATA_SIZES, argv, flags=FLAGS, add_options=add_options
    )


def main():
    args = parse_args()
    problems = []
    with harness.odoo_env(args, harness.ODOO_OPTIONS) as env:
        harness.require_methods(env, followup_run.PROFILED, followup_run.PROFILED_WHERE)
        company = env.ref("base.main_company")
        _policy, levels = followup_run.prepare_company(company, args.no_documents)
        # The collector of every customer: its salesperson.
        data, size = dataset.generate(env, args, company, salesperson=env.ref("base.user_admin"))
        started = time.perf_counter()
        credit_check.set_credit_policy(data)
        checks = dataset.check_dataset(env, data)
        print(
            f"Data checked with Odoo's figures in {time.perf_counter() - started:.1f} s: open "
            f"receivable {checks['receivable']:,.2f}; credit, credit_to_invoice and "
            f"credit_exposure of {checks['sampled_customers']} customers as generated",
            flush=True,
        )
        top, few = data.top_partner, data.few_partner
        few.with_company(company).write(
            {"credit_limit": dataset.CREDIT_LIMIT, "use_partner_credit_limit": True}
        )
        quotation = dataset.new_quotation(env, data)
        few_quotation = dataset.new_quotation(env, data, few)
        expected_cron = prepare_scheduled_actions(env, data)
        env.cr.commit()

        refusals = credit_check.check_confirmation(env, data, quotation)
        print(
            "Credit check: the order passes, and is refused when "
            + " or ".join(refusals)
            + " (checked with action_confirm, rolled back)"
        )
        if "over_limit" not in refusals:
            problems.append("the credit check did not refuse an order over the limit")

        print(f"Measuring, median of {args.repeat} runs...", flush=True)
        results = credit_check.measure_check(env, data, quotation, args.repeat, dataset.TOP)
        if few != top:
            results += credit_check.measure_check(
                env, data, few_quotation, args.repeat, dataset.FEW
            )
        prepare_states(env, data)
        results.append(measure_exposure(env, data, args.repeat, problems))
        results.append(measure_state_filters(env, data, args.repeat, problems))

        crons = addon_crons(env)
        followup_crons = crons.filtered(lambda cron: FOLLOWUP_METHOD in (cron.code or ""))
        interest_cron = env.ref(interest_run.CRON_XMLID)
        cron_outcomes = {}
        for cron in crons - followup_crons - interest_cron:
            result, created = measure_cron(env, data, cron, args.repeat, expected_cron, problems)
            results.append(result)
            cron_outcomes[cron.name] = created
        if not followup_crons:
            problems.append(f"no scheduled action runs {FOLLOWUP_METHOD}")

        followup_reports = []
        for cron in followup_crons:
            for kind, label in dataset.FOLLOWUP_RUNS.items():
                print(f"Running {label}: scheduled action {cron.name}...", flush=True)
                report = followup_run.run_followups(
                    env,
                    data,
                    levels,
                    lambda cron=cron: harness.run_scheduled_action(env, cron),
                    args.log_queries,
                )
                followup_reports.append((label, report))
                measurement = harness.Measurement.once(report["seconds"], report["queries"])
                results.append(
                    harness.Result(
                        dataset.operation(kind, args.no_documents), data.describe(), measurement
                    )
                )
        if followup_reports:
            label, first = followup_reports[0]
            problems += [f"{label}: {problem}" for problem in first["problems"]]
            if not first["summary"]["histories_created"]:
                problems.append(f"{label}: no follow-up done")
            for label, report in followup_reports[1:]:
                if report["summary"]["histories_created"]:
                    problems.append(
                        f"{label}: {report['summary']['histories_created']} follow-ups done again"
                    )
            followup_run.print_report(first, data, args.log_queries)

        # Last: it invoices the late payers.
        interest_results, interest_summary, interest_problems = interest_run.run_interest(env, data)
        results += interest_results
        problems += [f"late interest: {problem}" for problem in interest_problems]
        interest_run.print_summary(interest_summary)

        sizes = data.sizes()
        peer_documents, peers = [], {}
        for peer_path in args.peer_results:
            document, found, refused = load_peer_results(peer_path, sizes)
            peer_documents.append((peer_path, document))
            problems += refused
            for operation, rows in found.items():
                peers.setdefault(operation, []).extend(rows)
        table, peer_rows, unmatched = add_peer_rows(results, peers)
        if unmatched:
            problems.append(f"OCA rows without an operation of ours: {unmatched}")
        print(
            f"\nMedian of {args.repeat} runs (follow-up runs and credit control runs: once), "
            "ORM cache emptied before each"
            + (
                "; OCA rows measured on their own database, same generator and sizes"
                if peer_rows
                else ""
            )
            + ":\n"
        )
        harness.print_table(table)
        if args.log_queries:
            harness.print_queries([result for result in results if result.measurement.sql])
        path = harness.result_path(args, BENCHMARK, no_documents=args.no_documents)
        if path:
            others = other_sizes(args.results_dir, path)
            if others:
                print("\nQuery counts by data size (this run first, then earlier runs):\n")
                print_scaling(results, sizes, others)
            json_data = {
                "sizes": sizes,
                "generation_seconds": round(data.seconds, 3),
                "database_size_bytes": size,
                "no_documents": args.no_documents,
                "checks": checks,
                "refusals": refusals,
                "scheduled_actions": cron_outcomes,
                "late_interest": interest_summary,
                "followup_runs": {
                    label: followup_run.report_json(report) for label, report in followup_reports
                },
                "not_comparable": NOT_COMPARABLE,
                "peers": [
                    {
                        "file": os.path.relpath(peer_path),
                        "benchmark": document.get("benchmark"),
                        "modules": document.get("data", {}).get("oca_modules"),
                        "repeat": document.get("repeat"),
                        "not_comparable": document.get("data", {}).get("not_comparable"),
                        "risk_differences": len(
                            document.get("data", {}).get("risk_differences") or {}
                        ),
                        "problems": document.get("data", {}).get("problems"),
                    }
                    for peer_path, document in peer_documents
                ],
                "peer_notes": PEER_NOTES if peer_documents else [],
                "problems": problems,
            }
            # our rows, then one row per (operation, OCA peer)
            harness.write_json(path, BENCHMARK, env, args, json_data, results + peer_rows)
        print_notes(peer_documents)
        for problem in problems:
            print(f"Problem: {problem}")
        print("Results checked: " + ("WRONG" if problems else "all correct"))
    return 1 if problems else 0


def print_notes(peer_documents, file=None):
    """What is not compared, and why: Odoo's, then the OCA peers' (from their
    JSON), then how the OCA rows were measured."""
    file = file or sys.stdout
    print("\nNot compared with a peer:", file=file)
    for operation, reason in NOT_COMPARABLE.items():
        print(f"- {operation}: {reason}", file=file)
    if not peer_documents:
        print(
            "- OCA peers: not run (benchmarks/run --no-oca, or suite.py without --peer-results)",
            file=file,
        )
        return
    for peer_path, document in peer_documents:
        data = document.get("data", {})
        modules = ", ".join(
            f"{name} {version}" for name, version in data.get("oca_modules", {}).items()
        )
        print(f"\nOCA peers ({os.path.relpath(peer_path)}; {modules}):", file=file)
        for note in PEER_NOTES:
            print(f"- {note}", file=file)
        print("Not comparable with OCA, and why:", file=file)
        for topic, reason in data.get("not_comparable", {}).items():
            print(f"- {topic}: {reason}", file=file)
        differences = data.get("risk_differences") or {}
        if differences:
            print(
                f"- OCA's receivable risk differs from Odoo's credit for {len(differences)} "
                "sampled customers with second-currency items (see second currency above)",
                file=file,
            )
        for problem in data.get("problems") or []:
            print(f"OCA problem: {problem}", file=file)
        print(
            "OCA results checked: " + ("WRONG" if data.get("problems") else "all correct"),
            file=file,
        )


# What has no peer in Odoo itself, and why.
NOT_COMPARABLE = {
    "follow-up run": "Odoo 18 Community has no follow-ups (account_followup is Enterprise); "
    "the peer is OCA's account_credit_control, on its own database (benchmarks/oca.py)",
    "scheduled actions": "Odoo has no credit approvals nor credit reviews, nor OCA's modules",
}
# How the OCA rows stand next to ours.
PEER_NOTES = [
    "measured on a database of their own (the core modules credit_collections depends on, "
    "the OCA modules, not credit_collections), data set from the same generator with the "
    "same sizes (checked)",
    "the OCA risk check is what sale_financial_risk's action_confirm evaluates, on the same "
    "kind of order of the same customers, against a limit far above the risk (passes)",
    "the OCA credit control run is its three manual steps (generate lines, mark ready, "
    "channel action), each committed, emails queued; its second run the same day is not "
    "shown: it escalates and emails again where credit_collections has nothing to do",
]


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
