"""pytest glue for running credit_collections' tests with pytest-odoo on Odoo 18.

- Mark each running test as Odoo's current test, as Odoo's own runner does:
  without it Odoo really sends mail over SMTP during tests and HttpCase test
  cursors are not bound to their test.
- A skipped test is a failure: a tour skipped for want of a browser would
  otherwise leave a green run that tested no screen.
"""

import logging

import pytest

_skipped = []


class _NotAnError(logging.Filter):
    """pytest-odoo imports Odoo's test framework before it enables test mode, which
    Odoo logs as an ERROR meant for business code: not a fault of the run."""

    def filter(self, record):
        return not record.getMessage().startswith("Importing test framework")


logging.getLogger("odoo.tests.common").addFilter(_NotAnError())


@pytest.fixture(autouse=True)
def _odoo_current_test(request):
    from odoo.modules import module

    instance = getattr(request.node, "instance", None)
    previous = module.current_test
    module.current_test = instance or True
    yield
    module.current_test = previous


def pytest_runtest_logreport(report):
    if report.skipped:
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):
    if _skipped and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.write_line(
            "FAILED: skipped tests count as failures (missing browser or library?):",
            red=True,
        )
        for line in _skipped:
            terminalreporter.write_line("  " + line, red=True)
