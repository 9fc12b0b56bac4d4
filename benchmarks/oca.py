"""Peer benchmarks: the OCA modules users pick today, on the same generated data.

credit_collections' benchmarks (benchmarks/suite.py, credit_check.py,
followup_run.py) measured again with their OCA counterparts, 18.0 wheels from
PyPI (pinned in OCA_WHEELS), in a database of their own where credit_collections
is not installed, on the same data set (dataset.generate_dataset, same sizes:
--partners, --invoices, --orders; --small 200, 2,000, 200):

- sale_financial_risk (with account_financial_risk): the risk check that
  sale.order.action_confirm runs, on one new order of the customer with the most
  open items, and of one with few; action_confirm itself (rolled back); OCA's
  risk columns of up to 1,000 customers read as the partner list reads them.
- account_credit_control: a credit control run over all the customers (credit
  control lines generated, marked ready, then the channel action: one
  communication per customer, level and currency, its email queued), then a
  second run the same day, as the suite runs the follow-ups twice.

Each row has the shape of harness.Result (``Result.as_dict``) and names, in
``compares_to``, the operation of benchmarks/suite.py it stands next to
(dataset.OPERATIONS), on a data set of the same sizes.

What is comparable
------------------
- Data: the same generator, sizes, company and salesperson; amounts, due dates,
  payments, credit notes, second currency, orders partly invoiced.
- Core modules: the OCA database gets the core modules credit_collections
  depends on (CORE_MODULES), so sale.order.action_confirm runs the same core
  code; Odoo's credit limit is on, as in credit_collections' benchmark.
- Credit check: the customer's risk counts everything credit_collections counts
  (draft, open and past-due receivable, other receivable accounts, confirmed
  orders not invoiced) against a credit limit far above it: the order passes
  after every figure is computed (RISK_COMPUTES says what OCA computes). The
  measured operation is that evaluation exactly as action_confirm runs it
  (evaluate_risk_message); Odoo's credit warning of the same order is measured
  on the OCA database as the common peer, so both ratios share a reference.
  Checked: one real action_confirm passes; over the credit limit, over a limit
  on orders or on unpaid invoices, the order is stopped by OCA's wizard.
- Dunning: a policy for the company (the company's credit_policy_id, so no
  policy per partner nor account is needed) with levels like credit_collections'
  overdue levels: +1, +15 and +30 days after the due date, email channel, the
  overdue invoices listed in the email. Nothing is sent: emails are queued
  (mail_notify_force_send=False) and the SMTP server is a closed port. Checked:
  every overdue open item gets a line, every (customer, currency) one queued
  email.

What is not comparable, and why: NOT_COMPARABLE below (written to the JSON):
OCA's rules and levels differ (one level per invoice and per run, so a second
run the same day escalates and emails again), its dunning is a three-step manual
wizard, and its receivable risk converts second-currency items twice.

Use
---
benchmarks/run does it all (the addons cached in
${XDG_CACHE_HOME:-~/.cache}/credit_collections/oca, the database a copy of a
template with the core modules), then passes the JSON to benchmarks/suite.py
--peer-results, which puts each row with a ``compares_to`` under that operation
of its table (the second run of the day excepted). By hand: prepare the addons,
create the database, measure::

    oca=$(python3 benchmarks/oca.py --prepare-addons "$workdir/oca")
    python3 -m odoo -d bench_oca --addons-path="$addons_path,$oca" \\
        -i account,sale_management,mail,portal,sale_financial_risk,account_credit_control \\
        --without-demo=all --stop-after-init --db_host=... --db_user=... --data-dir=...
    python3 benchmarks/oca.py --database bench_oca --addons-path "$addons_path,$oca" \\
        --db-host ... --db-user ... --data-dir ... [--small] [--partners N] \\
        [--invoices N] [--orders N] [--no-documents] [--repeat N] [--results-dir DIR] \\
        [--part credit_check|followup_run|followup_run_again]...

--install creates the database first (install_database: the second command),
--part (repeatable) runs one part only; the other options are benchmarks/run's.
followup_run_again (a second credit control run the same day, escalating) runs
by default with --small only: at full size it takes as long as the first.
From Python: ``prepare_addons(target_dir)``, ``install_database(...)``,
``run(argv)`` (rows as dicts, and the JSON's data) and ``main(argv)``.
"""

import argparse
import ast
import glob
import importlib
import os
import re
import subprocess
import sys
import zipfile

import odoo
from odoo import fields

# The modules next to this file, whichever way this one is loaded.
_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
dataset = importlib.import_module("dataset")
harness = importlib.import_module("harness")

