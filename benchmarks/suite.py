"""Every benchmark of credit_collections on one generated data set, each operation
next to its peer on the same data: the table of benchmarks/run.

One database, one data set (common.generate_dataset), then, median of --repeat
runs with the ORM cache emptied before each:

- the credit check on confirming one order of the customer with the most open
  items, and of a customer with few, next to Odoo's credit warning of the same
  order (partner credit + credit_to_invoice against the limit);
- the exposure of 1,000 customers at once, read as the partner list reads it,
  next to Odoo's credit and credit_to_invoice of the same customers;
- every scheduled action of the addon found in the database, each run through
  its scheduled action (method_direct_trigger) in a savepoint rolled back after
  each run, so that each run does the same work;
- last, as it changes the data: the scheduled follow-up run, once (emails
  queued, not sent), then once more (nothing left to do).

Every result is checked (figures equal Odoo's, verdicts, what each run
created): the exit status is 1 when one is wrong, never because of a time.

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run [--small] [--partners N] [--invoices N] [--orders N]
                   [--repeat N] [--no-documents] [--log-queries]
"""

import contextlib
import glob
import json
import os
import sys
import time
from datetime import timedelta

import common
import credit_check
import followup_run

from odoo import fields

BENCHMARK = "suite"
SIZES = common.DATA_SIZES
FLAGS = {"no-documents": followup_run.FLAGS["no-documents"]}
# Customers whose exposure is read at once, as a list view page of 1,000 would.
EXPOSURE_CUSTOMERS = 1_000
# The credit columns of the partner list (optional columns of the addon), and
# Odoo's own credit figures, each with the customer's name as the list shows it.
EXPOSURE_FIELDS = (
    "display_name",
    "credit_exposure",
    "credit_available",
    "credit_overdue_amount",
    "credit_status",
)
ODOO_EXPOSURE_FIELDS = ("display_name", "credit", "credit_to_invoice")
EXPOSURE_PEER = "Odoo: credit + credit_to_invoice"
# The scheduled action that runs the follow-ups: measured last, once, since it
# commits its batches and changes what a next run does.
FOLLOWUP_METHOD = "_cron_run_followups"
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
        quotations |= credit_check.new_quotation(env, data, partner)
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
    env.flush_all()
    counts = {}
    for name, query in (
        ("activities", "SELECT count(*) FROM mail_activity"),
        ("messages", "SELECT count(*) FROM mail_message"),
        ("mails", "SELECT count(*) FROM mail_mail"),
        (
            "expired_approvals",
            "SELECT count(*) FROM credit_approval_request WHERE state = 'expired'",
        ),
    ):
        env.cr.execute(query)
        counts[name] = env.cr.fetchone()[0]
    return counts


# ----------------------------------------------------------------------
# Operations
# ----------------------------------------------------------------------


def measure_exposure(env, data, repeat, problems):
    """Exposure of EXPOSURE_CUSTOMERS customers read at once as the partner list
    reads them (web_search_read), next to Odoo's credit and credit_to_invoice of
    the same customers; every exposure must equal Odoo's credit + credit_to_invoice."""
    partners = data.partners[:EXPOSURE_CUSTOMERS]
    model = env["res.partner"].with_company(data.company)
    domain = [("id", "in", partners.ids)]

    def list_read(field_names):
        return model.web_search_read(
            domain, {name: {} for name in field_names}, limit=len(partners)
        )["records"]

    ours = common.measure(env, lambda: list_read(EXPOSURE_FIELDS), repeat)
    peer = common.measure(env, lambda: list_read(ODOO_EXPOSURE_FIELDS), repeat)
    env.invalidate_all()
    odoo = {
        row["id"]: row["credit"] + row["credit_to_invoice"]
        for row in list_read(ODOO_EXPOSURE_FIELDS)
    }
    rows = list_read(EXPOSURE_FIELDS)
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
    return common.Result(
        f"exposure for {EXPOSURE_CUSTOMERS:,} customers at once (list view)",
        f"{len(partners):,} customers read; {data.describe()}",
        ours,
        EXPOSURE_PEER,
        peer,
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

    measurement = common.measure(env, run, repeat)
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
        common.Result(
            f"scheduled action: {cron.name.split(': ', 1)[-1]}", data.describe(), measurement
        ),
        created,
    )


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
    followup_run.print_rows(header, rows, file=file)


