"""Credit check on confirming one order of the customer with the most open items
of the data set of the benchmarks (dataset.generate_dataset), next to what Odoo
does on the same order: its credit warning (partner credit + credit_to_invoice
against the credit limit).

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run --only credit_check [--small] [--partners N] [--invoices N]
                   [--orders N] [--repeat N] [--log-queries]
benchmarks/suite.py runs it too, with the other operations, through measure_check.
"""

import sys
from datetime import timedelta

import dataset
import harness

from odoo import fields
from odoo.exceptions import UserError

BENCHMARK = "credit_check"


def set_credit_policy(data):
    """Credit limits enforced (hold over the limit on), the top customer's limit
    far above its exposure and the overdue hold off (the generated invoices are up
    to 400 days overdue): the order passes the credit check, after computing every
    figure of the customer."""
    company = data.company
    company.write(
        {
            "account_use_credit_limit": True,
            "credit_check_over_limit": True,
            "credit_check_overdue": False,
        }
    )
    data.top_partner.with_company(company).write(
        {"credit_limit": dataset.CREDIT_LIMIT, "use_partner_credit_limit": True}
    )


def check_confirmation(env, data, quotation):
    """One real action_confirm, rolled back, passes; over the credit limit, and with
    the overdue hold on, the same order is refused. Returns the refusals."""
    refusals = {}
    partner = data.top_partner
    with env.cr.savepoint() as savepoint:
        quotation.action_confirm()
        env.flush_all()
        if quotation.state != "sale":
            raise AssertionError(f"{quotation.name} was not confirmed: {quotation.state}")
        savepoint.close(rollback=True)
    cases = {
        "over_limit": lambda: partner.with_company(data.company).write({"credit_limit": 1.0}),
        "overdue": lambda: data.company.write({"credit_check_overdue": True}),
    }
    cutoff = fields.Date.context_today(partner) - timedelta(
        days=data.company.credit_hold_overdue_days
    )
    if min(data.invoices.mapped("invoice_date_due")) >= cutoff:
        del cases["overdue"]  # too few invoices to have any overdue long enough
    for case, change in cases.items():
        env.invalidate_all(flush=False)
        with env.cr.savepoint() as savepoint:
            change()
            try:
                quotation.action_confirm()
            except UserError as error:
                refusals[case] = str(error)
            else:
                raise AssertionError(f"{case}: {quotation.name} was confirmed, not refused")
            savepoint.close(rollback=True)
    env.invalidate_all(flush=False)
    if quotation.state != "draft":
        raise AssertionError(f"{quotation.name} should be a quotation again")
    return refusals


def measure_check(env, data, quotation, repeat, label=""):
    """The credit check of confirming quotation, and Odoo's credit warning of the
    same quotation, median of repeat runs: [harness.Result]."""
    batch = quotation

    def credit_check():
        message = batch._confirmation_error_message()
        if message is not False:
            raise AssertionError(f"the credit check refused the order: {message}")

    def odoo_warning():
        # What Odoo computes on the quotation: credit + credit_to_invoice + order.
        return quotation.partner_credit_warning

    return [
        harness.Result(
            dataset.credit_check_operation(label or "one customer"),
            dataset.customer_size(env, data, quotation.partner_id.commercial_partner_id),
            harness.measure(env, credit_check, repeat),
            dataset.CREDIT_CHECK_PEER,
            harness.measure(env, odoo_warning, repeat),
        )
    ]


def main():
    args = harness.parse_args(__doc__.split("\n\n")[0], dataset.DATA_SIZES)
    with harness.odoo_env(args) as env:
        company = env.ref("base.main_company")
        state = {}

        def prepare(data):
            set_credit_policy(data)
            state["quotation"] = dataset.new_quotation(env, data)

        data, size = dataset.generate(env, args, company, prepare=prepare)
        quotation = state["quotation"]
        checks = dataset.check_dataset(env, data)
        print("Data checked with Odoo's figures")
        refusals = check_confirmation(env, data, quotation)
        print("action_confirm passes; refused when changed to:")
        for case, message in refusals.items():
            reasons = [line for line in message.splitlines() if line.startswith("- ")]
            print(f"  {case}: {' '.join(reasons) or message}")
        results = measure_check(env, data, quotation, args.repeat)
        print(f"\nMedian of {args.repeat} runs, ORM cache emptied before each:\n")
        harness.print_table(results)
        if args.log_queries:
            harness.print_queries(results)
        path = harness.result_path(args, BENCHMARK)
        if path:
            json_data = {
                **data.sizes(),
                "generation_seconds": round(data.seconds, 3),
                "database_size_bytes": size,
                "checks": checks,
                "refusals": refusals,
            }
            harness.write_json(path, BENCHMARK, env, args, json_data, results)
        env.cr.rollback()
    return 0


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
