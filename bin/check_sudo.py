#!/usr/bin/env python3
"""Lint: every ``sudo()`` call says why, in a comment.

STYLE: "sudo() only where needed, with a comment saying why". A call passes
when a comment sits on the line of the call, or above it in the same paragraph
of code: the lines going up from the call to the statement that makes it and
on to the first blank line, docstring or ``def`` (one comment may explain a
few lines that act together). Docstrings and comments that merely mention
sudo() are not calls and are ignored.

Usage: check_sudo.py PATH... (files or folders; tests/ folders are skipped).
Exit 1 and one line per call without a why-comment.
"""

import ast
import io
import sys
import tokenize
from pathlib import Path

# A line above which a paragraph of code cannot extend.
PARAGRAPH_TOPS = ("def ", "async def ", "class ", "@")
QUOTES = ('"""', "'''")


def _comment_lines(source):
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            lines.add(token.start[0])
    return lines


def _statement_first_line(stmt):
    """First line of a statement (of a compound one, its header)."""
    return stmt.lineno


def _sudo_calls(tree):
    """(call, innermost statement holding it) for every ``x.sudo()``."""
    found = []

    def visit(node, stmt):
        if isinstance(node, ast.stmt):
            stmt = node
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "sudo"
        ):
            found.append((node, stmt))
        for child in ast.iter_child_nodes(node):
            visit(child, stmt)

    visit(tree, None)
    return found


def _paragraph_start(lines, first):
    """First line (1-based) of the paragraph of code that goes on to line `first`."""
    line = first
    while line > 1:
        above = lines[line - 2].strip()
        if not above or above.startswith(PARAGRAPH_TOPS + QUOTES) or above.endswith(QUOTES):
            break
        line -= 1
    return line


def check_file(path):
    source = Path(path).read_text(encoding="utf-8")
    lines = source.splitlines()
    comments = _comment_lines(source)
    problems = []
    for call, stmt in _sudo_calls(ast.parse(source, filename=str(path))):
        first = _statement_first_line(stmt) if stmt else call.lineno
        # The call may be on a continuation line: `.sudo()  # why`.
        call_line = call.func.end_lineno
        start = _paragraph_start(lines, min(first, call_line))
        if not any(line in comments for line in range(start, call_line + 1)):
            problems.append(f"{path}:{call_line}: sudo() without a comment saying why")
    return problems


def iter_files(paths):
    for path in map(Path, paths):
        if path.is_dir():
            for file in sorted(path.rglob("*.py")):
                if "tests" not in file.relative_to(path).parts:
                    yield file
        else:
            yield path


def main(argv):
    problems = [problem for file in iter_files(argv) for problem in check_file(file)]
    for problem in problems:
        print(problem)
    if problems:
        print(
            f"{len(problems)} sudo() call(s) without a comment saying why: add one above "
            "the statement, e.g. '# sudo: collectors cannot edit customers.'",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["."]))
