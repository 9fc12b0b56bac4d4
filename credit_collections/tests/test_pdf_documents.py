from odoo.tests import tagged

from .common import CreditCollectionsCommon

BROKEN_QWEB = '<t t-name="{name}"><t t-out="1 / 0" /></t>'


@tagged("post_install", "-at_install")
class TestPdfDocuments(CreditCollectionsCommon):
    """The PDFs a follow-up sends, printed as real PDFs (read back with pdftotext):
    the invoice's own PDF as Send & Print keeps it, and what a printing failure
    leaves behind."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.credit_followup_start_mode = "oldest_item"
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.final = policy._get_levels()[3]
        # The final notice: a letter, and the overdue invoices attached to the email.
        assert cls.final.send_letter and cls.final.attach_invoices
        cls.env = cls.env(context=dict(cls.env.context, force_report_rendering=True))
        cls.invoice = cls._create_invoice(cls.customer, 250.0, days_overdue=40)
        cls.other = cls._create_customer("Other Late Payer")
        cls.other_invoice = cls._create_invoice(cls.other, 120.0, days_overdue=40)

    def _run_followups(self, partners):
        self.env["credit.followup.engine"]._run_batch(partners, self.company)
        return self.env["credit.followup.history"].search([("partner_id", "in", partners.ids)])

    def _invoice_attachments(self, invoice):
        # Attachments of a binary field are hidden from searches that do not name it.
        return self.env["ir.attachment"].search(
            [
                ("res_model", "=", "account.move"),
                ("res_id", "=", invoice.id),
                "|",
                ("res_field", "=", False),
                ("res_field", "!=", False),
            ]
        )

    def _break_template(self, xmlid):
        """The QWeb template `xmlid` fails whenever it is rendered (ZeroDivisionError)."""
        view = self.env.ref(xmlid)
        view.arch = BROKEN_QWEB.format(name=view.key)

    def test_followup_keeps_the_invoice_pdf_that_send_and_print_sends(self):
        history = self._run_followups(self.customer)
        self.assertEqual(history.state, "done")
        pdf = self.invoice.invoice_pdf_report_id
        self.assertTrue(pdf, "the invoice has its PDF")
        self.assertEqual(pdf, self.invoice.message_main_attachment_id)
        self.assertEqual(pdf.res_field, "invoice_pdf_report_file")
        self.assertEqual(pdf.name, f"{self.invoice.name.replace('/', '_')}.pdf")
        self.assertTrue(self.invoice.is_move_sent, "shown as sent, as after Send & Print")
        text = self._pdf_text(pdf.raw)
        self.assertIn(self.invoice.name, text)
        self.assertIn(self.customer.name, text)
        self.assertIn(pdf, history.mail_message_id.attachment_ids, "the email carries it")
        self.assertEqual(
            self.invoice._get_invoice_legal_documents("pdf")["content"],
            pdf.raw,
            "the invoice's legal PDF is that document",
        )
        attachments = self._invoice_attachments(self.invoice)
        # Send & Print afterwards sends that PDF; it prints no second one.
        sent = self.env["account.move.send"]._generate_and_send_invoices(
            self.invoice, sending_methods={"manual"}
        )
        self.assertEqual(sent, pdf)
        # Nor does the next follow-up.
        self.invoice._credit_ensure_pdf_reports()
        self.assertEqual(self.invoice.invoice_pdf_report_id, pdf)
        self.assertEqual(self._invoice_attachments(self.invoice), attachments)

    def test_invoices_printed_together_each_keep_their_own_pdf(self):
        second = self._create_invoice(self.customer, 75.0, days_overdue=35)
        invoices = self.invoice | second | self.other_invoice
        invoices._credit_ensure_pdf_reports()
        for invoice in invoices:
            text = self._pdf_text(invoice.invoice_pdf_report_id.raw)
            self.assertIn(invoice.name, text)
            for foreign in invoices - invoice:
                self.assertNotIn(foreign.name, text)
            self.assertEqual(invoice.invoice_pdf_report_id, invoice.message_main_attachment_id)

    def test_letter_that_cannot_be_printed_fails_the_followup_and_keeps_nothing(self):
        """A broken letter template: each follow-up of the batch fails, saying which
        letter could not be printed; no letter, no email and no invoice PDF are kept."""
        self._break_template("credit_collections.report_followup_letter_document")
        histories = self._run_followups(self.customer | self.other)
        self.assertEqual(len(histories), 2)
        self.assertEqual(set(histories.mapped("state")), {"error"})
        for history in histories:
            self.assertIn("Follow-up Letter could not be printed for", history.summary)
            self.assertIn("ZeroDivisionError", history.summary)
            self.assertFalse(history.letter_attachment_id)
            self.assertFalse(history.mail_message_id)
        self.assertFalse((self.invoice | self.other_invoice).invoice_pdf_report_id)
        self.assertFalse(
            self.env["mail.mail"].search(
                [("recipient_ids", "in", (self.customer | self.other).ids)]
            )
        )

    def test_invoice_pdf_that_cannot_be_printed_stops_only_its_customer(self):
        """The invoice layout of one customer is broken: that customer's follow-up
        fails, naming the invoice; the other customer of the batch gets theirs."""
        report = self.env["ir.actions.report"].create(
            {
                "name": "Broken invoice layout",
                "model": "account.move",
                "report_type": "qweb-pdf",
                "report_name": "credit_collections.test_broken_invoice",
                "is_invoice_report": True,
            }
        )
        self.env["ir.ui.view"].create(
            {
                "name": "test_broken_invoice",
                "type": "qweb",
                "key": "credit_collections.test_broken_invoice",
                "arch": BROKEN_QWEB.format(name="credit_collections.test_broken_invoice"),
            }
        )
        self.customer.with_company(self.company).invoice_template_pdf_report_id = report
        histories = self._run_followups(self.customer | self.other)
        failed = histories.filtered(lambda history: history.partner_id == self.customer)
        done = histories - failed
        self.assertEqual(failed.state, "error")
        self.assertIn(f"The PDF of {self.invoice.name} could not be made", failed.summary)
        self.assertFalse(failed.letter_attachment_id)
        self.assertFalse(self.invoice.invoice_pdf_report_id)
        self.assertEqual(done.state, "done")
        pdf = self.other_invoice.invoice_pdf_report_id
        self.assertIn(self.other_invoice.name, self._pdf_text(pdf.raw))
        self.assertIn(pdf, done.mail_message_id.attachment_ids)
        self.assertIn(self.other.name, self._pdf_text(done.letter_attachment_id.raw))
