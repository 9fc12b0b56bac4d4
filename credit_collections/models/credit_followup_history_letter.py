from odoo import api, models
from odoo.tools import is_html_empty


class CreditFollowupHistory(models.Model):
    """Letter of the follow-up: its title and text, the address it is posted
    to, how to pay and who signs."""

    _inherit = "credit.followup.history"

    def _render_letter(self):
        """Title and text of the follow-up's letter, in the customer's language:
        the level's own Letter Text when written, else its letter template's
        text; the title is the letter template's subject.

        :return: {"title": str or False, "text": Markup or False}
        """
        self.ensure_one()
        lang = self.partner_id.lang
        level = self.level_id.with_context(lang=lang)
        template = level.letter_template_id
        title = text = False
        if template:
            # _ids: a preview (unsaved follow-up) has no id to render on.
            title = template._render_field("subject", self._ids, compute_lang=True)[self.id]
            text = template._render_field("body_html", self._ids, compute_lang=True)[self.id]
        if not is_html_empty(level.description):
            text = level.description
        return {"title": title, "text": text if not is_html_empty(text) else False}

    def _get_letter_addressee(self):
        """Contact the letter is posted to: the first invoice contact with a
        complete postal address, else the customer itself when its address is
        complete; empty when no address is complete."""
        self.ensure_one()
        commercial = self.partner_id.commercial_partner_id
        contacts = commercial.child_ids.filtered(
            lambda contact: contact.type == "invoice" and contact.active
        )
        return next(
            (contact for contact in (*contacts, commercial) if self._is_postal_address(contact)),
            commercial.browse(),
        )

    @api.model
    def _is_postal_address(self, partner):
        """A letter can be posted to it: street, city, country, and the zip and
        state its country asks for."""
        country = partner.country_id
        return bool(
            partner.street
            and partner.city
            and country
            and (partner.zip or not country.zip_required)
            and (partner.state_id or not country.state_required)
        )

    def _get_payment_instructions(self, with_qr=False):
        """How the customer pays what the follow-up lists, for its email and
        letter: credit.payment.instructions asked for the follow-up's customer,
        company and invoices, and what is due once the open credits are netted,
        as the statement says (in one currency only: no pay link for a total
        in several).

        :return: see credit.payment.instructions._get_payment_instructions
        """
        self.ensure_one()
        lines = self.move_line_ids
        currency = lines.currency_id if len(lines.currency_id) == 1 else lines.currency_id.browse()
        amount = sum(self.statement_net_residuals.values()) if currency else 0.0
        return self.env["credit.payment.instructions"]._get_payment_instructions(
            self.partner_id,
            self.company_id,
            currency,
            amount,
            invoices=lines.move_id,
            with_qr=with_qr,
        )

    def _payment_link_token(self, *values):
        """Deprecated: use credit.payment.instructions._payment_link_token."""
        return self.env["credit.payment.instructions"]._payment_link_token(*values)

    def _get_followup_signer(self):
        """The person who signs the follow-up (see
        credit.payment.instructions._get_signer): the company alone when empty."""
        self.ensure_one()
        return self.env["credit.payment.instructions"]._get_signer(self.partner_id)

    def _request_postal_address(self):
        """The letters of these follow-ups cannot be posted: no complete postal
        address. An activity for the collector, and a warning on the history."""
        if not self:
            return
        self._schedule_followup_activities(
            [
                (
                    history,
                    None,
                    self.env._("No postal address for follow-up letters"),
                    self.env._(
                        "%(partner)s has no complete postal address (street, city, zip, "
                        "country) on an invoice address nor on the customer: the letter of "
                        "follow-up %(level)s cannot be posted. Complete the address, then "
                        "print the letter again from the follow-up.",
                        partner=history.partner_id.display_name,
                        level=history.level_id.name,
                    ),
                )
                for history in self
            ]
        )
        self._add_summary(
            self.env._(
                "Warning: no complete postal address, the letter cannot be posted; "
                "activity for the collector."
            )
        )
