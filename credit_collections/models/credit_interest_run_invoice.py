from markupsafe import Markup, escape

from odoo import fields, models
from odoo.tools import format_amount


class CreditInterestRun(models.Model):
    """Invoicing a run's charges: one invoice per customer and currency, and
    what was charged for what said in the chatters."""

    _inherit = "credit.interest.run"

    def _invoice_accruals(self, accruals=None):
        company = self.company_id
        accruals = self.accrual_ids if accruals is None else accruals
        products = {
            "interest": company.credit_interest_product_id,
            "compensation": company.credit_interest_compensation_product_id,
        }
        groups = accruals.grouped(lambda accrual: (accrual.partner_id, accrual.currency_id))
        keys = list(groups)
        invoices = (
            self.env["account.move"]
            .with_company(company)
            ._credit_create_charge_invoices(
                "interest",
                [
                    self._prepare_invoice_vals(
                        partner, currency, groups[partner, currency], products
                    )
                    for partner, currency in keys
                ],
                post=company.credit_interest_auto_post,
            )
        )
        for key, invoice in zip(keys, invoices, strict=True):
            lines = invoice.invoice_line_ids.sorted("id")
            for accrual, line in zip(groups[key], lines, strict=True):
                # Charges are the run's record (read-only for users).
                accrual.sudo().invoice_line_id = line
        # The run's own record of what it invoiced (see RUN_SYSTEM_FIELDS).
        self.sudo().invoice_ids |= invoices
        self._log_on_invoices(groups, keys, invoices)

    def _log_on_invoices(self, groups, keys, invoices):
        """Say in each chatter what was charged for what: on the interest invoice
        its sources, on each source what it was charged, in one batch each."""
        bodies = {}
        for key, invoice in zip(keys, invoices, strict=True):
            accruals = groups[key]
            bodies[invoice.id] = Markup(
                escape(self.env._("Late interest and compensation for %(sources)s."))
            ) % {"sources": Markup(", ").join(move._get_html_link() for move in accruals.move_id)}
            for source in accruals.move_id:
                amount = sum(
                    accruals.filtered(lambda a, source=source: a.move_id == source).mapped("amount")
                )
                bodies[source.id] = Markup(
                    escape(self.env._("Late interest charged in %(invoice)s: %(amount)s."))
                ) % {
                    "invoice": invoice._get_html_link(),
                    "amount": format_amount(self.env, amount, invoice.currency_id),
                }
        self.env["account.move"].browse(bodies)._message_log_batch(bodies=bodies)
        partner_bodies = {}
        for key, invoice in zip(keys, invoices, strict=True):
            partner_bodies.setdefault(key[0].id, []).append(
                Markup(
                    escape(
                        self.env._(
                            "Late interest and compensation invoiced in %(invoice)s: %(amount)s."
                        )
                    )
                )
                % {
                    "invoice": invoice._get_html_link(),
                    "amount": format_amount(self.env, invoice.amount_total, invoice.currency_id),
                }
            )
        self.env["res.partner"].browse(partner_bodies)._message_log_batch(
            bodies={
                partner_id: Markup("<br/>").join(lines)
                for partner_id, lines in partner_bodies.items()
            }
        )

    def _prepare_invoice_vals(self, partner, currency, accruals, products):
        sources = accruals.move_id
        references = {"credit_interest_source_ids": [fields.Command.set(sources.ids)]}
        # Odoo's debit-note link, where its module is installed, names one origin.
        if "debit_origin_id" in self.env["account.move"]._fields and len(sources) == 1:
            references["debit_origin_id"] = sources.id
        if self.company_id.credit_interest_journal_id:
            references["journal_id"] = self.company_id.credit_interest_journal_id.id
        return references | {
            "partner_id": partner.id,
            "company_id": self.company_id.id,
            "currency_id": currency.id,
            "invoice_date": self.date,
            "ref": self.env._("Late payment interest"),
            "invoice_origin": ", ".join(sorted(set(sources.mapped("name")))),
            "invoice_line_ids": [
                fields.Command.create(accrual._prepare_invoice_line_vals(products))
                for accrual in accruals
            ],
        }