BENCHMARK = "oca"
SERIES = "18.0"
NEXT_SERIES = "18.1"
# The OCA wheels measured, pinned: {distribution: version}.
OCA_WHEELS = {
    "odoo-addon-account_financial_risk": "18.0.1.2.1",
    "odoo-addon-sale_financial_risk": "18.0.1.0.8",
    "odoo-addon-account_credit_control": "18.0.2.0.2.6",
}
# Installed in the OCA database: the core modules credit_collections depends on,
# then the OCA modules (their own dependencies come with them).
CORE_MODULES = ("account", "sale_management", "mail", "portal")
OCA_MODULES = ("sale_financial_risk", "account_credit_control")
MODULES = CORE_MODULES + OCA_MODULES
PARTS = ("credit_check", "followup_run", "followup_run_again")
# The second credit control run of the day has no counterpart in our table (ours
# has nothing left to do) and costs as much as the first: small runs only, unless
# asked with --part followup_run_again.
DEFAULT_PARTS = ("credit_check", "followup_run")
# Each OCA row has a kind: what it stands next to is our operation of that kind
# (dataset.operation; follow-up runs: " (no documents)" added with
# --no-documents), none for the kinds that are not ours ("confirm_top": a
# detail of the OCA run). Odoo's own figures are measured on the OCA database
# too, as peers (dataset.CREDIT_CHECK_PEER, dataset.EXPOSURE_PEER), as in
# credit_collections' own.
# OCA's risk columns of the partner list: exposure, available, overdue, status.
RISK_FIELDS = (
    "display_name",
    "risk_total",
    "risk_remaining_value",
    "risk_invoice_unpaid",
    "risk_exception",
)
# OCA's figures of the top customer, written to the JSON.
TOP_RISK_FIELDS = (
    "credit",
    "credit_to_invoice",
    "risk_invoice_draft",
    "risk_invoice_open",
    "risk_invoice_unpaid",
    "risk_account_amount",
    "risk_account_amount_unpaid",
    "risk_sale_order",
    "risk_total",
    "risk_exception",
)
RISK_COMPUTES = (
    "risk_invoice_draft, risk_invoice_open, risk_invoice_unpaid, risk_account_amount, "
    "risk_account_amount_unpaid (three read_group on account.move.line), risk_sale_order "
    "(read_group on sale.order.line risk_amount), risk_total and risk_exception against "
    "credit_limit and the per-figure limits, then risk_total + the order against credit_limit"
)
# What could not be made comparable, and why: {topic: reason}; written to the JSON.
NOT_COMPARABLE = {
    "credit check rules": "OCA has no overdue-days hold, no warning threshold, no manual or "
    "cash-only hold; its nearest rule is a limit on unpaid (past due) amounts. An order over "
    "the risk is not refused: action_confirm returns a wizard that can confirm it anyway.",
    "order risk": "OCA stores risk_amount on every order line (kept up to date on writes); "
    "credit_collections computes from the orders at check time. The generator knows nothing "
    "of risk_amount: fix_order_risk sets it, checked against the ORM's recomputation.",
    "second currency": "OCA converts the company-currency residual of a second-currency item "
    "as if it were in that currency (account_financial_risk _get_amount_in_risk_currency): "
    "its receivable risk differs from Odoo's credit for customers with such items "
    "(risk_differences in the JSON); the time is measured all the same.",
    "dunning levels": "OCA levels apply per invoice, one level up per run (a level needs a line "
    "of the previous level already sent, its delay counted from the due date): a first run "
    "puts every overdue invoice at the first level, a second run the same day moves those "
    "15 days overdue to the second. credit_collections applies to each customer the level "
    "of its oldest invoice, once per level. OCA has no level before the due date, no "
    "letter with the email (letters are a separate channel and printing wizard), no invoice "
    "attached, no credit hold, no activity, no fee.",
    "dunning run": "OCA's run is a manual wizard in three steps (generate the lines, mark them "
    "ready, run the channel action), in one transaction, no scheduled action; it writes one "
    "tracked credit.control.line per overdue invoice and one communication per customer and "
    "level, and attaches a PDF summary to each email (a template without it with "
    "--no-documents).",
}
# Levels like credit_collections' overdue levels: (name, days after the due date).
LEVELS = (("First reminder", 1), ("Second reminder", 15), ("Final notice", 30))
LEVEL_TEXT = "Our records indicate that the invoices listed below are overdue."


# ----------------------------------------------------------------------
# Addons and database
# ----------------------------------------------------------------------


def _normalized(name):
    return re.sub(r"[-_.]+", "_", name).lower()


