"""Exit 0 when every requirement of the given file is installed at its pinned version."""

import sys
from importlib import metadata


def main(path):
    for line in open(path, encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _sep, version = line.partition("==")
        try:
            installed = metadata.version(name.strip())
        except metadata.PackageNotFoundError:
            return 1
        if version and installed != version.strip():
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
