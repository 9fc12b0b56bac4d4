"""Credit check on confirming one order of the customer with the most open items
of the data set of the benchmarks (common.generate_dataset), next to what Odoo
does on the same order: its credit warning (partner credit + credit_to_invoice
against the credit limit).

Run through benchmarks/run, which prepares a fresh database:
    benchmarks/run --only credit_check [--small] [--partners N] [--invoices N]
                   [--orders N] [--repeat N] [--log-queries]
benchmarks/suite.py runs it too, with the other operations, through measure_check.
"""

import os
import sys
from datetime import timedelta

import common

from odoo import fields
from odoo.exceptions import UserError

BENCHMARK = "credit_check"
# High enough for every generated customer book: the check passes.
CREDIT_LIMIT = 10**12
PEER = "Odoo: order credit warning (credit + credit_to_invoice)"
SIZES = common.DATA_SIZES


def set_credit_policy(book):
    """Credit limits enforced (hold over the limit on), the customer's limit far
    above its exposure and the overdue hold off (the generated invoices are up to
    400 days overdue): the order passes the credit check, after computing every
    figure of the customer."""
    company = book.company
    company.write(
        {
            "account_use_credit_limit": True,
            "credit_check_over_limit": True,
            "credit_check_overdue": False,
        }
    )
    book.partner.with_company(company).write(
        {"credit_limit": CREDIT_LIMIT, "use_partner_credit_limit": True}
    )


def new_quotation(env, book, partner=None):
    """A quotation of one unit at 100.00 for partner (else the book's customer)."""
    return (
        env["sale.order"]
        .with_company(book.company)
        .create(
            {
                "partner_id": (partner or book.partner).id,
                "company_id": book.company.id,
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": book.product.id,
                            "product_uom_qty": 1.0,
                            "price_unit": 100.0,
                            "tax_id": [(6, 0, [])],
                        },
                    )
                ],
            }
        )
    )


def check_confirmation(env, book, quotation):
    """One real action_confirm, rolled back, passes; over the credit limit, and with
    the overdue hold on, the same order is refused. Returns the refusals."""
    refusals = {}
    with env.cr.savepoint() as savepoint:
        quotation.action_confirm()
        env.flush_all()
        if quotation.state != "sale":
            raise AssertionError(f"{quotation.name} was not confirmed: {quotation.state}")
        savepoint.close(rollback=True)
    cases = {
        "over_limit": lambda: book.partner.with_company(book.company).write({"credit_limit": 1.0}),
        "overdue": lambda: book.company.write({"credit_check_overdue": True}),
    }
    cutoff = fields.Date.context_today(book.partner) - timedelta(
        days=book.company.credit_hold_overdue_days
    )
    if min(book.invoices.mapped("invoice_date_due")) >= cutoff:
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


def measure_check(env, book, quotation, repeat, label=""):
    """The credit check of confirming quotation, and Odoo's credit warning of the
    same quotation, median of repeat runs: [common.Result]."""
    batch = quotation.with_context(credit_confirm_batch=(quotation.id,))
    partner = quotation.partner_id.commercial_partner_id
    env.cr.execute(
        """
        SELECT count(*) FROM account_move_line line
          JOIN account_account account ON account.id = line.account_id
         WHERE line.partner_id = %s AND account.account_type = 'asset_receivable'
           AND line.parent_state = 'posted' AND NOT line.reconciled
        """,
        [partner.id],
    )
    open_items = env.cr.fetchone()[0]
    orders = env["sale.order"].search_count(
        [("partner_id", "=", partner.id), ("state", "=", "sale")]
    )

    def credit_check():
        message = batch._confirmation_error_message()
        if message is not False:
            raise AssertionError(f"the credit check refused the order: {message}")

    def odoo_warning():
        # What Odoo computes on the quotation: credit + credit_to_invoice + order.
        return quotation.partner_credit_warning

    size = f"{open_items:,} open items, {orders:,} orders; {book.describe()}"
    return [
        common.Result(
            f"credit check on confirming one order: {label or 'one customer'}",
            size,
            common.measure(env, credit_check, repeat),
            PEER,
            common.measure(env, odoo_warning, repeat),
        )
    ]


def main():
    args = common.parse_args(__doc__.split("\n\n")[0], SIZES)
    with common.odoo_env(args) as env:
        company = env.ref("base.main_company")
        print(
            f"Generating {args.partners:,} customers, {args.invoices:,} invoices and "
            f"{args.orders:,} orders...",
            flush=True,
        )
        book = common.generate_dataset(env, company, args.partners, args.invoices, args.orders)
        set_credit_policy(book)
        quotation = new_quotation(env, book)
        env.cr.commit()
        size = common.database_size(env)
        print(
            f"Generated {book.describe()} in {book.seconds:.1f} s; "
            f"database size {size / 2**20:.0f} MB"
        )
        checks = common.check_dataset(env, book)
        print("Data checked with Odoo's figures")
        refusals = check_confirmation(env, book, quotation)
        print("action_confirm passes; refused when changed to:")
        for case, message in refusals.items():
            reasons = [line for line in message.splitlines() if line.startswith("- ")]
            print(f"  {case}: {' '.join(reasons) or message}")
        results = measure_check(env, book, quotation, args.repeat)
        print(f"\nMedian of {args.repeat} runs, ORM cache emptied before each:\n")
        common.print_table(results)
        if args.log_queries:
            common.print_queries(results)
        if args.results_dir:
            name = args.name or f"{BENCHMARK}_{args.partners}x{args.invoices}x{args.orders}"
            data = {
                **book.sizes(),
                "generation_seconds": round(book.seconds, 3),
                "database_size_bytes": size,
                "checks": checks,
                "refusals": refusals,
            }
            path = common.write_json(
                os.path.join(args.results_dir, name + ".json"), BENCHMARK, env, args, data, results
            )
            print(f"\nResults written to {os.path.relpath(path)}")
        env.cr.rollback()
    return 0


if __name__ == "__main__":
    sys.exit(main())
