"""Late interest over the data set of the benchmarks (dataset.generate_dataset):
the scheduled action "charge late interest" run to its end as Odoo's scheduler
runs it (a batch of customers per call, committed one by one), then a second
run the same day, which must charge nothing.

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run --only interest_run [--small] [--partners N] [--invoices N]
                   [--orders N] [--log-queries]
benchmarks/suite.py runs it too, last (it invoices), through run_interest.

Checked: every day of an item charged once (no two invoiced charges of an item
overlap), the invoices equal the charges to the cent, a sample of items never
paid charged exactly (amount x 18 % x days / 365, rounded), and nothing charged
by the second run.
"""

import sys
import time

import dataset
import harness

from odoo import fields
from odoo.tools import SQL

BENCHMARK = "interest_run"
CRON_XMLID = "credit_collections.ir_cron_accrue_late_interest"
# Fixed compensation per late invoice, in the company's currency.
COMPENSATION = 40.0
# Items of the sample checked by hand.
SAMPLE = 20
# The methods whose queries and time are counted, by call path (they must exist):
# the run's own, then Odoo's invoice creation and posting it calls.
PROFILED = (
    ("credit.interest.run", "_cron_accrue_late_interest"),
    ("credit.interest.run", "_credit_batch_run"),
    ("credit.interest.run", "_get_interest_partner_ids"),
    ("credit.interest.run", "_credit_batch_process_safely"),
    ("credit.interest.run", "_prepare_accrual_vals_list"),
    ("credit.interest.run", "_get_interest_items"),
    ("credit.interest.run", "_get_payments"),
    ("credit.interest.rate", "_get_item_rate_tables"),
    ("credit.interest.run", "_prepare_compensation_vals_list"),
    ("credit.interest.run", "_invoice_accruals"),
    ("credit.interest.run", "_prepare_invoice_vals"),
    ("account.move", "_credit_create_charge_invoices"),
    ("account.move", "create"),
    ("account.move", "action_post"),
    ("credit.interest.run", "_log_on_invoices"),
)


def prepare_company(company):
    """1.5 % a month (18 % a year, actual/365, no grace days), 40.00 per late
    invoice, invoices posted, the run due today."""
    company._credit_interest_apply_preset("monthly")
    company.write(
        {
            "credit_interest_compensation_amount": COMPENSATION,
            "credit_interest_compensation_currency_id": company.currency_id.id,
            "credit_interest_run_day": 1,
        }
    )


def _counts(env, company):
    return harness.count_rows(
        env,
        {
            "accruals": (
                "SELECT count(*) FROM credit_interest_accrual WHERE company_id = %s "
                "AND state = 'invoiced'",
                [company.id],
            ),
            "invoices": (
                "SELECT count(*) FROM account_move WHERE company_id = %s "
                "AND credit_charge_type = 'interest'",
                [company.id],
            ),
        },
    )


def _check(env, company, today):
    """What is wrong with the charges: [problem]."""
    problems = []
    overlaps = env.execute_query(
        SQL(
            """
            SELECT count(*)
              FROM credit_interest_accrual one
              JOIN credit_interest_accrual other
                ON other.move_line_id = one.move_line_id AND other.id > one.id
               AND other.kind = 'interest' AND other.state = 'invoiced'
               AND other.date_from <= one.date_to AND one.date_from <= other.date_to
             WHERE one.company_id = %s AND one.kind = 'interest' AND one.state = 'invoiced'
            """,
            company.id,
        )
    )[0][0]
    if overlaps:
        problems.append(f"{overlaps} days of items charged twice")
    differ = env.execute_query(
        SQL(
            """
            SELECT count(*)
              FROM account_move move
              JOIN LATERAL (
                    SELECT SUM(accrual.amount) AS charged
                      FROM credit_interest_accrual accrual
                      JOIN account_move_line line ON line.id = accrual.invoice_line_id
                     WHERE line.move_id = move.id
              ) accruals ON TRUE
             WHERE move.company_id = %s AND move.credit_charge_type = 'interest'
               AND ROUND(accruals.charged, 2) != move.amount_untaxed
            """,
            company.id,
        )
    )[0][0]
    if differ:
        problems.append(f"{differ} interest invoices differ from their charges")
    # Items never paid, charged from the day after their due date to today in one
    # period at 18 %: their interest is amount x 18 % x days / 365.
    sample = env.execute_query(
        SQL(
            """
            SELECT line.id, line.amount_currency, line.date_maturity, accrual.amount,
                   accrual.days
              FROM credit_interest_accrual accrual
              JOIN account_move_line line ON line.id = accrual.move_line_id
             WHERE accrual.company_id = %s AND accrual.kind = 'interest'
               AND accrual.state = 'invoiced'
               AND line.amount_residual_currency = line.amount_currency
             ORDER BY line.id
             LIMIT %s
            """,
            company.id,
            SAMPLE,
        )
    )
    currency = company.currency_id
    for line_id, amount, due, charged, days in sample:
        expected_days = (today - due).days
        expected = currency.round(amount * 0.18 * expected_days / 365)
        if days != expected_days or currency.compare_amounts(charged, expected):
            problems.append(
                f"item {line_id}: {charged} for {days} days, expected {expected} for "
                f"{expected_days} days"
            )
    if not sample:
        problems.append("no item of the sample was charged")
    return problems


