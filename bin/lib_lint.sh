# Shared by bin/lint and bin/format (source after lib.sh).
# Prettier and its XML plugin, pinned in package.json / package-lock.json, are
# installed on first use into the repository's own ignored folder .cache/node,
# the way cc_require_python_packages installs the Python lint tools.

CC_NODE_DIR="$CC_REPO/.cache/node"

cc_require_node_packages() {
    command -v npm >/dev/null 2>&1 || cc_die "npm is needed for prettier: install Node.js (Debian: nodejs npm)"
    if ! cmp -s "$CC_REPO/package-lock.json" "$CC_NODE_DIR/package-lock.json" \
        || [ ! -x "$CC_NODE_DIR/node_modules/.bin/prettier" ]; then
        cc_log "installing prettier and @prettier/plugin-xml into .cache/node"
        mkdir -p "$CC_NODE_DIR"
        cp "$CC_REPO/package.json" "$CC_REPO/package-lock.json" "$CC_NODE_DIR/"
        npm ci --prefix "$CC_NODE_DIR" --no-audit --no-fund --loglevel=error >/dev/null \
            || cc_die "npm could not install the packages of package-lock.json"
    fi
}

# The files prettier formats: the addons' XML and JS (and style sheets).
cc_prettier_files() {
    cd "$CC_REPO" && git ls-files --cached --others --exclude-standard \
        'credit_collections*/*.xml' 'credit_collections*/*.js' \
        'credit_collections*/*.scss' 'credit_collections*/*.css'
}

# Files written before the formatting was checked, listed until bin/format
# rewrites them once (then it deletes the list): every other file, and every
# new one, is checked.
CC_PRETTIER_PENDING="$CC_REPO/.prettier-pending"

# cc_prettier --check|--write: prettier over cc_prettier_files, with the XML
# plugin; --check leaves out the files of .prettier-pending.
cc_prettier() {
    local files
    if [ "$1" = --check ] && [ -f "$CC_PRETTIER_PENDING" ]; then
        mapfile -t files < <(cc_prettier_files | grep -vxF -f "$CC_PRETTIER_PENDING")
    else
        mapfile -t files < <(cc_prettier_files)
    fi
    [ "${#files[@]}" -gt 0 ] || return 0
    (cd "$CC_REPO" && "$CC_NODE_DIR/node_modules/.bin/prettier" "$1" \
        --plugin="$CC_NODE_DIR/node_modules/@prettier/plugin-xml/src/plugin.js" \
        --ignore-path=.prettierignore --log-level=warn "${files[@]}")
}
