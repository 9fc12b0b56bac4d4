"""The customer list on the stored customer states, alone: the list read of
exposure and credit status (suite.py's measure_exposure), the filters "Credit
Blocked" and "Follow-up Needed" over all customers (measure_state_filters),
then a page of the list sorted by credit status with its statuses read, the
list grouped by credit status, and a page of the list sorted by overdue amount
and oldest overdue (the collectors' Customers list), on the data set of the benchmarks
(dataset.generate_dataset), without the follow-up and interest runs of the
suite: a quick way to compare query counts at several sizes.

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run --only state_filters [--small] [--partners N] [--invoices N]
                   [--orders N] [--repeat N]

Checked: each customer found by a filter is the one its computed status says;
the sorted page and the groups agree with the states.
"""

import sys

import dataset
import harness
import suite

BENCHMARK = "state_filters"
PAGE = 80
STATUS_FIELDS = ("display_name", "credit_status", "credit_over_limit", "followup_status")
# The collectors' customer list (issue 20 point 14): largest overdue first.
OVERDUE_ORDER = "credit_overdue_amount desc, credit_oldest_overdue_days desc, id"
OVERDUE_FIELDS = ("display_name", "credit_overdue_amount", "credit_oldest_overdue_days")


def measure_sorted_list(env, data, repeat, problems):
    """The first page of the customer list sorted by credit status (most severe
    first) with its statuses, and the list grouped by credit status, as the
    web client asks them (web_search_read, web_read_group)."""
    Partner = env["res.partner"].with_company(data.company)
    domain = [("id", "in", data.partners.ids)]
    specification = {name: {} for name in STATUS_FIELDS}

    def page():
        return Partner.web_search_read(
            domain, specification, order="credit_status desc, id", limit=PAGE
        )["records"]

    def groups():
        return Partner.web_read_group(domain, ["__count"], ["credit_status"])["groups"]

    results = [
        harness.Result(
            f"customer list sorted by credit status: first page of {PAGE} with statuses",
            data.describe(),
            harness.measure(env, page, repeat),
        ),
        harness.Result(
            "customer list grouped by credit status",
            data.describe(),
            harness.measure(env, groups, repeat),
        ),
    ]
    env.invalidate_all()
    rows = page()
    states = {
        state.partner_id.id: state.credit_status
        for state in env["credit.customer.state"].search(
            [("company_id", "=", data.company.id), ("partner_id", "in", data.partners.ids)]
        )
    }
    severity = {"blocked": 0, "warning": 1, "ok": 2}
    shown = [row["credit_status"] for row in rows]
    if shown != sorted(shown, key=severity.get):
        problems.append(f"sorted page not in order: {shown[:10]}")
    differ = [row["id"] for row in rows if row["credit_status"] != states.get(row["id"], "ok")]
    if differ:
        problems.append(f"{len(differ)} customers of the page show another status than their state")
    counted = {group["credit_status"]: group["credit_status_count"] for group in groups()}
    expected = {}
    for partner_id in data.partners.ids:
        status = states.get(partner_id, "ok")
        expected[status] = expected.get(status, 0) + 1
    if counted != expected:
        problems.append(f"groups {counted} differ from the states {expected}")
    print(f"Groups by credit status: {counted}", flush=True)
    return results


def measure_overdue_list(env, data, repeat, problems):
    """The first page of the customers list sorted by overdue amount, then oldest
    overdue, as the Customers menu opens it (web_search_read): a constant number
    of queries whatever the number of customers."""
    Partner = env["res.partner"].with_company(data.company)
    domain = [("id", "in", data.partners.ids)]
    specification = {name: {} for name in OVERDUE_FIELDS}

    def page():
        return Partner.web_search_read(domain, specification, order=OVERDUE_ORDER, limit=PAGE)[
            "records"
        ]

    result = harness.Result(
        f"customer list sorted by overdue: first page of {PAGE}",
        data.describe(),
        harness.measure(env, page, repeat),
    )
    env.invalidate_all()
    rows = page()
    keys = [(-row["credit_overdue_amount"], -row["credit_oldest_overdue_days"]) for row in rows]
    if keys != sorted(keys):
        problems.append(f"page sorted by overdue not in order: {keys[:10]}")
    states = {
        state.partner_id.id: state.overdue_amount
        for state in env["credit.customer.state"].search(
            [("company_id", "=", data.company.id), ("partner_id", "in", data.partners.ids)]
        )
    }
    largest = sorted(states.values(), reverse=True)[: len(rows)]
    shown = [row["credit_overdue_amount"] for row in rows]
    if [round(amount, 2) for amount in shown] != [round(amount, 2) for amount in largest]:
        problems.append("the page sorted by overdue does not show the largest overdue amounts")
    print(f"Largest overdue on the first page: {shown[:3]}", flush=True)
    return result


def main():
    args = harness.parse_args(__doc__.split("\n\n")[0], dataset.DATA_SIZES)
    problems = []
    with harness.odoo_env(args) as env:
        company = env.ref("base.main_company")

        def prepare(data):
            suite.credit_check.set_credit_policy(data)

        data, _size = dataset.generate(env, args, company, prepare=prepare)
        suite.prepare_states(env, data)
        # The list read of suite.py (exposure and credit status), on fresh states.
        results = [suite.measure_exposure(env, data, args.repeat, problems)]
        results.append(suite.measure_state_filters(env, data, args.repeat, problems))
        results += measure_sorted_list(env, data, args.repeat, problems)
        results.append(measure_overdue_list(env, data, args.repeat, problems))
        print(f"\nMedian of {args.repeat} runs, ORM cache emptied before each:\n")
        harness.print_table(results)
        if args.log_queries:
            harness.print_queries(results)
        path = harness.result_path(args, BENCHMARK)
        if path:
            harness.write_json(path, BENCHMARK, env, args, data.sizes(), results)
        env.cr.rollback()
    for problem in problems:
        print(f"WRONG: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
