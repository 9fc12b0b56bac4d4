"""Installment plans over the data set of the benchmarks (dataset.generate_dataset):
activating a plan as a credit manager does (its rescheduling entry posted, the
invoices reconciled with it), for 10 and 50 invoices of the customer with the
most open items and 12 and 120 installments, with what each more invoice and
each more installment costs; then the daily plan check (the scheduled action)
over one plan per customer, nothing to change, then every plan defaulted.

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run --only plan_run [--small] [--partners N] [--invoices N]
                   [--orders N] [--repeat N]

Checked: every activation posts a balanced entry that leaves the customer's
balance unchanged and reconciles every invoice; the check changes nothing the
first time and defaults every plan the second.
"""

import sys
import time
from datetime import datetime, timedelta
from datetime import time as day_time

import dataset
import harness
from freezegun import freeze_time

from odoo import Command, fields

BENCHMARK = "plan_run"
# (invoices, installments) of the plans activated.
SHAPES = ((10, 12), (50, 12), (10, 120), (50, 120))
CHECK_METHOD = "_cron_check_installment_plans"


def _open_items(env, data, partner, count):
    """The customer's oldest open receivable items in the company's currency."""
    company = data.company
    return env["account.move.line"].search(
        [
            *env["account.move.line"]._chased_receivable_domain(company),
            ("partner_id", "child_of", partner.id),
            ("currency_id", "=", company.currency_id.id),
            ("move_id.move_type", "=", "out_invoice"),
        ],
        order="date_maturity, id",
        limit=count,
    )


def _new_plan(env, partner, items, installments):
    plan = env["credit.installment.plan"].create(
        {
            "partner_id": partner.id,
            "source_line_ids": [Command.set(items.ids)],
            "installment_count": installments,
            "frequency": "monthly",
            "first_due_date": fields.Date.context_today(env.user) + timedelta(days=30),
        }
    )
    plan.action_compute_schedule()
    return plan


def measure_activation(env, data, repeat, problems):
    """Activation of plans of each SHAPE, each run in a savepoint rolled back."""
    partner = data.top_partner
    results, queries = [], {}
    for invoices, installments in SHAPES:
        items = _open_items(env, data, partner, invoices)
        if len(items) < invoices:
            problems.append(f"only {len(items)} open invoices for a plan of {invoices}")
            continue
        outcome = {}

        def activate(items=items, installments=installments, outcome=outcome, count=invoices):
            with env.cr.savepoint() as savepoint:
                plan = _new_plan(env, partner, items, installments)
                balance = partner.credit
                env.flush_all()
                env.invalidate_all()
                before = env.cr.sql_log_count
                start = time.perf_counter()
                plan.action_activate()
                env.flush_all()
                outcome["seconds"] = time.perf_counter() - start
                outcome["queries"] = env.cr.sql_log_count - before
                partner.invalidate_recordset(["credit"])
                move = plan.move_id
                if (
                    move.state != "posted"
                    or not all(items.mapped("reconciled"))
                    or abs(partner.credit - balance) > 0.005
                    or len(plan.line_ids.move_line_id) != installments
                ):
                    problems.append(f"activation of {count} invoices wrong")
                savepoint.close(rollback=True)

        runs = [activate() or (outcome["seconds"], outcome["queries"]) for _i in range(repeat)]
        seconds = sorted(run[0] for run in runs)[len(runs) // 2]
        count = sorted(run[1] for run in runs)[len(runs) // 2]
        queries[invoices, installments] = count
        results.append(
            harness.Result(
                f"plan activation: {invoices} invoices, {installments} installments",
                data.describe(),
                harness.Measurement.once(seconds, count),
            )
        )
    figures = {}
    if len(queries) == len(SHAPES):
        figures = {
            "queries_per_more_invoice": round((queries[50, 120] - queries[10, 120]) / 40, 2),
            "queries_per_more_installment": round((queries[50, 120] - queries[50, 12]) / 108, 2),
            "queries_50_invoices_120_installments": queries[50, 120],
        }
    return results, figures


def measure_daily_check(env, data, problems):
    """One plan per customer (its oldest open item, 3 installments), then the
    scheduled check run to its end: nothing to do today, every plan defaulted
    40 days later."""
    started = time.perf_counter()
    plans = env["credit.installment.plan"]
    for partner in data.partners:
        items = _open_items(env, data, partner, 1)
        if items:
            plans |= _new_plan(env, partner, items, 3)
    plans.action_activate()  # together: one entry each, posted in one pass
    env.cr.commit()
    print(f"{len(plans):,} plans activated in {time.perf_counter() - started:.1f} s", flush=True)
    cron = env["ir.cron"].search([("code", "like", CHECK_METHOD)], limit=1)
    results = []
    figures = {"plans": len(plans)}
    for label, day in (
        ("nothing to change", fields.Date.context_today(env.user)),
        ("every plan defaulted", fields.Date.context_today(env.user) + timedelta(days=80)),
    ):
        # Timed outside freeze_time, which stops the clock it fakes.
        before = env.cr.sql_log_count
        start = time.perf_counter()
        with freeze_time(datetime.combine(day, day_time(12))):
            calls = harness.run_scheduled_action(env, cron)
        seconds = time.perf_counter() - start
        count = env.cr.sql_log_count - before
        defaulted = env["credit.installment.plan"].search_count(
            [("id", "in", plans.ids), ("state", "=", "defaulted")]
        )
        expected = 0 if label == "nothing to change" else len(plans)
        if defaulted != expected:
            problems.append(f"daily check, {label}: {defaulted} defaulted, not {expected}")
        figures[label] = {"calls": calls, "queries": count, "queries_per_call": count / calls}
        results.append(
            harness.Result(
                f"plan check (scheduled action), {len(plans):,} plans: {label}",
                data.describe(),
                harness.Measurement.once(seconds, count),
            )
        )
    return results, figures


def main():
    args = harness.parse_args(__doc__.split("\n\n")[0], dataset.DATA_SIZES)
    problems = []
    with harness.odoo_env(args, harness.ODOO_OPTIONS) as env:
        company = env.ref("base.main_company")
        data, size = dataset.generate(env, args, company)
        results, activation = measure_activation(env, data, args.repeat, problems)
        check_results, check = measure_daily_check(env, data, problems)
        results += check_results
        print()
        harness.print_table(results)
        print()
        harness.print_rows(
            ["installment plans", "figure"],
            [*activation.items(), *((key, value) for key, value in check.items())],
        )
        path = harness.result_path(args, BENCHMARK)
        if path:
            json_data = {
                **data.sizes(),
                "generation_seconds": round(data.seconds, 3),
                "database_size_bytes": size,
                "activation": activation,
                "daily_check": check,
                "problems": problems,
            }
            harness.write_json(path, BENCHMARK, env, args, json_data, results)
        for problem in problems:
            print(f"Problem: {problem}")
        print("Results checked: " + ("WRONG" if problems else "all correct"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
