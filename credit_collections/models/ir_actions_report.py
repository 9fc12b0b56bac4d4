import functools
import logging
import subprocess

import psycopg2

from odoo import models
from odoo.exceptions import UserError
from odoo.tools.misc import find_in_path

_logger = logging.getLogger(__name__)


@functools.cache
def _wkhtmltopdf_has_patched_qt():
    """Whether this server's wkhtmltopdf is a build with patched Qt, the one Odoo
    recommends (0.12.6 from wkhtmltopdf.org's packaging): only those print several
    documents in one run and the layouts' header and footer (``--header-html``);
    the others (Debian's) refuse the first ("does not support more than one input
    document") and ignore the second."""
    try:
        version = subprocess.run(
            [find_in_path("wkhtmltopdf"), "--version"],
            capture_output=True,
            check=False,
            timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return b"with patched qt" in version.lower()


class IrActionsReport(models.Model):
    _inherit = "ir.actions.report"

    def _credit_render_pdfs(self, report_ref, records, data=None):
        """The PDF of each record, as Odoo prints it for that record alone
        (``_render_qweb_pdf``), but in one wkhtmltopdf run for all of them when its
        output can be told apart per record: starting wkhtmltopdf is most of the
        time of a document. Records it cannot tell apart are printed one by one.
        Nothing is written: the caller keeps the documents once all are printed.

        :param report_ref: the report, or its XML id or report_name
        :param records: the records to print, of the report's model
        :param data: the report's data, as for ``_render_qweb_pdf``
        :return: {record id: document content}
        :raise UserError: a record could not be printed (which one, and why)
        """
        reports = self.with_company(self.env.company)
        contents = reports._credit_render_pdfs_together(report_ref, records, data)
        for record in records.filtered(lambda record: record.id not in contents):
            try:
                contents[record.id] = reports._render_qweb_pdf(
                    report_ref, record.ids, data=dict(data or {})
                )[0]
            except psycopg2.Error:
                # Database errors (a concurrent update) are the transaction's: its
                # runner retries or reports them.
                raise
            except Exception as error:
                report = self._get_report(report_ref)
                raise UserError(
                    self.env._(
                        "%(report)s could not be printed for %(record)s: %(error)s\n"
                        "Print it from the record to see the problem (the document's "
                        "template, or wkhtmltopdf and the system parameter report.url), "
                        "then try again.",
                        report=report.name,
                        record=record.display_name,
                        error=str(error),
                    )
                ) from error
        return contents

    def _credit_prints_together(self):
        """Whether several documents may be printed in one wkhtmltopdf run here
        (else they are printed one by one at once, not after a failed run)."""
        return _wkhtmltopdf_has_patched_qt()

    def _credit_prints_headers(self):
        """Whether wkhtmltopdf prints the header and footer of the company's layout
        on each page here (Odoo hands them over with ``--header-html`` and
        ``--footer-html``, see ``_run_wkhtmltopdf``); else the letters print their
        letterhead in the page (``credit_letterhead_in_body``)."""
        return _wkhtmltopdf_has_patched_qt()

    def _get_rendering_context(self, report, docids, data):
        data = super()._get_rendering_context(report, docids, data)
        # A PDF whose header and footer this wkhtmltopdf would drop carries them in
        # its page; on screen (html) the layout shows them itself.
        data["credit_letterhead_in_body"] = (
            data.get("report_type") == "pdf" and not self._credit_prints_headers()
        )
        return data

    def _credit_render_pdfs_together(self, report_ref, records, data=None):
        """The documents of several records printed in one run, split per record as
        Send & Print splits the invoices it prints together (``_pre_render_qweb_pdf``
        then account's ``_get_splitted_report``). The one place that batches: a
        bridge to another renderer overrides it.

        :return: {record id: content} of the records told apart; the others (all of
            them when the run fails) are left to Odoo's one-record rendering
        """
        if len(records) < 2 or not self._credit_prints_together():
            return {}
        report = self._get_report(report_ref)
        try:
            content, report_type = self._pre_render_qweb_pdf(
                report.report_name, res_ids=records.ids, data=dict(data or {})
            )
            split = self._get_splitted_report(report.report_name, content, report_type)
        except psycopg2.Error:
            raise
        except Exception:
            # A document that breaks the run is found, and named, one by one.
            _logger.info(
                "Printing %s for %s records in one run failed, printing them one by one",
                report.report_name,
                len(records),
                exc_info=True,
            )
            return {}
        return {record_id: split[record_id] for record_id in records.ids if split.get(record_id)}
