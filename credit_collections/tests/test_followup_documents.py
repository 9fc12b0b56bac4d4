from urllib.parse import parse_qsl, urlsplit

from lxml import html

from odoo.tests import tagged
from odoo.tools import format_amount, format_date
from odoo.tools.misc import hmac as hmac_tool

from .common import CreditCollectionsCommon

PARTNER_LETTER = "credit_collections.action_report_followup_partner_letter"


@tagged("post_install", "-at_install")
class TestFollowupDocuments(CreditCollectionsCommon):
    """What a customer reads: the statement of the follow-up emails and the PDF
    reminder letter."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"email": "billing@company.example.com"})
        # These tests are about what each level does: customers get the level of
        # their oldest item at once (see test_followup_first_hour for the default).
        cls.company.credit_followup_start_mode = "oldest_item"
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.reminder, cls.first, cls.second, cls.final, _collection = policy._get_levels()
        cls.usd = cls.company.currency_id
        cls.eur = cls.setup_other_currency("EUR")
        # Chased: partly paid, and in another currency.
        cls.partly_paid = cls._create_invoice(cls.customer, 1000.0, days_overdue=20)
        cls._pay(cls.partly_paid, 400.0)
        cls.in_euros = cls._create_invoice(cls.customer, 500.0, days_overdue=10, currency=cls.eur)
        # Never chased: paid, a credit note, disputed, not yet due.
        cls.paid = cls._create_invoice(cls.customer, 300.0, days_overdue=5)
        cls._pay(cls.paid, 300.0)
        cls.credit_note = cls._create_invoice(
            cls.customer, 50.0, days_overdue=5, move_type="out_refund"
        )
        cls.disputed = cls._create_invoice(cls.customer, 700.0, days_overdue=12)
        cls.disputed.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )._followup_exclude("Disputed by the customer")
        cls.not_due = cls._create_invoice(cls.customer, 80.0, days_overdue=-2)

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _render(self, xmlid, level, field="body_html"):
        """A follow-up template rendered for a follow-up of the customer at level,
        in the customer's language."""
        followup = self.customer.with_company(self.company)._followup_preview_history(level)
        template = self.env.ref(xmlid)
        return template._render_field(field, followup._ids, compute_lang=True)[followup.id]

    def _statement(self, body):
        """Rows and total rows of the statement in body, as the texts of their cells,
        and the payment links of the rows."""
        tables = html.fromstring(body).xpath(
            "//table[contains(concat(' ', @class, ' '), ' o_credit_followup_statement ')]"
        )
        self.assertEqual(len(tables), 1, "one statement table")

        def texts(row):
            return [" ".join(cell.text_content().split()) for cell in row.xpath("./td")]

        rows = tables[0].xpath("./tbody/tr")
        return (
            [texts(row) for row in rows],
            [texts(row) for row in tables[0].xpath("./tfoot/tr")],
            [row.xpath(".//a/@href") for row in rows],
        )

    def _amount(self, amount, currency, lang=None):
        # The monetary widget puts a non-breaking space between symbol and amount.
        return " ".join(format_amount(self.env, amount, currency, lang_code=lang).split())

    def _row(self, invoice, days, amount, lang=None):
        env = self.env(context=dict(self.env.context, lang=lang)) if lang else self.env
        return [
            invoice.name,
            format_date(env, invoice.invoice_date),
            format_date(env, invoice.invoice_date_due),
            days,
            self._amount(amount, invoice.currency_id, lang),
            "Pay now",
        ]

    def _render_letter_pdf(self, level):
        # wkhtmltopdf would ask the test server for style sheets and wait on the
        # test cursor: a closed port gives an unstyled PDF with the same text.
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        content, report_type = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(PARTNER_LETTER, self.customer.ids, data={"level_id": level.id})
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(content.startswith(b"%PDF"))
        return self._pdf_text(content)

    # ------------------------------------------------------------------
    # Emails
    # ------------------------------------------------------------------

    def test_email_statement_lists_overdue_invoices_with_totals_and_pay_links(self):
        body = self._render("credit_collections.mail_template_followup_first", self.first)
        rows, totals, links = self._statement(body)
        self.assertEqual(
            rows,
            [
                self._row(self.partly_paid, "20", 600.0),
                self._row(self.in_euros, "10", 500.0),
            ],
            "paid, credit note, disputed and not yet due invoices are left out",
        )
        self.assertEqual(
            totals,
            [
                ["Total EUR", self._amount(500.0, self.eur), ""],
                ["Total USD", self._amount(600.0, self.usd), ""],
            ],
        )
        base_url = self.customer.get_base_url()
        self.assertEqual(
            links,
            [
                [base_url + self.partly_paid.get_portal_url()],
                [base_url + self.in_euros.get_portal_url()],
            ],
        )
        self.assertTrue(links[0][0].startswith(f"{base_url}/my/invoices/{self.partly_paid.id}?"))
        for absent in (self.paid, self.disputed, self.not_due):
            self.assertNotIn(absent.name, body)
        # The credit note is not an item: it is listed under the open credits.
        self.assertNotIn(self.credit_note.name, rows[0] + rows[1])
        self.assertIn(self.credit_note.name, body)
        self.assertIn("Dear Credit Customer,", body)

    def test_reminder_before_due_date_lists_what_falls_due(self):
        due_today = self._create_invoice(self.customer, 90.0, days_overdue=0)
        body = self._render("credit_collections.mail_template_followup_reminder", self.reminder)
        rows, totals, _links = self._statement(body)
        self.assertEqual(
            rows,
            [
                self._row(self.partly_paid, "20", 600.0),
                self._row(self.in_euros, "10", 500.0),
                self._row(due_today, "Due today", 90.0),
                self._row(self.not_due, "Not yet due", 80.0),
            ],
        )
        self.assertEqual(totals[-1], ["Total USD", self._amount(770.0, self.usd), ""])

    def test_subjects_name_the_company_and_the_level(self):
        expected = {
            "mail_template_followup_reminder": "payment reminder",
            "mail_template_followup_first": "overdue payment",
            "mail_template_followup_second": "second reminder about your overdue payment",
            "mail_template_followup_final": "final notice about your overdue payment",
        }
        for xmlid, subject in expected.items():
            self.assertEqual(
                self._render(f"credit_collections.{xmlid}", self.first, field="subject"),
                f"{self.company.name}: {subject}",
            )

    def test_email_is_rendered_in_the_customers_language(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        template = self.env.ref("credit_collections.mail_template_followup_first")
        template.update_field_translations(
            "subject",
            {"fr_FR": "{{ (object.company_id or user.env.company).name }} : factures en retard"},
        )
        self.env.ref("credit_collections.followup_statement_table").update_field_translations(
            "arch_db", {"fr_FR": {"Due Date": "Échéance", "Pay now": "Payer"}}
        )
        self.customer.lang = "fr_FR"

        subject = self._render(
            "credit_collections.mail_template_followup_first", self.first, field="subject"
        )
        self.assertEqual(subject, f"{self.company.name} : factures en retard")
        body = self._render("credit_collections.mail_template_followup_first", self.first)
        self.assertIn("Échéance", body)
        rows, totals, _links = self._statement(body)
        french_row = self._row(self.partly_paid, "20", 600.0, lang="fr_FR")
        french_row[-1] = "Payer"
        self.assertEqual(rows[0], french_row)
        self.assertEqual(
            french_row[2], self.partly_paid.invoice_date_due.strftime("%d/%m/%Y"), "French dates"
        )
        self.assertEqual(totals[-1][1], self._amount(600.0, self.usd, "fr_FR"))

    # ------------------------------------------------------------------
    # Letter
    # ------------------------------------------------------------------

    def test_letter_pdf_goes_to_the_billing_address_with_level_text_and_statement(self):
        self.env["res.partner"].create(
            {
                "name": "Accounts Payable",
                "parent_id": self.customer.id,
                "type": "invoice",
                "street": "PO Box 42",
                "city": "Springfield",
                "zip": "62701",
                "country_id": self.env.ref("base.be").id,
            }
        )
        self.second.description = "<p>Please settle these invoices within eight days.</p>"
        text = self._render_letter_pdf(self.second)
        for expected in (
            self.customer.name,
            "Accounts Payable",
            "PO Box 42",
            self.second.name,
            "Please settle these invoices within eight days.",
            self.partly_paid.name,
            self._amount(600.0, self.usd),
            self.in_euros.name,
            self._amount(500.0, self.eur),
            "Total USD",
        ):
            self.assertIn(expected, text)
        for absent in (self.paid, self.disputed, self.not_due):
            self.assertNotIn(absent.name, text)
        # The credit note comes after the items, under the open credits, netted
        # against the oldest item: 600.00 - 50.00 = 550.00 due in USD.
        self.assertLess(text.index("Total USD"), text.index(self.credit_note.name))
        self.assertIn(f"Open credits Date Open Amount Credit note {self.credit_note.name}", text)
        self.assertIn(f"Net amount due USD {self._amount(550.0, self.usd)}", text)
        self.assertNotIn("Pay now", text, "no payment buttons on paper")

    def test_letter_printed_by_hand_uses_the_level_reached(self):
        # The level the scheduled action would have recorded.
        self.customer.with_company(self.company).sudo().followup_level_id = self.final
        content, _report_type = self.env["ir.actions.report"]._render_qweb_html(
            PARTNER_LETTER, self.customer.ids
        )
        text = " ".join(html.fromstring(content).text_content().split())
        self.assertIn(self.final.name, text)
        self.assertIn(self.partly_paid.name, text)
        self.assertNotIn(self.not_due.name, text)

    def test_engine_emails_the_statement_and_keeps_the_letter(self):
        """Second reminder: an email with the statement, and the PDF letter in the
        follow-up history."""
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        contact = self.env["res.partner"].create(
            {
                "name": "Payables",
                "parent_id": self.customer.id,
                "type": "invoice",
                "email": "payables@example.com",
            }
        )
        engine = self.env["credit.followup.engine"].with_context(force_report_rendering=True)
        engine._run_batch(self.customer, self.company)

        history = self.env["credit.followup.history"].search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(history.level_id, self.second)
        message = history.mail_message_id
        self.assertEqual(
            message.subject, f"{self.company.name}: second reminder about your overdue payment"
        )
        self.assertEqual(history.recipient_ids, contact)
        rows, _totals, _links = self._statement(message.body)
        self.assertEqual([row[0] for row in rows], [self.partly_paid.name, self.in_euros.name])
        letter = history.letter_attachment_id
        self.assertEqual(letter.mimetype, "application/pdf")
        text = self._pdf_text(letter.raw)
        self.assertIn(self.second.name, text)
        self.assertIn(self.partly_paid.name, text)

    def test_letters_and_invoices_of_a_batch_each_go_to_their_customer(self):
        """Final notices of two customers printed together: each letter lists its own
        customer's items and each email carries that customer's invoices."""
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        other = self._create_customer("Other Late Payer")
        other_invoice = self._create_invoice(other, 250.0, days_overdue=40)
        mine = self._create_invoice(self.customer, 90.0, days_overdue=40)
        engine = self.env["credit.followup.engine"].with_context(force_report_rendering=True)
        engine._run_batch(self.customer | other, self.company)

        histories = self.env["credit.followup.history"].search(
            [("partner_id", "in", (self.customer | other).ids)]
        )
        self.assertEqual(histories.level_id, self.final)
        self.assertEqual(set(histories.mapped("state")), {"done"})
        for history, own, foreign in (
            (histories.filtered(lambda h: h.partner_id == self.customer), mine, other_invoice),
            (histories.filtered(lambda h: h.partner_id == other), other_invoice, mine),
        ):
            text = self._pdf_text(history.letter_attachment_id.raw)
            self.assertIn(history.partner_id.name, text)
            self.assertIn(own.name, text)
            self.assertNotIn(foreign.name, text)
            attachments = history.mail_message_id.attachment_ids
            self.assertIn(history.letter_attachment_id, attachments)
            invoice_pdfs = attachments - history.letter_attachment_id
            self.assertIn(f"{own.name.replace('/', '_')}.pdf", invoice_pdfs.mapped("name"))
            self.assertNotIn(f"{foreign.name.replace('/', '_')}.pdf", invoice_pdfs.mapped("name"))
            for pdf in invoice_pdfs:
                self.assertTrue(pdf.raw.startswith(b"%PDF"))


@tagged("post_install", "-at_install")
class TestPaymentInstructionsWithoutFollowup(CreditCollectionsCommon):
    """How to pay and who signs, for a customer and a company alone: what a
    statement or a portal page prints for a customer never followed up."""

    def test_instructions_and_signature_of_a_customer_without_history(self):
        company = self.company
        bank_journal = self.company_data["default_journal_bank"]
        bank_journal.bank_account_id = self.env["res.partner.bank"].create(
            {"acc_number": "BE71 0961 2345 6769", "partner_id": company.partner_id.id}
        )
        self.env["payment.provider"].create(
            {"name": "Test provider", "state": "test", "company_id": company.id}
        )
        customer = self._create_customer("Statement Customer", ref="CUST-042")
        customer.with_company(company).followup_responsible_id = self.collector
        self.assertFalse(
            self.env["credit.followup.history"].search_count([("partner_id", "=", customer.id)])
        )
        owner = self.env["credit.payment.instructions"]
        usd = company.currency_id
        # 1,234.567 due: the link asks for it to the cent, 1,234.57.
        payment = owner._get_payment_instructions(customer, company, usd, 1234.567, with_qr=True)
        body = self.env["ir.qweb"]._render(
            "credit_collections.followup_payment_instructions",
            {"payment": payment, "payment_company": company, "payment_print": True},
        )
        text = " ".join(html.fromstring(body).text_content().split())
        # No invoice: the customer's reference is the one to quote.
        self.assertIn(
            f"How to pay By bank transfer to BE71 0961 2345 6769 in the name of "
            f"{company.name}, with the reference CUST-042.",
            text,
        )
        self.assertIn("Scan to pay online", text)
        link = html.fromstring(body).xpath("//a/@href")
        self.assertEqual(len(link), 1)
        url = urlsplit(link[0])
        self.assertEqual(url.path, "/payment/pay")
        self.assertEqual(
            dict(parse_qsl(url.query)),
            {
                "reference": "CUST-042",
                "amount": "1234.57",
                "currency_id": str(usd.id),
                "partner_id": str(customer.id),
                "company_id": str(company.id),
                # The token Odoo's /payment/pay checks (payment.utils).
                "access_token": hmac_tool(
                    self.env(su=True),
                    "generate_access_token",
                    f"{customer.id}|1234.57|{usd.id}",
                ),
            },
        )
        # Nothing due: no link to pay nothing.
        self.assertFalse(owner._get_payment_instructions(customer, company, usd, 0.0)["pay_url"])

        signer = owner._get_signer(customer)
        self.assertEqual(signer, self.collector)
        body = self.env["ir.qweb"]._render(
            "credit_collections.followup_signature",
            {"signer": signer, "signature_company": company},
        )
        text = " ".join(html.fromstring(body).text_content().split())
        self.assertEqual(
            text, f"Best regards, {self.collector.name} {self.collector.email} {company.name}"
        )
