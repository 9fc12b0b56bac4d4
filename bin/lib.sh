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

# Runs Odoo's own command line with the given arguments.
cc_odoo() {
    "$CC_PYTHON" -m odoo "$@"
}