def run_interest(env, data):
    """The scheduled action run to its end, then a second run the same day.

    :return: (results, summary, problems)
    """
    company = data.company
    today = fields.Date.context_today(env.user)
    prepare_company(company)
    cron = env.ref(CRON_XMLID)
    env.cr.commit()
    before = _counts(env, company)
    env.invalidate_all()
    print("Running the late interest: scheduled action to its end...", flush=True)
    calls = {}

    def run():
        calls["count"] = harness.run_scheduled_action(env, cron)

    profile = harness.CallProfile(PROFILED, where="profiled (PROFILED of interest_run.py)")
    with profile.profiling(env, env.cr):
        queries_before = env.cr.sql_log_count
        start = time.perf_counter()
        run()
        seconds = time.perf_counter() - start
        queries = env.cr.sql_log_count - queries_before
    print("\nWhere the full run spends its queries and time (inclusive, by call path):\n")
    profile.print()
    after = _counts(env, company)
    first = harness.Measurement.once(seconds, queries)

    print("Second run the same day...", flush=True)

    def second_run():
        rerun = env["credit.interest.run"].create({"date": today, "company_id": company.id})
        rerun.action_invoice()
        calls["second_accruals"] = len(rerun.accrual_ids)
        calls["second_invoices"] = len(rerun.invoice_ids)

    second = harness.measure(env, second_run, 1)
    env.cr.commit()
    problems = _check(env, company, today)
    charged = {name: after[name] - before[name] for name in after}
    if not charged["invoices"]:
        problems.append("the run invoiced nothing")
    if calls["second_accruals"] or calls["second_invoices"]:
        problems.append(
            f"the second run charged {calls['second_accruals']} periods again, "
            f"{calls['second_invoices']} invoices"
        )
    summary = {
        "calls": calls["count"],
        "charges_invoiced": charged["accruals"],
        "interest_invoices": charged["invoices"],
        "seconds": round(seconds, 3),
        "queries": queries,
        "queries_per_call": round(queries / max(calls["count"], 1), 1),
        "queries_per_invoice": round(queries / max(charged["invoices"], 1), 1),
        "second_run_charges": calls["second_accruals"],
    }
    results = [
        harness.Result(
            "late interest: scheduled action, full run (batches of 100 customers)",
            data.describe(),
            first,
        ),
        harness.Result(
            "late interest: second run the same day (charges nothing)",
            data.describe(),
            second,
        ),
    ]
    return results, summary, problems


def print_summary(summary, file=None):
    harness.print_rows(["late interest", "figure"], list(summary.items()), file=file)


def main():
    args = harness.parse_args(__doc__.split("\n\n")[0], dataset.DATA_SIZES)
    with harness.odoo_env(args, harness.ODOO_OPTIONS) as env:
        company = env.ref("base.main_company")
        data, size = dataset.generate(env, args, company)
        results, summary, problems = run_interest(env, data)
        print()
        harness.print_table(results)
        print()
        print_summary(summary)
        path = harness.result_path(args, BENCHMARK)
        if path:
            json_data = {
                **data.sizes(),
                "generation_seconds": round(data.seconds, 3),
                "database_size_bytes": size,
                "summary": summary,
                "problems": problems,
            }
            harness.write_json(path, BENCHMARK, env, args, json_data, results)
        for problem in problems:
            print(f"Problem: {problem}")
        print("Results checked: " + ("WRONG" if problems else "all correct"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