def _pip(python, *arguments):
    command = [python, "-m", "pip", *arguments, "--disable-pip-version-check", "-q"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{completed.stderr}")


def _wheel(wheel_dir, distribution, version=None):
    """The wheel file of distribution (and version) in wheel_dir, or None."""
    pattern = f"{_normalized(distribution)}-{version or SERIES + '.*'}-*.whl"
    found = sorted(glob.glob(os.path.join(wheel_dir, pattern)))
    return found[-1] if found else None


def core_addons_paths():
    """The folders of Odoo's own addons (as bin/lib.sh finds them)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__)))
    return [
        path
        for path in (os.path.join(root, "addons"), os.path.join(root, "odoo", "addons"))
        if os.path.isdir(path)
    ]


def _wheel_manifests(wheel):
    """{module: manifest} of the Odoo modules in a wheel file."""
    manifests = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            parts = name.split("/")
            if (
                len(parts) == 4
                and parts[:2] == ["odoo", "addons"]
                and parts[3] == "__manifest__.py"
            ):
                manifests[parts[2]] = ast.literal_eval(archive.read(name).decode("utf-8"))
    return manifests


def _download(python, wheel_dir, distribution, version):
    """The wheel of distribution: pinned version, or the latest of SERIES; from
    wheel_dir, else downloaded there by pip."""
    wheel = _wheel(wheel_dir, distribution, version)
    if wheel:
        return wheel
    if version:
        requirement = f"{distribution}=={version}"
    else:
        requirement = f"{distribution}>={SERIES},<{NEXT_SERIES}"
    _pip(python, "download", "--no-deps", "--only-binary=:all:", "-d", wheel_dir, requirement)
    wheel = _wheel(wheel_dir, distribution, version)
    if not wheel:
        raise RuntimeError(f"pip downloaded no wheel of {requirement}")
    return wheel


def prepare_addons(target_dir, wheel_dir=None, python=None, other_addons_paths=()):
    """Downloads (or reuses) the pinned OCA wheels and the wheels of the OCA
    modules they depend on (manifests' depends, the latest SERIES wheel of each),
    and unpacks them into target_dir with ``pip install --no-deps --target``
    (never into site-packages, never Odoo from PyPI); unpacked again only when
    the set of wheels changed.

    :param wheel_dir: where wheels are downloaded and reused (default
        target_dir/wheels)
    :param other_addons_paths: folders whose modules need no wheel (Odoo's core
        addons are always known)
    :return: the addons folder to append to --addons-path
    """
    python = python or sys.executable
    target_dir = os.path.abspath(target_dir)
    wheel_dir = os.path.abspath(wheel_dir or os.path.join(target_dir, "wheels"))
    addons_dir = os.path.join(target_dir, "odoo", "addons")
    os.makedirs(wheel_dir, exist_ok=True)
    known = set()
    for path in [*core_addons_paths(), *other_addons_paths]:
        known.update(
            name
            for name in os.listdir(path)
            if os.path.isfile(os.path.join(path, name, "__manifest__.py"))
        )
    wanted = dict(OCA_WHEELS)  # distribution: pinned version, or None: latest of SERIES
    wheels, provided, depends = {}, set(), set()
    while len(wheels) < len(wanted):
        for distribution, version in list(wanted.items()):
            if distribution in wheels:
                continue
            wheels[distribution] = _download(python, wheel_dir, distribution, version)
            manifests = _wheel_manifests(wheels[distribution])
            if not manifests:
                raise RuntimeError(f"{wheels[distribution]} holds no Odoo module")
            provided.update(manifests)
            for manifest in manifests.values():
                depends.update(manifest.get("depends", []))
        for name in sorted(depends - provided - known):
            distribution = f"odoo-addon-{name}"
            if distribution in wanted:
                raise RuntimeError(f"{wheels[distribution]} does not provide the module {name}")
            wanted[distribution] = None
    # the wheels unpacked last time, in a stamp file: unpacked again when they change
    unpacked = "\n".join(sorted(os.path.basename(wheel) for wheel in wheels.values()))
    stamp = os.path.join(target_dir, "oca-wheels.txt")
    previous = ""
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as stream:
            previous = stream.read()
    present = all(
        os.path.isfile(os.path.join(addons_dir, name, "__manifest__.py")) for name in provided
    )
    if unpacked != previous or not present:
        # all at once: pip --target --upgrade replaces the whole odoo/ folder
        command = ["install", "--no-deps", "--no-index", "--upgrade", "--target", target_dir]
        _pip(python, *command, *wheels.values())
        with open(stamp, "w", encoding="utf-8") as stream:
            stream.write(unpacked)
    return addons_dir


def install_database(
    database, addons_path, db_host=None, db_user=None, data_dir=None, logfile=None, python=None
):
    """Creates database (if missing) with MODULES installed, without demo data,
    with Odoo's command line; raises RuntimeError with the errors of the log."""
    command = [
        python or sys.executable,
        "-m",
        "odoo",
        "-d",
        database,
        "--addons-path",
        addons_path,
        "-i",
        ",".join(MODULES),
        "--without-demo=all",
        "--stop-after-init",
        "--log-level=info",
    ]
    if db_host:
        command += ["--db_host", db_host]
    if db_user:
        command += ["--db_user", db_user]
    if data_dir:
        command += ["--data-dir", data_dir]
    if logfile:
        command += ["--logfile", logfile]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    log = completed.stderr
    if logfile and os.path.exists(logfile):
        with open(logfile, encoding="utf-8", errors="replace") as stream:
            log = stream.read()
    errors = [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]
    if completed.returncode or errors:
        raise RuntimeError(
            f"installing {', '.join(MODULES)} into {database} failed:\n"
            + "\n".join(errors or log.splitlines()[-40:])
        )


def _require_modules(env):
    env.cr.execute(
        "SELECT name FROM ir_module_module WHERE state = 'installed' AND name = ANY(%s)",
        [list(MODULES) + ["credit_collections"]],
    )
    installed = {row[0] for row in env.cr.fetchall()}
    missing = set(MODULES) - installed
    if missing:
        raise RuntimeError(f"{env.cr.dbname}: not installed: {', '.join(sorted(missing))}")
    if "credit_collections" in installed:
        raise RuntimeError(f"{env.cr.dbname}: credit_collections is installed, not a peer database")


def module_versions(env):
    """{module: installed version} of the OCA modules and their OCA dependencies."""
    env.cr.execute(
        "SELECT name, latest_version FROM ir_module_module "
        "WHERE state = 'installed' AND author ILIKE %s ORDER BY name",
        ["%Odoo Community Association%"],
    )
    return dict(env.cr.fetchall())


# ----------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------


def _versioned(versions, module):
    return f"{module} {versions.get(module, '?')}"


# ----------------------------------------------------------------------
# Credit check: sale_financial_risk
# ----------------------------------------------------------------------


def fix_order_risk(env, data, sample=5):
    """risk_amount of the generated order lines: the generator copies it from the
    template's line, unscaled (it knows nothing of OCA's stored field). Set to
    what OCA computes without stock moves: price_total of the quantity not yet
    invoiced; a sample checked against the ORM's recomputation. Returns the
    lines updated."""
    lines = data.orders.order_line
    env.flush_all()
    env.cr.execute(
        """
        UPDATE sale_order_line
           SET risk_amount = CASE WHEN state <> 'sale' OR display_type IS NOT NULL
                                    OR product_uom_qty = 0 THEN 0
                                  ELSE price_total * (product_uom_qty - qty_invoiced)
                                       / product_uom_qty END
         WHERE id = ANY(%s)
        """,
        [lines.ids],
    )
    updated = env.cr.rowcount
    env.invalidate_all()
    sample_lines = lines[:1] | lines[1:][:: max(1, len(lines) // sample)]
    stored = {line.id: line.risk_amount for line in sample_lines}
    with env.cr.savepoint() as savepoint:
        env.add_to_compute(lines._fields["risk_amount"], sample_lines)
        computed = {line.id: line.risk_amount for line in sample_lines}
        savepoint.close(rollback=True)
    env.invalidate_all(flush=False)
    currency = data.company.currency_id
    for line_id, amount in stored.items():
        if currency.compare_amounts(amount, computed[line_id]):
            raise AssertionError(f"risk_amount of line {line_id}: {amount} != {computed[line_id]}")
    return updated


def set_risk_policy(company, partners):
    """The customers' risk counts everything credit_collections counts, against a
    credit limit far above it (OCA reads Odoo's credit_limit); no per-figure
    limit; over-risk confirmation not allowed (the default): an order passes
    after every figure is computed."""
    # as benchmark credit_check: Odoo's credit limits on, so that Odoo's own
    # warning (the common peer) computes credit_to_invoice, as in its database
    company.write({"allow_overrisk_sale_confirmation": False, "account_use_credit_limit": True})
    partners.with_company(company).write(
        {
            "credit_limit": dataset.CREDIT_LIMIT,
            "risk_invoice_draft_include": True,
            "risk_invoice_open_include": True,
            "risk_invoice_unpaid_include": True,
            "risk_account_amount_include": True,
            "risk_account_amount_unpaid_include": True,
            "risk_sale_order_include": True,
        }
    )


def check_data(env, data, sample=20):
    """The data set checked with Odoo's figures (dataset.check_dataset), and OCA's
    risk figures of a sample of customers (the top customer first) next to the
    generated amounts: risk_sale_order equals credit_to_invoice, the receivable
    risk equals Odoo's credit but for second-currency items, whose company-currency
    residual OCA converts again (see NOT_COMPARABLE): checked as such. Returns
    (checks, {customer: credit and OCA's receivable risk where they differ})."""
    checks = dataset.check_dataset(env, data)
    env.invalidate_all()
    currency = data.company.currency_id
    partners = data.partners.with_company(data.company)
    sample_partners = partners[:1] | partners[1:][:: max(1, (len(partners) - 1) // sample)]
    differences = {}
    today = fields.Date.context_today(env.user)
    # open receivable of the sample by customer and currency, in company currency
    env.cr.execute(
        """
        SELECT line.partner_id, line.currency_id, SUM(line.amount_residual)
          FROM account_move_line line
          JOIN account_account account ON account.id = line.account_id
         WHERE line.partner_id = ANY(%s) AND account.account_type = 'asset_receivable'
           AND line.parent_state = 'posted' AND NOT line.reconciled
      GROUP BY 1, 2
        """,
        [sample_partners.ids],
    )
    rows = env.cr.fetchall()
    as_oca = {}  # what OCA's conversion gives: foreign items' residual converted again
    for partner_id, currency_id, residual in rows:
        if currency_id != currency.id:
            residual = (
                env["res.currency"]
                .browse(currency_id)
                ._convert(residual, currency, data.company, today, round=False)
            )
        as_oca[partner_id] = as_oca.get(partner_id, 0.0) + residual
    for partner in sample_partners:
        credit = data.expected_credit[partner.id]
        to_invoice = data.expected_to_invoice.get(partner.id, 0.0)
        for label, actual, expected in (
            ("credit", partner.credit, credit),
            ("credit_to_invoice", partner.credit_to_invoice, to_invoice),
            ("risk_sale_order", partner.risk_sale_order, to_invoice),
        ):
            if currency.compare_amounts(actual, expected):
                raise AssertionError(f"{partner.name}: {label} {actual} != expected {expected}")
        receivable = partner.risk_invoice_open + partner.risk_invoice_unpaid
        if currency.compare_amounts(receivable, as_oca.get(partner.id, 0.0)):
            raise AssertionError(
                f"{partner.name}: risk_invoice_open + risk_invoice_unpaid {receivable} != "
                f"{as_oca.get(partner.id, 0.0)}"
            )
        if currency.compare_amounts(receivable, credit):
            differences[partner.name] = {
                "credit": credit,
                "risk_invoice_open + risk_invoice_unpaid": receivable,
            }
    checks["sampled_customers_risk"] = len(sample_partners)
    env.invalidate_all()
    return checks, differences


def _confirm(quotation):
    """action_confirm of sale_financial_risk: True, or the wizard's action when
    the risk is exceeded."""
    return quotation.action_confirm()


def check_confirmation(env, data, quotation):
    """One real action_confirm, rolled back, confirms the order; over the credit
    limit, over the limit on confirmed orders and (when some invoices are past
    due) over a limit on unpaid invoices, the same order is stopped by the risk
    wizard. Returns {case: message of the wizard}."""
    partner = quotation.partner_id.commercial_partner_id.with_company(data.company)
    with env.cr.savepoint() as savepoint:
        result = _confirm(quotation)
        env.flush_all()
        if result is not True or quotation.state != "sale":
            raise AssertionError(f"{quotation.name} was not confirmed: {result}")
        savepoint.close(rollback=True)
    cases = {
        "over_limit": {"credit_limit": 1.0},
        "orders_limit": {"risk_sale_order_limit": 1.0},
        "unpaid_limit": {"risk_invoice_unpaid_limit": 1.0},
    }
    if not partner.risk_invoice_unpaid:
        del cases["unpaid_limit"]  # nothing past due
    refusals = {}
    for case, values in cases.items():
        env.invalidate_all(flush=False)
        with env.cr.savepoint() as savepoint:
            partner.write(values)
            result = _confirm(quotation)
            if not isinstance(result, dict) or result.get("res_model") != (
                "partner.risk.exceeded.wiz"
            ):
                raise AssertionError(f"{case}: {quotation.name} was confirmed, not stopped")
            wizard = env[result["res_model"]].browse(result["res_id"])
            refusals[case] = " ".join(wizard.exception_msg.split())
            savepoint.close(rollback=True)
    env.invalidate_all(flush=False)
    if quotation.state != "draft":
        raise AssertionError(f"{quotation.name} should be a quotation again")
    return refusals


def measure_risk_check(env, data, quotation, repeat, label):
    """OCA's risk check of confirming quotation, exactly as sale_financial_risk's
    action_confirm runs it, next to Odoo's credit warning of the same quotation:
    harness.Result."""

    def risk_check():
        for order in quotation.filtered(
            lambda order: not order.company_id.allow_overrisk_sale_confirmation
        ):
            message = order.evaluate_risk_message(order.partner_invoice_id.commercial_partner_id)
            if message:
                raise AssertionError(f"the risk check stopped the order: {message}")

    def odoo_warning():
        return quotation.partner_credit_warning

    return harness.Result(
        f"OCA risk check on confirming one order: {label}",
        dataset.customer_size(env, data, quotation.partner_id),
        harness.measure(env, risk_check, repeat),
        dataset.CREDIT_CHECK_PEER,
        harness.measure(env, odoo_warning, repeat),
    )


def measure_confirm(env, data, quotation, repeat):
    def confirm():
        with env.cr.savepoint() as savepoint:
            if _confirm(quotation) is not True:
                raise AssertionError("the order was stopped")
            env.flush_all()
            savepoint.close(rollback=True)

    return harness.Result(
        f"OCA action_confirm of one order (rolled back): {dataset.TOP}",
        dataset.customer_size(env, data, quotation.partner_id),
        harness.measure(env, confirm, repeat),
    )


def measure_exposure(env, data, repeat):
    """OCA's risk columns of dataset.EXPOSURE_CUSTOMERS customers read at once as
    the partner list reads them, next to Odoo's credit and credit_to_invoice."""
    partners = data.partners[: dataset.EXPOSURE_CUSTOMERS]
    return harness.Result(
        f"OCA risk of {len(partners):,} customers (list view)",
        data.describe(),
        harness.measure(env, dataset.list_read(env, data, RISK_FIELDS), repeat),
        dataset.EXPOSURE_PEER,
        harness.measure(env, dataset.list_read(env, data, dataset.ODOO_EXPOSURE_FIELDS), repeat),
    )


def credit_check(env, args, data, versions):
    """The credit check part: [(harness.Result, kind)], data, module."""
    company = data.company
    top, few = data.top_partner, data.few_partner
    set_risk_policy(company, top | few)
    quotation = dataset.new_quotation(env, data, top)
    few_quotation = dataset.new_quotation(env, data, few)
    env.cr.commit()
    env.invalidate_all()
    top_risk = {name: top.with_company(company)[name] for name in TOP_RISK_FIELDS}
    env.invalidate_all()
    refusals = check_confirmation(env, data, quotation)
    harness.say(
        "OCA risk check: the order passes, and is stopped by the risk wizard when changed to:"
    )
    for case, message in refusals.items():
        harness.say(f"  {case}: {message}")
    harness.say(f"Measuring, median of {args.repeat} runs...")
    results = [
        (measure_risk_check(env, data, quotation, args.repeat, dataset.TOP), "credit_check_top"),
    ]
    if few != top:
        results.append(
            (
                measure_risk_check(env, data, few_quotation, args.repeat, dataset.FEW),
                "credit_check_few",
            )
        )
    results.append((measure_confirm(env, data, quotation, args.repeat), "confirm_top"))
    results.append((measure_exposure(env, data, args.repeat), "exposure"))
    part_data = {"top_customer_risk": top_risk, "refusals": refusals, "computes": RISK_COMPUTES}
    return results, part_data, _versioned(versions, "sale_financial_risk")


# ----------------------------------------------------------------------
# Dunning: account_credit_control
# ----------------------------------------------------------------------


def prepare_policy(company, no_documents=False):
    """A credit control policy for the company, levels LEVELS (days after the due
    date, email, overdue invoices listed in the email), its default policy. With
    no_documents, a copy of OCA's email template without the PDF summary."""
    env = company.env
    if not company.email:
        company.email = dataset.COMPANY_EMAIL
    template = env.ref("account_credit_control.email_template_credit_control_base")
    if no_documents:
        template = template.copy(
            {"name": f"{template.name} (no PDF)", "report_template_ids": [(5, 0, 0)]}
        )
    receivable = env["account.account"].search(
        [
            *env["account.account"]._check_company_domain(company),
            ("account_type", "=", "asset_receivable"),
        ]
    )
    policy = env["credit.control.policy"].create(
        {
            "name": "Benchmark policy (as credit_collections' overdue levels)",
            "company_id": company.id,
            "account_ids": [(6, 0, receivable.ids)],
            "level_ids": [
                (
                    0,
                    0,
                    {
                        "name": name,
                        "level": index,
                        "computation_mode": "net_days",
                        "delay_days": delay,
                        "channel": "email",
                        "email_template_id": template.id,
                        "mail_show_invoice_detail": True,
                        "custom_text": LEVEL_TEXT,
                        "custom_mail_text": f"<p>{LEVEL_TEXT}</p>",
                    },
                )
                for index, (name, delay) in enumerate(LEVELS, 1)
            ],
        }
    )
    company.credit_policy_id = policy
    return policy, template


def expected_first_run(env, data, policy, today):
    """{"lines", "customers", "communications"}: the open receivable lines in
    debit of the data set that a first run reaches (due at least the first
    level's delay ago, open amount above the company's tolerance), their
    customers, and their (customer, currency) pairs: one communication each."""
    first = policy.level_ids.sorted("level")[:1]
    company = data.company
    env.cr.execute(
        """
        SELECT count(*), count(DISTINCT line.partner_id),
               count(DISTINCT (line.partner_id, line.currency_id))
          FROM account_move_line line
          JOIN account_account account ON account.id = line.account_id
         WHERE line.move_id = ANY(%s) AND account.account_type = 'asset_receivable'
           AND line.parent_state = 'posted' AND NOT line.reconciled AND line.debit > 0
           AND line.date_maturity + %s <= %s
           AND CASE WHEN line.currency_id = %s THEN line.amount_residual
                    ELSE line.amount_residual_currency END >= %s
        """,
        [
            data.invoices.ids,
            first.delay_days,
            today,
            company.currency_id.id,
            company.credit_control_tolerance,
        ],
    )
    lines, customers, communications = env.cr.fetchone()
    return {"lines": lines, "customers": customers, "communications": communications}


def snapshot(env):
    """The last mail and message ids and the PDFs: {figure: count}."""
    return harness.count_rows(
        env,
        {
            "last_mail_id": "SELECT COALESCE(MAX(id), 0) FROM mail_mail",
            "last_message_id": "SELECT COALESCE(MAX(id), 0) FROM mail_message",
            "pdf_attachments": "SELECT count(*) FROM ir_attachment "
            "WHERE mimetype = 'application/pdf'",
        },
    )


def outcome(env, run, before):
    """What the run created: {figure: count}."""
    env.flush_all()
    created = {}
    env.cr.execute(
        """
        SELECT level.name, line.state, line.channel, count(*)
          FROM credit_control_line line
          JOIN credit_control_policy_level level ON level.id = line.policy_level_id
         WHERE line.run_id = %s GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        """,
        [run.id],
    )
    lines = queued = 0
    for level, state, channel, count in env.cr.fetchall():
        name = level.get("en_US") if isinstance(level, dict) else level
        created[f"credit.control.line ({name}, {state}, {channel})"] = count
        lines += count
        queued += count if state == "queued" and channel == "email" else 0
    created["lines"], created["lines_queued"] = lines, queued
    env.cr.execute(
        """
        SELECT count(DISTINCT line.communication_id), count(DISTINCT line.partner_id)
          FROM credit_control_line line WHERE line.run_id = %s
        """,
        [run.id],
    )
    created["communications"], created["customers"] = env.cr.fetchone()
    env.cr.execute(
        """
        SELECT message.model, mail.state, count(*)
          FROM mail_mail mail JOIN mail_message message ON message.id = mail.mail_message_id
         WHERE mail.id > %s GROUP BY 1, 2 ORDER BY 1, 2
        """,
        [before["last_mail_id"]],
    )
    mails = 0
    for model, state, count in env.cr.fetchall():
        created[f"mail.mail ({model}, {state})"] = count
        mails += count
    created["mail_mail"] = mails
    env.cr.execute(
        "SELECT model, count(*) FROM mail_message WHERE id > %s GROUP BY 1 ORDER BY 1",
        [before["last_message_id"]],
    )
    for model, count in env.cr.fetchall():
        created[f"mail.message ({model})"] = count
    env.cr.execute("SELECT count(*) FROM ir_attachment WHERE mimetype = 'application/pdf'")
    created["pdf_attachments"] = env.cr.fetchone()[0] - before["pdf_attachments"]
    return created


def credit_control_run(env, company, policy, today):
    """One credit control run as a user makes it, each step measured once and
    committed (a request each): new run and its lines generated, lines marked
    ready, channel action (communications, emails queued). Returns (run, [(step,
    harness.Measurement)])."""
    # queued, not sent: as credit_collections' engine does
    queue_env = env(context=dict(env.context, mail_notify_force_send=False))
    state = {}

    def generate():
        run = queue_env["credit.control.run"].create(
            {"date": today, "company_id": company.id, "policy_ids": [(6, 0, policy.ids)]}
        )
        run.generate_credit_lines()
        state["run"] = run

    def mark_ready():
        state["run"].set_to_ready_lines()

    def queue_emails():
        state["run"].run_channel_action()

    steps = []
    for label, step in (
        ("generate credit control lines", generate),
        ("mark the lines ready", mark_ready),
        ("communications and emails queued", queue_emails),
    ):
        steps.append((label, harness.measure(env, step, 1)))
        env.cr.commit()
    return state["run"], steps


def dunning_run(env, args, data, policy, template, versions):
    """The dunning part, committed: two credit control runs the same day (as the
    suite runs the follow-ups twice). Returns ([(harness.Result, kind)], data,
    module)."""
    company = data.company
    today = fields.Date.context_today(env.user)
    expected = expected_first_run(env, data, policy, today)
    suffix = " (no documents)" if args.no_documents else ""
    results, runs, problems = [], {}, []
    for label, kind in (
        ("OCA credit control run", "followup_run"),
        ("OCA credit control run again, same day", "followup_run_again"),
    ):
        if kind not in args.parts:
            continue
        harness.say(
            f"Running {label} ("
            + ("template without the PDF summary" if args.no_documents else "PDF summary attached")
            + ")..."
        )
        before = snapshot(env)
        run, steps = credit_control_run(env, company, policy, today)
        created = outcome(env, run, before)
        seconds = sum(measurement.seconds for _step, measurement in steps)
        queries = sum(measurement.queries for _step, measurement in steps)
        total = harness.Measurement.once(seconds, queries)
        results.append((harness.Result(label + suffix, data.describe(), total), kind))
        results += [
            (harness.Result(f"  {label}: {step}", data.describe(), measurement), None)
            for step, measurement in steps
        ]
        runs[label] = {
            "seconds": round(seconds, 3),
            "queries": queries,
            "steps": {
                step: {"seconds": round(m.seconds, 3), "queries": m.queries} for step, m in steps
            },
            "created": created,
            "queries_per_customer": round(queries / len(data.partners), 2),
            "queries_per_line": round(queries / max(created["lines"], 1), 2),
        }
        harness.say(
            f"  {created['lines']:,} lines, {created['communications']:,} communications, "
            f"{created['mail_mail']:,} emails queued, {created['pdf_attachments']:,} PDFs "
            f"in {seconds:.1f} s, {queries:,} queries"
        )
        if kind == "followup_run":
            if (
                created["lines"] != expected["lines"]
                or created["lines_queued"] != expected["lines"]
            ):
                problems.append(
                    f"{label}: {created['lines']} lines, {created['lines_queued']} queued: "
                    f"expected {expected['lines']}"
                )
            if (created["communications"], created["customers"]) != (
                expected["communications"],
                expected["customers"],
            ):
                problems.append(
                    f"{label}: {created['communications']} communications to "
                    f"{created['customers']} customers: expected {expected['communications']} "
                    f"to {expected['customers']}"
                )
        outgoing = created.get("mail.mail (credit.control.communication, outgoing)", 0)
        if outgoing != created["communications"] or outgoing != created["mail_mail"]:
            problems.append(
                f"{label}: {created['mail_mail']} emails, {outgoing} queued to the customers, "
                f"{created['communications']} communications"
            )
    part_data = {
        "expected_first_run": expected,
        "levels": [{"name": name, "days": delay, "channel": "email"} for name, delay in LEVELS],
        "pdf_summary_attached": bool(template.report_template_ids),
        "runs": runs,
        "problems": problems,
    }
    return results, part_data, _versioned(versions, "account_credit_control")


# ----------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------


def _add_options(parser):
    """This command's own options (harness.parse_args gives the others)."""
    parser.add_argument(
        "--prepare-addons",
        metavar="DIR",
        help="unpack the OCA wheels into DIR, print the addons path, and stop",
    )
    parser.add_argument(
        "--wheel-dir", metavar="DIR", help="where the wheels are (default DIR/wheels)"
    )
    parser.add_argument(
        "--install", action="store_true", help="create the database first (install_database)"
    )
    parser.add_argument(
        "--part",
        action="append",
        dest="parts",
        choices=PARTS,
        help="one part only (repeatable); followup_run_again by default with --small only",
    )
    return parser


def parse_args(argv=None):
    """harness.parse_args with the data set's sizes (dataset.DATA_SIZES), the
    no-documents switch, and this command's own options."""
    description = (
        "OCA peers of credit_collections' benchmarks on the same generated data set "
        "(--part credit_check|followup_run|followup_run_again, repeatable; the last, "
        "a second run the same day, by default with --small only; --install: create the "
        "database first; --prepare-addons DIR [--wheel-dir DIR]: unpack the OCA wheels, "
        "print the addons path)"
    )
    args = harness.parse_args(
        description,
        dataset.DATA_SIZES,
        argv,
        flags={"no-documents": "the OCA email template without its PDF summary"},
        add_options=_add_options,
    )
    args.parts = args.parts or list(PARTS if args.small else DEFAULT_PARTS)
    if "followup_run_again" in args.parts and "followup_run" not in args.parts:
        args.parts.append("followup_run")
    return args


def run(argv=None):
    """Measures the OCA peers on the database of --database (MODULES installed,
    or created with --install) on the data set of dataset.generate_dataset;
    prints them and, with --results-dir, writes them as JSON
    (oca_<partners>x<invoices>x<orders>[_no_documents].json). Returns (rows,
    data): the rows as dicts (``Result.as_dict``), data as written in the JSON."""
    args = parse_args(argv)
    if args.install:
        harness.say(f"Installing {', '.join(MODULES)} into {args.database}...")
        install_database(args.database, args.addons_path, args.db_host, args.db_user, args.data_dir)
    rows, results = [], []
    with harness.odoo_env(args, harness.ODOO_OPTIONS) as env:
        _require_modules(env)
        versions = module_versions(env)
        harness.say("OCA modules: " + ", ".join(f"{name} {v}" for name, v in versions.items()))
        company = env.ref("base.main_company")
        if "followup_run" in args.parts:
            policy, template = prepare_policy(company, args.no_documents)
        risk = {}

        def prepare(data):
            risk["lines"] = fix_order_risk(env, data)
            company.account_use_credit_limit = True  # Odoo's credit_to_invoice, as ours

        # The collector of every customer: its salesperson, as in the suite.
        data, size = dataset.generate(
            env, args, company, salesperson=env.ref("base.user_admin"), prepare=prepare
        )
        checks, differences = check_data(env, data)
        harness.say(
            f"Data checked with Odoo's figures: open receivable {checks['receivable']:,.2f}; "
            f"OCA's risk_sale_order equals Odoo's credit_to_invoice for "
            f"{checks['sampled_customers_risk']} customers"
        )
        if differences:
            harness.say(
                f"OCA's receivable risk differs from Odoo's credit for {len(differences)} of "
                f"{checks['sampled_customers_risk']} customers (second currency, see "
                "NOT_COMPARABLE)"
            )
        json_data = {
            "oca_modules": versions,
            "sizes": data.sizes(),
            "generation_seconds": round(data.seconds, 3),
            "database_size_bytes": size,
            "no_documents": args.no_documents,
            "order_lines_risk_amount_set": risk["lines"],
            "checks": checks,
            "risk_differences": differences,
            "not_comparable": NOT_COMPARABLE,
        }
        modules = {}
        if "credit_check" in args.parts:
            part_results, json_data["credit_check"], modules["credit_check"] = credit_check(
                env, args, data, versions
            )
            results += [(result, kind, modules["credit_check"]) for result, kind in part_results]
        if "followup_run" in args.parts:
            part_results, json_data["followup_run"], modules["followup_run"] = dunning_run(
                env, args, data, policy, template, versions
            )
            results += [(result, kind, modules["followup_run"]) for result, kind in part_results]
        for result, kind, module in results:
            compares_to = dataset.operation(kind, args.no_documents) if kind else None
            rows.append(result.as_dict(compares_to=compares_to, kind=kind, module=module))
        json_data["compares_to"] = {row["operation"]: row["compares_to"] for row in rows}
        # what benchmarks/suite.py --peer-results reads: each row's kind and module
        json_data["peers"] = [
            {key: row[key] for key in ("operation", "compares_to", "kind", "module")}
            for row in rows
            if row["compares_to"]
        ]
        problems = json_data.get("followup_run", {}).get("problems", [])
        json_data["problems"] = problems

        harness.say(f"\nOCA peers, median of {args.repeat} runs (credit control runs: once):\n")
        harness.print_table([result for result, _kind, _module in results])
        harness.say("\nNext to credit_collections' operations:")
        for row in rows:
            if row["compares_to"]:
                harness.say(f"- {row['operation']}: {row['compares_to']}")
        if args.log_queries:
            harness.print_queries([result for result, _kind, _module in results])
        path = harness.result_path(args, BENCHMARK, no_documents=args.no_documents)
        if path:
            harness.write_json(
                path,
                BENCHMARK,
                env,
                args,
                json_data,
                [result for result, _kind, _module in results],
            )
        for problem in problems:
            harness.say(f"Problem: {problem}")
        harness.say("Results checked: " + ("WRONG" if problems else "all correct"))
    return rows, json_data


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    # --prepare-addons needs no database: the other options are not read
    own, _rest = _add_options(argparse.ArgumentParser(add_help=False)).parse_known_args(argv)
    if own.prepare_addons:
        harness.say(prepare_addons(own.prepare_addons, own.wheel_dir))
        return 0
    _rows, data = run(argv)
    return 1 if data["problems"] else 0


if __name__ == "__main__":
    sys.exit(harness.run_main(main))
