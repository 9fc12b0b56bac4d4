import base64

from werkzeug.urls import url_encode

from odoo import api, models
from odoo.tools.misc import hmac as hmac_tool

# Longer references (many invoices) do not fit the reference field of a transfer.
MAX_REFERENCE_LENGTH = 60


class CreditPaymentInstructions(models.AbstractModel):
    """How a customer pays a company, and who signs what the company writes to
    it: the bank accounts to pay to, the reference to quote, the online pay link
    (and its QR code for paper) and the signer.

    Anything the company prints or emails to a customer asks it: follow-up
    emails and letters (credit.followup.history), statements and portal pages
    of a customer without any follow-up. What it is handed is a customer, a
    company, a currency and an amount, and the invoices paid when there are
    some. The QWeb templates ``credit_collections.followup_payment_instructions``
    and ``credit_collections.followup_signature`` print its answers, for a
    follow-up or, given ``payment`` and ``payment_company`` (``signer`` and
    ``signature_company``), for none.
    """

    _name = "credit.payment.instructions"
    _description = "Payment Instructions"

    @api.model
    def _get_payment_instructions(
        self, partner, company, currency, amount, invoices=None, with_qr=False
    ):
        """How ``partner`` pays ``company`` ``amount`` in ``currency``.

        :param currency: res.currency of the amount; empty when what is due is
            in several currencies (no online payment link for the total then)
        :param amount: what is due, netted of the open credits
        :param invoices: account.move the payment is for (optional)
        :param with_qr: also the pay link as a QR code, for paper
        :return: dict with "bank_accounts" (res.partner.bank of the company to
            pay to), "reference" (to quote on a transfer), "pay_url" (pay
            online: the invoice's own page for one invoice, Odoo's payment link
            for the amount when a payment provider is enabled; else False) and
            "pay_qr" (with_qr: the pay_url as a QR code, a data URI)
        """
        invoices = invoices or self.env["account.move"]
        reference = self._get_payment_reference(partner, invoices)
        pay_url = self._get_pay_url(partner, company, currency, amount, reference, invoices)
        return {
            "bank_accounts": self._get_bank_accounts(company, invoices),
            "reference": reference,
            "pay_url": pay_url,
            "pay_qr": self._get_pay_qr(pay_url) if pay_url and with_qr else False,
        }

    @api.model
    def _get_bank_accounts(self, company, invoices):
        """Where the invoices ask to be paid, else the company's bank journals."""
        bank_accounts = invoices.partner_bank_id.filtered(lambda bank: bank.active)
        if not bank_accounts:
            # Bank journals are accounting configuration that a collector or the
            # portal may not read: only their accounts are printed.
            bank_accounts = company.sudo().bank_journal_ids.sorted("sequence").bank_account_id
        return bank_accounts

    @api.model
    def _get_payment_reference(self, partner, invoices):
        """The invoices' payment references, else the customer's reference or name."""
        references = [reference for reference in invoices.mapped("payment_reference") if reference]
        reference = ", ".join(dict.fromkeys(references))
        if not reference or len(reference) > MAX_REFERENCE_LENGTH:
            reference = partner.ref or partner.display_name
        return reference

    @api.model
    def _get_pay_url(self, partner, company, currency, amount, reference, invoices):
        """Where the customer pays online: the invoice's own portal page for one
        invoice, else Odoo's payment link for the amount; False when neither."""
        base_url = partner.get_base_url()
        if len(invoices) == 1 and invoices.is_sale_document(include_receipts=True):
            return base_url + invoices.get_portal_url()
        if not currency or len(currency) != 1:
            return False
        amount = currency.round(amount)
        if amount <= 0 or not self._has_payment_provider(company):
            return False
        return (
            base_url
            + "/payment/pay?"
            + url_encode(
                {
                    "reference": reference,
                    "amount": amount,
                    "currency_id": currency.id,
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "access_token": self._payment_link_token(partner.id, amount, currency.id),
                }
            )
        )

    @api.model
    def _has_payment_provider(self, company):
        # Payment providers are the administrator's configuration: who prints the
        # instructions (a collector, the scheduled action, the portal) only asks
        # whether one is enabled.
        return bool(
            self.env["payment.provider"]
            .sudo()
            .search_count(
                [("state", "in", ("enabled", "test")), ("company_id", "=", company.id)],
                limit=1,
            )
        )

    @api.model
    def _payment_link_token(self, *values):
        """The access token of Odoo's payment link (payment.utils'
        generate_access_token), computed without an HTTP request: scheduled
        actions render follow-ups outside any (the helper then failed the
        follow-up of every customer with several invoices to pay online)."""
        return hmac_tool(
            self.env(su=True), "generate_access_token", "|".join(str(value) for value in values)
        )

    @api.model
    def _get_pay_qr(self, pay_url):
        """The pay link as a QR code (a PNG data URI), for paper."""
        png = self.env["ir.actions.report"].barcode("QR", pay_url, width=160, height=160)
        return "data:image/png;base64," + base64.b64encode(png).decode()

    @api.model
    def _get_signer(self, partner, user=None):
        """The person who signs what the company writes to the customer: ``user``
        when given and a real person (the collector of an installment plan), else
        the customer's collector (else its salesperson) when that is a real
        person, else nobody and the company signs. Technical users (the scheduled
        action's) never sign."""
        for candidate in (user, partner._get_followup_collector()):
            if self._may_sign(candidate):
                return candidate
        return self.env["res.users"]

    @api.model
    def _may_sign(self, user):
        # The superuser is the scheduled action's own (and OdooBot's) user.
        return bool(user) and not (user._is_superuser() or user.share or not user.active)
