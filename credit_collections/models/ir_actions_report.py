import logging
import threading

import psutil

from odoo import models, tools
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)

# How long one wkhtmltopdf run of a batch of documents may take.
PDF_TIMEOUT_SECONDS = 120


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

    def _credit_render_pdfs(self, report_ref, records):
        """PDF of each record, all of them in one wkhtmltopdf run (its start takes
        most of the time of a document) when the output can be split per record,
        each run stopped after PDF_TIMEOUT_SECONDS.

        :return: {record id: PDF content}
        """
        reports = self.with_company(self.env.company).with_context(
            credit_pdf_timeout=PDF_TIMEOUT_SECONDS
        )
        # Odoo renders HTML instead of PDF in test mode, unless asked: go through
        # its own entry point there, as for a single record.
        test_mode = tools.config["test_enable"] or tools.config["test_file"]
        if len(records) > 1 and not (
            test_mode and not self.env.context.get("force_report_rendering")
        ):
            try:
                streams = reports._render_qweb_pdf_prepare_streams(
                    report_ref, {}, res_ids=records.ids
                )
            except Exception:
                # wkhtmltopdf builds without patched Qt (Debian's) fail on some
                # multi-document runs that Odoo's recommended build renders.
                _logger.info("Batch PDF rendering failed, rendering one by one", exc_info=True)
                streams = {}
            if all(streams.get(record_id, {}).get("stream") for record_id in records.ids):
                return {
                    record_id: streams[record_id]["stream"].getvalue() for record_id in records.ids
                }
            contents = reports._credit_render_pdfs_one_run_each(report_ref, records)
            if contents:
                return contents
        return {
            record.id: reports._render_qweb_pdf(report_ref, record.ids)[0] for record in records
        }

    def _credit_render_pdfs_one_run_each(self, report_ref, records):
        """The documents rendered to HTML together (the queries of one), then each
        printed by a wkhtmltopdf run of its own; {} when the HTML cannot be told
        apart per record."""
        report_sudo = self._get_report(report_ref)
        reports = self.with_context(debug=False)
        html = reports._render_qweb_html(report_ref, records.ids, data={"debug": False})[0]
        bodies, html_ids, header, footer, paperformat_args = report_sudo.with_context(
            debug=False
        )._prepare_html(html, report_model=report_sudo.model)
        if sorted(html_ids) != sorted(records.ids):
            return {}
        return {
            record_id: reports._run_wkhtmltopdf(
                [body],
                report_ref=report_ref,
                header=header,
                footer=footer,
                specific_paperformat_args=paperformat_args,
            )
            for body, record_id in zip(bodies, html_ids, strict=True)
        }

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
