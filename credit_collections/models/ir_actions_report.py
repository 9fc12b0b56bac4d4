import logging
import threading

import psutil

from odoo import models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)


class _WkhtmltopdfWatchdog:
    """Kills the wkhtmltopdf processes this process starts while it runs, once they
    have run for longer than a timeout. wkhtmltopdf has no timeout of its own, and
    Odoo waits for it without one: a page that never finishes loading would hold a
    follow-up batch, and its transaction, forever."""

    def __init__(self, timeout):
        self.timeout = timeout
        self.fired = False
        self._before = set()
        self._timer = None

    def _wkhtmltopdf_children(self):
        return [
            child for child in psutil.Process().children() if child.name().startswith("wkhtmltopdf")
        ]

    def _kill(self):
        for child in self._wkhtmltopdf_children():
            if child.pid not in self._before:
                self.fired = True
                try:
                    child.kill()
                except psutil.Error:
                    _logger.info("wkhtmltopdf process %s already ended", child.pid)

    def __enter__(self):
        self._before = {child.pid for child in self._wkhtmltopdf_children()}
        self._timer = threading.Timer(self.timeout, self._kill)
        self._timer.daemon = True
        self._timer.start()
        return self

    def __exit__(self, *exc_info):
        self._timer.cancel()
        return False


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _run_wkhtmltopdf(self, bodies, *args, **kwargs):
        timeout = self.env.context.get("credit_pdf_timeout")
        if not timeout:
            return super()._run_wkhtmltopdf(bodies, *args, **kwargs)
        with _WkhtmltopdfWatchdog(timeout) as watchdog:
            try:
                return super()._run_wkhtmltopdf(bodies, *args, **kwargs)
            except UserError:
                if not watchdog.fired:
                    raise
        _logger.warning("wkhtmltopdf stopped after %s seconds", timeout)
        raise UserError(
            self.env._(
                "Printing the documents took more than %(seconds)s seconds and was stopped. "
                "Check that wkhtmltopdf can reach the server (system parameter report.url).",
                seconds=timeout,
            )
        )
