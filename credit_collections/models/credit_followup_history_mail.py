from lxml import html

from odoo import Command, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import email_normalize, html_sanitize, is_html_empty

# The frame of every email the addon sends to a customer: a letter from the
# company, without the header, "Powered by" and unfollow link of Odoo's
# notifications (data/mail_layout_templates.xml).
CUSTOMER_EMAIL_LAYOUT = "credit_collections.mail_layout_customer_letter"


def insert_after_greeting(body, note):
    """``body`` with ``note`` as its own paragraph after the greeting (the
    first paragraph, "Dear ...,"), where a person writes a personal word;
    at the top when the body has no paragraph."""
    root = html.fromstring(f"<div>{body}</div>")
    block = html.fragment_fromstring(note, create_parent="div")
    block.set("style", "margin: 0px 0px 12px 0px; padding: 0px;")
    greeting = root.find(".//p")
    if greeting is None:
        root.insert(0, block)
    else:
        greeting.addnext(block)
    return (root.text or "") + "".join(html.tostring(child, encoding="unicode") for child in root)


class CreditFollowupHistory(models.Model):
    """Mail of the follow-up: what Odoo's mass mailing asks of the record it
    sends for, how its emails are queued, what the history says of them, and
    the retry of a failed one."""

    _inherit = "credit.followup.history"

    email_failed = fields.Boolean(
        readonly=True,
        copy=False,
        help="The mail queue could not send the email (its last attempt failed).",
    )

    # ------------------------------------------------------------------
    # Mail: what Odoo's mass mailing asks of the record it sends for
    # ------------------------------------------------------------------

    def _message_get_default_recipients(self):
        return {
            history.id: {
                "partner_ids": history.recipient_ids.ids,
                "email_to": False,
                "email_cc": history.email_cc or False,
            }
            for history in self
        }

    def _notify_get_reply_to(self, default=None):
        # Customers answer their collector, not the history's chatter.
        reply_to = super()._notify_get_reply_to(default=default)
        for history in self:
            collector = history.partner_id._get_followup_collector()
            if collector.email:
                reply_to[history.id] = collector.email_formatted
        return reply_to

    def _message_receive_bounce(self, email, partner):
        # Odoo's mail gateway received an undelivered-mail report of the email of
        # these follow-ups: the collector must find another way to the customer.
        result = super()._message_receive_bounce(email, partner)
        # The bounce is a fact the mail gateway reports, kept on the audit trail.
        self.sudo().email_bounced = True
        self._schedule_followup_activities(
            [
                (
                    history,
                    None,
                    self.env._("Follow-up email bounced"),
                    self.env._(
                        "The follow-up %(level)s emailed to %(email)s bounced: check the "
                        "address or call the customer.",
                        level=history.level_id.name,
                        email=email,
                    ),
                )
                for history in self
            ]
        )
        self._add_summary(self.env._("Email bounced: activity for the collector."))
        return result

    def _process_attachments_for_post(self, attachments, attachment_ids, message_values):
        result = super()._process_attachments_for_post(attachments, attachment_ids, message_values)
        # Mass mailing asks each follow-up for the attachments of its email (a
        # message posted in the history's own chatter is not one): its letter, and
        # the invoices it lists when its level attaches them.
        if len(self) == 1 and message_values.get("model") != self._name:
            result["attachment_ids"] = [
                *result.get("attachment_ids", []),
                *(Command.link(document.id) for document in self._get_email_documents()),
            ]
        return result

    # ------------------------------------------------------------------
    # Mail transport
    # ------------------------------------------------------------------

    def _get_email_documents(self):
        self.ensure_one()
        documents = self.letter_attachment_id
        if self.level_id.attach_invoices:
            documents |= self.invoice_ids.filtered(
                lambda move: move.is_sale_document()
            ).invoice_pdf_report_id
        return documents

    def _send_mass_emails(self):
        """Queue the emails of these follow-ups through Odoo's mass mailing, one
        run of the composer per template and signer, and keep each on its
        history.

        :return: {history id: the mail.mail queued}
        """
        mail_of = {}
        for (template, author), group in self.grouped(
            lambda history: (history.level_id.mail_template_id, history._get_followup_author())
        ).items():
            composer = (
                self.env["mail.compose.message"]
                .with_company(group.company_id[:1])
                .create(
                    {
                        "composition_mode": "mass_mail",
                        "model": self._name,
                        "res_ids": str(group.ids),
                        "template_id": template.id,
                        # Written by the collector (or the company), not by the
                        # scheduled action's technical user; the author given, the
                        # composer no longer takes the sender from the template.
                        "author_id": author.id,
                        "email_from": template.email_from or group.company_id[:1].email_formatted,
                        "email_layout_xmlid": CUSTOMER_EMAIL_LAYOUT,
                        # A run never waits on the mail server: the queue sends.
                        "force_send": False,
                    }
                )
            )
            mails = composer._action_send_mail()[0]
            mail_of.update((mail.res_id, mail) for mail in mails)
            for history in group:
                history.mail_message_id = mail_of[history.id].mail_message_id
        return mail_of

    def _send_edited_email(self):
        """Queue the email of a follow-up edited by hand: its subject and body as
        written, or the level's email under a personal note.

        :return: the mail.mail queued
        """
        self.ensure_one()
        template = self.level_id.mail_template_id
        rendered = {}
        for field in ("subject", "body_html", "email_from"):
            rendered[field] = template._render_field(field, self.ids, compute_lang=True)[self.id]
        # The composer renders its body as a QWeb template, with the system's
        # rights: what a collector typed keeps no directive (t-out, ...).
        body = rendered["body_html"]
        if self.email_body:
            body = html_sanitize(self.email_body, sanitize_attributes=True)
        if not is_html_empty(self.email_note):
            body = insert_after_greeting(
                body, html_sanitize(self.email_note, sanitize_attributes=True)
            )
        composer = (
            self.env["mail.compose.message"]
            .with_company(self.company_id)
            .create(
                {
                    "composition_mode": "mass_mail",
                    "model": self._name,
                    "res_ids": str(self.ids),
                    # The composer renders its subject as a template, here with
                    # the system's rights: a collector's words ("{{ ... }}") must
                    # never run. Their subject is set on the email once created.
                    "subject": "-",
                    "body": body,
                    "email_from": rendered["email_from"] or self.company_id.email_formatted,
                    "author_id": self._get_followup_author().id,
                    "email_layout_xmlid": CUSTOMER_EMAIL_LAYOUT,
                    "force_send": False,
                }
            )
        )
        mail = composer._action_send_mail()[0]
        subject = self.email_subject or rendered["subject"]
        mail.subject = subject
        mail.mail_message_id.subject = subject
        self.mail_message_id = mail.mail_message_id
        return mail

    def _get_email_outcome(self, mail):
        """What happened to the follow-up's email, as the history tells it."""
        self.ensure_one()
        recipients = ", ".join(self.recipient_ids.mapped("email"))
        if mail.state == "cancel":
            return self.env._(
                "Email not sent to %(recipients)s: the address is blacklisted or opted out.",
                recipients=recipients,
            )
        if mail.state == "exception":
            return self.env._(
                "Email not sent to %(recipients)s: %(reason)s",
                recipients=recipients,
                reason=mail.failure_reason or mail.failure_type or "",
            )
        if mail.state == "sent":
            return self.env._("Email sent to %(recipients)s.", recipients=recipients)
        return self.env._(
            "Email queued for %(recipients)s: the mail queue sends it shortly.",
            recipients=recipients,
        )

    def _drop_invalid_recipients(self):
        """Keep only the recipients whose address is a valid email; note the others.

        :return: the follow-ups left with no valid address
        """
        for history in self:
            invalid = history.recipient_ids.filtered(
                lambda partner: not email_normalize(partner.email)
            )
            if not invalid:
                continue
            history.recipient_ids -= invalid
            addresses = ", ".join(
                f"{partner.display_name} <{partner.email}>" for partner in invalid
            )
            history._add_summary(
                self.env._(
                    "Invalid email address, not emailed: %(addresses)s.", addresses=addresses
                )
            )
        return self.filtered(lambda history: not history.recipient_ids)

    def _request_email_address(self):
        if not self:
            return
        self._schedule_followup_activities(
            [
                (
                    history,
                    None,
                    self.env._("No email address for follow-ups"),
                    self.env._(
                        "%(partner)s has no email address: follow-up %(level)s was not "
                        "emailed. Add an address or call the customer.",
                        partner=history.partner_id.display_name,
                        level=history.level_id.name,
                    ),
                )
                for history in self
            ]
        )
        self._add_summary(self.env._("No email address: activity for the collector."))

    def _request_valid_email_address(self):
        if not self:
            return
        self._schedule_followup_activities(
            [
                (
                    history,
                    None,
                    self.env._("Invalid email address for follow-ups"),
                    self.env._(
                        "The email address of %(partner)s is invalid: follow-up %(level)s "
                        "was not emailed. Correct the address or call the customer.",
                        partner=history.partner_id.display_name,
                        level=history.level_id.name,
                    ),
                )
                for history in self
            ]
        )
        self._add_summary(self.env._("Email not sent: activity for the collector."))

    def _get_followup_author(self):
        """Author of the follow-up's email: its signer, else the company."""
        self.ensure_one()
        return self._get_followup_signer().partner_id or self.company_id.partner_id

    # ------------------------------------------------------------------
    # Retry of a failed email
    # ------------------------------------------------------------------

    def _check_may_retry_email(self):
        """Collectors and credit managers retry the emails of the follow-ups they
        may read (their companies'): a hidden button is not a permission."""
        if not self.env.user.has_group("credit_collections.group_credit_user"):
            raise AccessError(
                self.env._(
                    "Only collectors and credit managers can retry a follow-up email: ask one "
                    "of them."
                )
            )
        self.check_access("read")

    def action_retry_email(self):
        """Send the failed email of each follow-up again: its own email back in the
        mail queue, or a new one when it was deleted; logged on the follow-up and
        the customer. Follow-ups whose email did not fail are left alone."""
        self._check_may_retry_email()
        failed = self.filtered(lambda history: history.email_state == "exception")
        if not failed:
            raise UserError(
                self.env._(
                    "No failed email to retry: only a follow-up whose email status is "
                    "Exception can be sent again."
                )
            )
        failed._retry_email()
        count = len(failed)
        if count == 1:
            message = self.env._("1 email queued again.")
        else:
            message = self.env._("%(count)s emails queued again.", count=count)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Follow-ups"),
                "message": message,
                "type": "success",
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def _retry_email(self):
        # The emails are technical records collectors may not read or write: only
        # each follow-up's own failed email is searched and queued again.
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search(
                [
                    ("mail_message_id", "in", self.mail_message_id.ids),
                    ("state", "=", "exception"),
                ]
            )
        )
        mail_of = {mail.mail_message_id.id: mail for mail in mails}
        for history in self:
            # The follow-up is the system's record (read-only for users): the
            # retry, its new email and its log are written by the system for the
            # collector checked above.
            system = history.sudo()
            mail = mail_of.get(history.mail_message_id.id)
            if mail:
                mail.mark_outgoing()
            elif system.email_body or system.email_note:
                system._send_edited_email()
            else:
                system._send_mass_emails()
            system.email_failed = False
            note = self.env._(
                "Email retried by %(user)s: queued again for %(recipients)s.",
                user=self.env.user.name,
                recipients=", ".join(system.recipient_ids.mapped("email")),
            )
            system._add_summary(note)
            system.message_post(body=note, subtype_xmlid="mail.mt_note")
            # Logged on the customer whoever retries, as the follow-up's failure is.
            history.partner_id.sudo().message_post(
                body=self.env._(
                    "Follow-up %(followup)s: %(note)s", followup=history.display_name, note=note
                ),
                subtype_xmlid="mail.mt_note",
            )
