"""Fail when installing credit_collections logged a WARNING or ERROR.

Odoo reports models without access rules, deprecated view syntax, bad
translation placeholders and failed data records as log lines, not as a failed
install: each of them is a defect of the addon.
"""

import re
import sys

LEVEL = re.compile(r"^\S+ \S+ \d+ (WARNING|ERROR|CRITICAL) ")

# Lines core Odoo prints on every fresh install of account and sale_management
# without any fault of ours.
KNOWN_CORE_NOISE = (re.compile(r"odoo\.modules\.loading: The models \[.*\] have no access rules"),)


def main(path):
    problems = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            if not LEVEL.match(line):
                continue
            if any(pattern.search(line) and "credit" not in line for pattern in KNOWN_CORE_NOISE):
                continue
            problems.append(line.rstrip())
    if problems:
        print("Installing credit_collections logged warnings or errors:", file=sys.stderr)
        for line in problems:
            print("  " + line, file=sys.stderr)
        return 1
    print("[credit_collections] install log clean", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