def main():
    args = common.parse_args(__doc__.split("\n\n")[0], SIZES, flags=FLAGS)
    problems = []
    with common.odoo_env(args, followup_run.ODOO_OPTIONS) as env:
        company = env.ref("base.main_company")
        _policy, levels = followup_run.prepare_company(company, args.no_documents)
        print(
            f"Generating {args.partners:,} customers, {args.invoices:,} invoices and "
            f"{args.orders:,} orders...",
            flush=True,
        )
        # The collector of every customer: its salesperson.
        data = common.generate_dataset(
            env,
            company,
            args.partners,
            args.invoices,
            args.orders,
            salesperson=env.ref("base.user_admin"),
        )
        env.cr.commit()
        size = common.database_size(env)
        print(
            f"Generated {data.describe()} in {data.seconds:.1f} s; "
            f"database size {size / 2**20:,.0f} MB",
            flush=True,
        )
        started = time.perf_counter()
        credit_check.set_credit_policy(data)
        checks = common.check_dataset(env, data)
        print(
            f"Data checked with Odoo's figures in {time.perf_counter() - started:.1f} s: open "
            f"receivable {checks['receivable']:,.2f}; credit, credit_to_invoice and "
            f"credit_exposure of {checks['sampled_customers']} customers as generated",
            flush=True,
        )
        top = data.top_partner
        few = data.partners[-1:] if len(data.partners) > 1 else top
        few.with_company(company).write(
            {"credit_limit": credit_check.CREDIT_LIMIT, "use_partner_credit_limit": True}
        )
        quotation = credit_check.new_quotation(env, data)
        few_quotation = credit_check.new_quotation(env, data, few)
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
        results = credit_check.measure_check(
            env, data, quotation, args.repeat, "customer with the most open items"
        )
        if few != top:
            results += credit_check.measure_check(
                env, data, few_quotation, args.repeat, "customer with few open items"
            )
        results.append(measure_exposure(env, data, args.repeat, problems))

        crons = addon_crons(env)
        followup_crons = crons.filtered(lambda cron: FOLLOWUP_METHOD in (cron.code or ""))
        cron_outcomes = {}
        for cron in crons - followup_crons:
            result, created = measure_cron(env, data, cron, args.repeat, expected_cron, problems)
            results.append(result)
            cron_outcomes[cron.name] = created
        if not followup_crons:
            problems.append(f"no scheduled action runs {FOLLOWUP_METHOD}")

        followup_reports = []
        for cron in followup_crons:
            for label in ("full follow-up run", "follow-up run again, nothing due"):
                print(f"Running {label}: scheduled action {cron.name}...", flush=True)
                report = followup_run.run_followups(
                    env, data, levels, cron.method_direct_trigger, args.log_queries
                )
                followup_reports.append((label, report))
                measurement = common.Measurement(
                    seconds=report["seconds"],
                    queries=report["queries"],
                    runs=[report["seconds"]],
                    query_counts=[report["queries"]],
                )
                results.append(
                    common.Result(
                        f"scheduled action: {label}"
                        + (" (no documents)" if args.no_documents else ""),
                        data.describe(),
                        measurement,
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

        print(
            f"\nMedian of {args.repeat} runs (follow-up runs: once), "
            "ORM cache emptied before each:\n"
        )
        common.print_table(results)
        if args.log_queries:
            common.print_queries(results[: -len(followup_reports) or None])
        path = None
        if args.results_dir:
            name = args.name or f"{BENCHMARK}_{args.partners}x{args.invoices}x{args.orders}" + (
                "_no_documents" if args.no_documents else ""
            )
            path = os.path.join(args.results_dir, name + ".json")
        sizes = data.sizes()
        if args.results_dir:
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
                "followup_runs": {
                    label: followup_run.report_json(report) for label, report in followup_reports
                },
                "not_comparable": NOT_COMPARABLE,
                "problems": problems,
            }
            common.write_json(path, BENCHMARK, env, args, json_data, results)
            print(f"\nResults written to {os.path.relpath(path)}")
        print("\nNot compared with a peer:")
        for operation, reason in NOT_COMPARABLE.items():
            print(f"- {operation}: {reason}")
        for problem in problems:
            print(f"Problem: {problem}")
        print("Results checked: " + ("WRONG" if problems else "all correct"))
    return 1 if problems else 0


# What has no peer in Odoo itself, and why (the OCA modules are benchmarks/oca.py's).
NOT_COMPARABLE = {
    "follow-up run": "Odoo 18 Community has no follow-ups (account_followup is Enterprise); "
    "OCA's account_credit_control is the peer, on its own database",
    "scheduled actions": "Odoo has no credit approvals nor credit reviews",
}


if __name__ == "__main__":
    sys.exit(main())
