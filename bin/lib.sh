# Shared set-up for bin/demo and bin/test. Sourced, never run.
# Each command brings what it needs: Odoo 18 must already be importable by
# python3 (bring your own, as for any addon); PostgreSQL, Python and Debian
# packages are provided here when missing.

CC_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CC_PYTHON="${PYTHON:-python3}"
export TZ=UTC

cc_log() { printf '\033[1m[credit_collections]\033[0m %s\n' "$*" >&2; }
cc_die() { printf '\033[1;31m[credit_collections] ERROR:\033[0m %s\n' "$*" >&2; exit 2; }

# Stops at once when Odoo 18 is not importable: a partial run proves nothing.
cc_require_odoo() {
    local version
    if ! version=$("$CC_PYTHON" -c 'import odoo.release as r; print(r.major_version)' 2>/dev/null); then
        cc_die "python3 cannot import Odoo. Install an Odoo 18.0 Community source checkout \
(its requirements.txt, then 'pip install --no-deps -e <odoo-source>'), or point \
PYTHONPATH at it, or set PYTHON to an interpreter that imports it. See README.md."
    fi
    [ "$version" = "18.0" ] || cc_die "python3 imports Odoo $version; credit_collections needs Odoo 18.0."
}

# Core addons folder of the importable Odoo (source checkout or packaged install).
cc_core_addons_path() {
    if [ -n "${ODOO_ADDONS_PATH:-}" ]; then
        echo "$ODOO_ADDONS_PATH"
        return
    fi
    "$CC_PYTHON" - <<'PY'
import os, odoo
root = os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__)))
for candidate in (os.path.join(root, "addons"), os.path.join(root, "odoo", "addons")):
    if os.path.isdir(os.path.join(candidate, "account")):
        print(candidate)
        break
else:
    raise SystemExit("Odoo's core addons (account, sale_management) were not found next to " + root)
PY
}

cc_addons_path() {
    local core
    core=$(cc_core_addons_path) || cc_die "Odoo's core addons folder was not found; set ODOO_ADDONS_PATH."
    echo "$core,$CC_REPO"
}

# cc_require_commands "cmd:debian-package" ...: installs the Debian packages of missing commands.
cc_require_commands() {
    local missing=() spec
    for spec in "$@"; do
        command -v "${spec%%:*}" >/dev/null 2>&1 || missing+=("${spec#*:}")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null 2>&1 || cc_die "missing programs; install these packages: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    cc_log "installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq >/dev/null || cc_die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null \
        || cc_die "could not install ${missing[*]}"
}

cc_require_python_packages() {
    local requirements="$1"
    if ! "$CC_PYTHON" "$CC_REPO/bin/check_requirements.py" "$requirements" 2>/dev/null; then
        cc_log "installing Python packages from $(basename "$requirements")"
        "$CC_PYTHON" -m pip install -q --disable-pip-version-check -r "$requirements" \
            || cc_die "pip could not install $requirements"
    fi
}

cc_pg_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        pg_config --bindir
        return
    fi
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && { echo "$dir"; return; }
    return 1
}

# initdb and the server refuse to run as root: as root, the cluster belongs to 'postgres'.
cc_as_cluster_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Starts a private PostgreSQL cluster in $1 (socket in that folder, no TCP),
# with a superuser named after the OS user so Odoo never runs as 'postgres'.
# Sets CC_DB_HOST and CC_DB_USER.
cc_start_private_postgres() {
    local dir="$1" bindir
    if ! bindir=$(cc_pg_bindir); then
        cc_require_commands "psql:postgresql"
        bindir=$(cc_pg_bindir) || cc_die "PostgreSQL server programs (initdb, pg_ctl) not found"
    fi
    CC_DB_USER="$(id -un)"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        cc_as_cluster_owner "$bindir/initdb" -D "$dir/data" -U "$CC_DB_USER" -A trust -E UTF8 \
            --locale=C.UTF-8 -N >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; cc_die "initdb failed"; }
    fi
    cc_as_cluster_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start \
        -o "-k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        >/dev/null || { cat "$dir/postgres.log" >&2; cc_die "PostgreSQL did not start"; }
    CC_PG_DIR="$dir"
    CC_DB_HOST="$dir"
}

