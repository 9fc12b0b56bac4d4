import subprocess
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.credit_collections.models import ir_actions_report
from odoo.addons.credit_collections.models.ir_actions_report import IrActionsReport

from .common import CreditCollectionsCommon

LETTER = "credit_collections.action_report_followup_partner_letter"
FOOTER = "Bank Acme Savings, IBAN BE71 0961 2345 6769 - Registered in Ghent"


@tagged("post_install", "-at_install")
class TestLetterLetterhead(CreditCollectionsCommon):
    """A follow-up letter comes from the company: its name, address and footer
    are on the paper whichever wkhtmltopdf prints it. Odoo's layout prints them
    in the page header and footer, which only wkhtmltopdf with patched Qt prints;
    elsewhere (Debian's build, this machine's) the letter carries them in its
    page."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write(
            {
                "name": "Lettered Supplies Ltd",
                "street": "12 Harbour Quay",
                "zip": "9000",
                "city": "Ghent",
                "report_footer": f"<p>{FOOTER}</p>",
            }
        )
        cls.company._credit_create_default_followup_policy()
        cls.debtor = cls._create_customer("Letter Debtor", street="5 Mill Lane", city="Leeds")
        cls._create_invoice(cls.debtor, 480.0, days_overdue=20)

    def _letter_html(self, prints_headers):
        # A PDF's page as wkhtmltopdf is handed it (the test runner renders HTML
        # for a PDF unless forced), with the header support of the build given.
        with patch.object(IrActionsReport, "_credit_prints_headers", return_value=prints_headers):
            return (
                self.env["ir.actions.report"]
                .with_user(self.collector)
                ._render_qweb_pdf(LETTER, self.debtor.ids)[0]
                .decode()
            )

    def test_letter_pdf_shows_the_company_letterhead_and_footer(self):
        pdf, report_type = (
            self.env["ir.actions.report"]
            .with_user(self.collector)
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(LETTER, self.debtor.ids)
        )
        self.assertEqual(report_type, "pdf")
        text = self._pdf_text(pdf)
        for expected in (
            "Lettered Supplies Ltd",
            "12 Harbour Quay",
            "Ghent 9000",  # the address format of the company's country (US)
            FOOTER,
            "Letter Debtor",
            "5 Mill Lane",
            "Dear Letter Debtor",
            "480.00",
        ):
            self.assertIn(expected, text)
        self.assertLess(
            text.index("Lettered Supplies Ltd"),
            text.index("Dear Letter Debtor"),
            "the letterhead opens the letter",
        )
        self.assertLess(text.index("480.00"), text.index(FOOTER), "the footer closes it")

    def test_invoice_pdf_shows_the_company_letterhead_and_footer(self):
        invoice = self.debtor.invoice_ids
        pdf, _report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf("account.account_invoices", invoice.ids)
        )
        text = self._pdf_text(pdf)
        for expected in ("Lettered Supplies Ltd", "12 Harbour Quay", FOOTER, invoice.name):
            self.assertIn(expected, text)

    def test_letterhead_is_in_the_page_only_where_headers_are_not_printed(self):
        html = self._letter_html(prints_headers=False)
        self.assertIn('name="credit_letterhead"', html)
        self.assertIn('name="credit_letter_footer"', html)
        # Patched Qt prints the layout's own header and footer: not twice.
        html = self._letter_html(prints_headers=True)
        self.assertNotIn('name="credit_letterhead"', html)
        self.assertNotIn('name="credit_letter_footer"', html)
        self.assertIn("Dear Letter Debtor", html)

    def test_letter_on_screen_keeps_the_layouts_header(self):
        with patch.object(IrActionsReport, "_credit_prints_headers", return_value=False):
            html = (
                self.env["ir.actions.report"]
                .with_user(self.collector)
                ._render_qweb_html(LETTER, self.debtor.ids)[0]
                .decode()
            )
        self.assertNotIn('name="credit_letterhead"', html)
        self.assertIn("12 Harbour Quay", html, "in the layout's header")

    def test_the_build_is_told_from_its_version(self):
        detect = ir_actions_report._wkhtmltopdf_has_patched_qt.__wrapped__
        for version, patched in (
            (b"wkhtmltopdf 0.12.6\n", False),  # Debian's
            (b"wkhtmltopdf 0.12.6 (with patched qt)\n", True),  # wkhtmltopdf.org's
        ):
            answer = subprocess.CompletedProcess([], 0, stdout=version)
            with patch.object(ir_actions_report.subprocess, "run", return_value=answer):
                self.assertEqual(detect(), patched, version)