# Stops the private cluster in $1 (default: the one this script started).
cc_stop_private_postgres() {
    local dir="${1:-${CC_PG_DIR:-}}" bindir
    [ -n "$dir" ] && [ -f "$dir/data/postmaster.pid" ] || return 0
    bindir=$(cc_pg_bindir) || return 0
    cc_as_cluster_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# Starts bin/mail_catcher.py in the background, keeping what it receives as .eml
# files in $1: an SMTP server and a page to read them, both on 127.0.0.1 on free
# ports (CC_MAIL_PAGE_PORT fixes the page's). Sets CC_MAIL_SMTP_PORT,
# CC_MAIL_PAGE_URL and CC_MAIL_PID; cc_stop_mail_catcher stops it.
cc_start_mail_catcher() {
    local dir="$1" ready="$1.ready" waited=0
    rm -f "$ready"
    "$CC_PYTHON" "$CC_REPO/bin/mail_catcher.py" --dir "$dir" --ready-file "$ready" \
        --http-port "${CC_MAIL_PAGE_PORT:-0}" >"$dir.log" 2>&1 &
    CC_MAIL_PID=$!
    until [ -s "$ready" ]; do
        kill -0 "$CC_MAIL_PID" 2>/dev/null || { cat "$dir.log" >&2; cc_die "the mail catcher did not start"; }
        [ "$waited" -lt 100 ] || { cc_stop_mail_catcher; cc_die "the mail catcher did not start within 20 s"; }
        sleep 0.2
        waited=$((waited + 1))
    done
    local page_port
    read -r CC_MAIL_SMTP_PORT page_port <"$ready"
    CC_MAIL_PAGE_URL="http://127.0.0.1:$page_port/"
}

cc_stop_mail_catcher() {
    [ -n "${CC_MAIL_PID:-}" ] || return 0
    kill "$CC_MAIL_PID" 2>/dev/null || true
    wait "$CC_MAIL_PID" 2>/dev/null || true
    CC_MAIL_PID=""
}

# Runs Odoo's own command line with the given arguments.
cc_odoo() {
    "$CC_PYTHON" -m odoo "$@"
}

# Regression check of a core module: Odoo's own tests of MODULE (TAGS) with
# credit_collections installed at its default settings, on a database with
# Odoo's demo data, in a private cluster. Each KNOWN_FAILURE (Class.method) is a
# test that fails the same way without the addon: a failure of Odoo itself.
# Fails on any other failing test, on any other ERROR logged, or when no test
# ran. CC_REGRESSION_LOG=<file> keeps Odoo's full log there.
#   cc_core_regression MODULE TAGS [KNOWN_FAILURE ...]
cc_core_regression() {
    local module="$1" tags="$2" db workdir log status=0 started
    shift 2
    cc_require_odoo
    cc_require_commands "chromium:chromium"
    cc_require_python_packages "$CC_REPO/requirements-test.txt"
    started=$(date +%s)
    workdir=$(mktemp -d "/tmp/credit_collections_${module}.XXXXXX")
    chmod 755 "$workdir"
    CC_REGRESSION_WORKDIR="$workdir"
    trap 'cc_stop_private_postgres; rm -rf "$CC_REGRESSION_WORKDIR"' EXIT
    cc_start_private_postgres "$workdir/pg"
    db="credit_collections_${module}"
    log="${CC_REGRESSION_LOG:-$workdir/$module.log}"
    : >"$log"
    local args=(
        --addons-path="$(cc_addons_path)"
        --db_host="$CC_DB_HOST" --db_user="$CC_DB_USER"
        --data-dir="$workdir/data"
        -d "$db"
    )
    cc_log "installing credit_collections on a database with Odoo's demo data"
    cc_odoo "${args[@]}" -i credit_collections --stop-after-init --log-level=warn
    # Demo data is per database in Odoo 18: ours came along, switched the holds
    # and the credit limits on in the main company and gave it late interest with
    # printed late-payment terms. Put every company back on the defaults.
    cc_log "putting every company back on the addon's default settings"
    cc_odoo shell "${args[@]}" --no-http --log-level=warn >/dev/null <<'PY'
Company = env["res.company"]
names = [
    name
    for name, field in Company._fields.items()
    if name.startswith("credit_")
    and field.store
    and field.type not in ("many2one", "one2many", "many2many")
]
defaults = Company.default_get(names)
vals = {name: defaults.get(name, False) for name in names}
vals["account_use_credit_limit"] = False  # Odoo's default; our demo data turns it on
Company.with_context(active_test=False).search([("active", "in", (True, False))]).write(vals)
env.cr.commit()
PY
    cc_log "running Odoo's $tags tests with credit_collections installed"
    cc_odoo "${args[@]}" -u "$module" --test-tags "$tags" --stop-after-init \
        --log-level=test --logfile="$log" || status=$?
    cc_log "Odoo exited with status $status after $(( ($(date +%s) - started) / 60 )) minutes"
    "$CC_PYTHON" - "$log" "$status" "$@" <<'PY'
"""Read Odoo's test log: every failing test must be a known failure of Odoo."""

import re
import sys

path, odoo_status, known = sys.argv[1], int(sys.argv[2]), set(sys.argv[3:])
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ ([A-Z]+) \S+ (\S+): (.*)$")
RESULT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests")
# Lines Odoo logs at ERROR because a test failed, already counted as failures.
SUMMARY_LOGGERS = {"odoo.tests.result"}
SUMMARY_MESSAGES = {"At least one test failed when loading the modules."}

records = []
with open(path, encoding="utf-8", errors="replace") as log:
    for line in log:
        match = RECORD.match(line)
        if match:
            records.append([match[1], match[2], [match[3]]])
        elif records:
            records[-1][2].append(line.rstrip("\n"))

result = None
known_hit, unexpected, other_errors = [], [], []
for level, logger, lines in records:
    message = lines[0]
    if logger in SUMMARY_LOGGERS:
        result = RESULT.search(message) or result
    if level not in ("ERROR", "CRITICAL"):
        continue
    test = re.match(r"(FAIL|ERROR): (?:Subtest )?(\S+)", message)
    if test:
        (known_hit if test[2] in known else unexpected).append((test[2], logger, lines))
    elif logger not in SUMMARY_LOGGERS and message not in SUMMARY_MESSAGES:
        other_errors.append((logger, lines))

for name, logger, lines in unexpected:
    print(f"\nFAILED {name} ({logger})", *lines, sep="\n", file=sys.stderr)
for logger, lines in other_errors:
    print(f"\nERROR logged by {logger}", *lines, sep="\n", file=sys.stderr)
failed = int(result[1]) + int(result[2]) if result else 0
run = int(result[3]) if result else 0
hit = sorted({name for name, _logger, _lines in known_hit})
print(
    f"\n[credit_collections] {run} tests run, {failed} failed or in error: "
    f"{len(known_hit)} known failures of Odoo itself ({', '.join(hit) or 'none'}), "
    f"{len(unexpected)} other failures, {len(other_errors)} other errors logged",
    file=sys.stderr,
)
for name in sorted(known - set(hit)):
    print(f"[credit_collections] known failure {name} passed this time", file=sys.stderr)
problems = []
if not run:
    problems.append("no test ran")
if unexpected:
    problems.append("tests failed that are not known failures of Odoo itself")
if other_errors:
    problems.append("errors were logged outside the tests' failures")
if failed > len(known_hit) + len(unexpected):
    problems.append("Odoo counted more failures than the log names")
if odoo_status and not (known_hit or unexpected):
    problems.append(f"Odoo exited with status {odoo_status}")
for problem in problems:
    print(f"[credit_collections] ERROR: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY
}
