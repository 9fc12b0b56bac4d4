import base64

from werkzeug.urls import url_encode

from odoo import Command, api, fields, models
from odoo.tools import email_normalize, html_sanitize, is_html_empty
from odoo.tools.misc import hmac as hmac_tool

HISTORY_STATES = [
    ("done", "Done"),
    ("manual", "Action Needed"),
    ("error", "Error"),
]
EMAIL_STATES = [
    ("none", "No Email"),
    ("queued", "Queued"),
    ("sent", "Sent"),
    ("bounce", "Bounced"),
    ("exception", "Exception"),
    ("cancel", "Not Sent"),
]
# mail.mail states, as the follow-up shows them.
MAIL_EMAIL_STATES = {
    "outgoing": "queued",
    "sent": "sent",
    "received": "sent",
    "exception": "exception",
    "cancel": "cancel",
}


class CreditFollowupHistory(models.Model):
    """The dunning record: one follow-up of one customer at one level.

    A run records the histories of a batch of customers first (the exclusion
    constraint then stops a concurrent run before anything is sent), then runs
    each action of their levels on all of them at once (see _run_actions):
    adding an action is adding a method listed by the level's _get_actions().
    Emails and letters render from the history: its customer, level, date and
    items are all they show.
    """

    _name = "credit.followup.history"
    _inherit = ["mail.thread", "credit.guarded.mixin"]
    _description = "Follow-up History"
    _order = "date desc, id desc"
    _check_company_auto = True
    # What was sent to whom and why: a correction is a new follow-up.
    _credit_audit_trail = True

    partner_id = fields.Many2one(
        "res.partner",
        string="Customer",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    level_id = fields.Many2one("credit.followup.level", ondelete="restrict", check_company=True)
    episode = fields.Integer(
        help="Dunning episode of the customer: it ends when nothing is overdue any more.",
    )
    date = fields.Date(required=True, default=fields.Date.context_today)
    state = fields.Selection(selection=HISTORY_STATES, default="done", required=True)
    trigger = fields.Selection(
        selection=[("cron", "Scheduled Action"), ("manual", "Manual")],
        default="manual",
        required=True,
    )
    user_id = fields.Many2one(
        "res.users", string="Done By", help="Empty when the scheduled action did it."
    )
    send_email = fields.Boolean(string="By Email")
    send_letter = fields.Boolean(string="By Letter")
    currency_id = fields.Many2one(related="company_id.currency_id")
    overdue_amount = fields.Monetary(currency_field="currency_id")
    move_line_ids = fields.Many2many(
        "account.move.line",
        "credit_followup_history_move_line_rel",
        "history_id",
        "move_line_id",
        string="Items",
        check_company=True,
    )
    invoice_ids = fields.Many2many(
        "account.move", string="Invoices", compute="_compute_invoice_ids"
    )
    recipient_ids = fields.Many2many(
        "res.partner",
        "credit_followup_history_recipient_rel",
        "history_id",
        "partner_id",
        string="Sent To",
        check_company=True,
    )
    email_cc = fields.Char(string="Cc", help="Copies of the email, added by hand.")
    email_subject = fields.Char(help="Subject edited by hand before sending.")
    email_body = fields.Html(sanitize="email_outgoing", help="Email edited by hand before sending.")
    email_note = fields.Html(
        string="Personal Note",
        sanitize="email_outgoing",
        help="Written by hand above the level's email.",
    )
    mail_message_id = fields.Many2one("mail.message", string="Email", ondelete="set null")
    email_bounced = fields.Boolean(readonly=True, copy=False)
    email_state = fields.Selection(
        selection=EMAIL_STATES, compute="_compute_email_state", string="Email Status"
    )
    activity_id = fields.Many2one("mail.activity", ondelete="set null")
    letter_attachment_id = fields.Many2one(
        "ir.attachment", string="Letter", ondelete="set null", check_company=True
    )
    fee_move_id = fields.Many2one(
        "account.move", string="Fee Invoice", ondelete="set null", check_company=True
    )
    summary = fields.Text()
    statement_credit_ids = fields.Many2many(
        "account.move.line",
        string="Open Credits",
        compute="_compute_statement_netting",
        help="Open credit notes and payments of the customer, netted against its items.",
    )
    statement_net_residuals = fields.Json(compute="_compute_statement_netting")

    _sql_constraints = [
        (
            "level_once_per_episode",
            "EXCLUDE (partner_id WITH =, company_id WITH =, level_id WITH =, episode WITH =) "
            "WHERE (trigger = 'cron' AND state != 'error')",
            "A follow-up level runs once per customer and dunning episode.",
        ),
    ]

    # ------------------------------------------------------------------
    # Compute methods
    # ------------------------------------------------------------------

    @api.depends("move_line_ids")
    def _compute_invoice_ids(self):
        for history in self:
            history.invoice_ids = history.move_line_ids.move_id

    @api.depends("partner_id", "company_id", "move_line_ids.amount_residual")
    def _compute_statement_netting(self):
        # For every follow-up of a batch at once: their emails render together.
        Line = self.env["account.move.line"]
        credits = Line.browse()
        for company in self.company_id:
            credits |= Line.search(
                [
                    *Line._open_credit_domain(company),
                    (
                        "partner_id.commercial_partner_id",
                        "in",
                        self.partner_id.commercial_partner_id.ids,
                    ),
                ],
                order="date, id",
            )
        net = self.move_line_ids._origin._get_net_residuals()
        for history in self:
            commercial = history.partner_id.commercial_partner_id
            history.statement_credit_ids = credits.filtered(
                lambda line, history=history, commercial=commercial: (
                    line.company_id == history.company_id
                    and line.partner_id.commercial_partner_id == commercial
                )
            )
            history.statement_net_residuals = {
                str(line.id): net[line.id] for line in history.move_line_ids._origin
            }

    @api.depends("mail_message_id", "email_bounced")
    def _compute_email_state(self):
        # Emails are technical records: their status is shown to whoever reads
        # the follow-up.
        mails = (
            self.env["mail.mail"]
            .sudo()
            .search([("mail_message_id", "in", self.mail_message_id.ids)])
        )
        mail_of = {mail.mail_message_id.id: mail for mail in mails}
        for history in self:
            mail = mail_of.get(history.mail_message_id.id)
            if not history.mail_message_id:
                history.email_state = "none"
            elif history.email_bounced:
                history.email_state = "bounce"
            elif not mail:
                history.email_state = "sent"  # deleted once sent
            else:
                history.email_state = MAIL_EMAIL_STATES.get(mail.state, "queued")

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
    # Business methods
    # ------------------------------------------------------------------

    def _get_email_documents(self):
        self.ensure_one()
        documents = self.letter_attachment_id
        if self.level_id.attach_invoices:
            documents |= self.invoice_ids.filtered(
                lambda move: move.is_sale_document()
            ).invoice_pdf_report_id
        return documents

    def _get_previous_followups(self):
        """Follow-ups the customer received before this one in the same dunning
        episode (an email or a letter went out): a level's text may only speak
        of "our reminders" when there were some."""
        self.ensure_one()
        return self.search(
            [
                ("partner_id", "=", self.partner_id.id),
                ("company_id", "=", self.company_id.id),
                ("episode", "=", self.episode),
                ("state", "=", "done"),
                ("id", "!=", self._origin.id),
                ("date", "<=", self.date),
                "|",
                ("send_email", "=", True),
                ("send_letter", "=", True),
            ]
        )

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
        """How the customer pays what the follow-up lists, for its email and letter.

        :return: dict with "bank_accounts" (res.partner.bank of the company to pay
            to), "reference" (to quote on a transfer), "pay_url" (pay online:
            the invoice's own page for one invoice, Odoo's payment link for the
            total when a payment provider is enabled; else False) and "pay_qr"
            (with_qr: the pay_url as a QR code, a data URI, for paper)
        """
        self.ensure_one()
        lines = self.move_line_ids
        company = self.company_id
        invoices = lines.move_id
        # Where the invoices ask to be paid, else the company's bank journals.
        bank_accounts = invoices.partner_bank_id.filtered(lambda bank: bank.active)
        if not bank_accounts:
            # Read on the company, once for all the follow-ups of a batch.
            bank_accounts = company.sudo().bank_journal_ids.sorted("sequence").bank_account_id
        references = [reference for reference in invoices.mapped("payment_reference") if reference]
        reference = ", ".join(dict.fromkeys(references))
        partner = self.partner_id
        if not reference or len(reference) > 60:
            reference = partner.ref or partner.display_name
        base_url = partner.get_base_url()
        pay_url = False
        if len(invoices) == 1 and invoices.is_sale_document(include_receipts=True):
            pay_url = base_url + invoices.get_portal_url()
        elif lines and len(lines.currency_id) == 1:
            providers = (
                self.env["payment.provider"]
                .sudo()
                .search_count(
                    [("state", "in", ("enabled", "test")), ("company_id", "=", company.id)],
                    limit=1,
                )
            )
            # What is due once the open credits are netted, as the statement says.
            amount = lines.currency_id.round(sum(self.statement_net_residuals.values()))
            if providers and amount > 0:
                pay_url = (
                    base_url
                    + "/payment/pay?"
                    + url_encode(
                        {
                            "reference": reference,
                            "amount": amount,
                            "currency_id": lines.currency_id.id,
                            "partner_id": partner.id,
                            "company_id": company.id,
                            "access_token": self._payment_link_token(
                                partner.id, amount, lines.currency_id.id
                            ),
                        }
                    )
                )
        pay_qr = False
        if pay_url and with_qr:
            png = self.env["ir.actions.report"].barcode("QR", pay_url, width=160, height=160)
            pay_qr = "data:image/png;base64," + base64.b64encode(png).decode()
        return {
            "bank_accounts": bank_accounts,
            "reference": reference,
            "pay_url": pay_url,
            "pay_qr": pay_qr,
        }

    def _payment_link_token(self, *values):
        """The access token of Odoo's payment link (payment.utils'
        generate_access_token), computed without an HTTP request: scheduled
        actions render follow-ups outside any (the helper then failed the
        follow-up of every customer with several invoices to pay online)."""
        return hmac_tool(
            self.env(su=True), "generate_access_token", "|".join(str(value) for value in values)
        )

    def _get_statement_lines(self):
        """Items the statement of the follow-up lists, by due date."""
        self.ensure_one()
        # A preview (unsaved follow-up) holds new records: sort on the real ids.
        return self.move_line_ids.sorted(lambda line: (line.date_maturity, line._origin.id))

    def _get_statement_credits(self):
        """Open credit notes and payments of the customer the statement lists
        below its items, by date: they are netted against the items, oldest
        first (see account.move.line._netted_receivable_sql)."""
        self.ensure_one()
        return self.statement_credit_ids.sorted(lambda line: (line.date, line.id))

    def _get_statement_net_totals(self):
        """[(currency, amount due)] of the items the statement lists, once the
        open credits are netted, per currency, by currency name."""
        self.ensure_one()
        net = self.statement_net_residuals
        totals = {}
        for line in self._get_statement_lines()._origin:
            totals[line.currency_id] = totals.get(line.currency_id, 0.0) + net[str(line.id)]
        return sorted(
            ((currency, currency.round(amount)) for currency, amount in totals.items()),
            key=lambda item: item[0].name,
        )

    def _add_summary(self, text):
        for history in self:
            history.summary = "\n".join(part for part in (history.summary, text) if part)

    @api.model
    def _prepare_history_vals(
        self, partner, level, state, company, trigger, channels, items, email_values=None
    ):
        send_email, send_letter = channels
        email_values = email_values or {}
        recipients = email_values.get("recipients")
        if recipients is None:
            recipients = partner._get_followup_recipients().filtered("email")
        outside = email_values.get("outside_recipients", {}).get(partner.id)
        return {
            "partner_id": partner.id,
            "company_id": company.id,
            "level_id": level.id,
            "episode": partner.with_company(company).followup_episode,
            "trigger": trigger,
            "state": "manual" if trigger == "cron" and level.manual_action else "done",
            "user_id": self.env.uid if trigger == "manual" else False,
            "overdue_amount": state["overdue"],
            "send_email": level.send_email if send_email is None else send_email,
            "send_letter": level.send_letter if send_letter is None else send_letter,
            "move_line_ids": [Command.set(items.ids)],
            "recipient_ids": [Command.set(recipients.ids)],
            "email_cc": email_values.get("email_cc") or False,
            "email_subject": email_values.get("subject") or False,
            "email_body": email_values.get("body") or False,
            "email_note": email_values.get("note") or False,
            # Confirmed by whoever sends it (see res.partner._followup_check_outside_recipients).
            "summary": self.env._(
                "Emailed beyond the customer's contacts, to %(recipients)s: confirmed by %(user)s.",
                recipients=", ".join(outside),
                user=self.env.user.name,
            )
            if outside
            else False,
        }

    @api.model
    def _create_batch(
        self, items, company, trigger, send_email=None, send_letter=None, email_values=None
    ):
        """Record the follow-ups of a batch of customers, before any of their
        actions: a concurrent run that did a customer already makes this fail
        before anything is sent.

        :param items: [(commercial partner, level, state from the engine)]
        :param send_email, send_letter: channels chosen by hand (None: the level's)
        :param email_values: the email as edited by hand in the Send wizard:
            {"recipients": res.partner (one customer only), "email_cc": str,
            "subject": str, "body": html (one customer only), "note": html}
        """
        partners = self.env["res.partner"].union(*(partner for partner, _level, _state in items))
        items_of = self.env["account.move.line"]._followup_items_by_partner(
            partners, company, {partner.id: level.delay for partner, level, _state in items}
        )
        vals_list = [
            self._prepare_history_vals(
                partner,
                level,
                state,
                company,
                trigger,
                (send_email, send_letter),
                items_of[partner.id],
                email_values,
            )
            for partner, level, state in items
        ]
        # "Pay now" links of the statements need each invoice's portal token.
        self.env["account.move.line"].union(
            *items_of.values()
        ).move_id._credit_ensure_portal_tokens()
        return self.with_company(company)._create_batch_records(vals_list)

    @api.model
    def _record_failure(self, partner, company, level, state, trigger, error):
        message = self.env._(
            "Follow-up %(level)s failed: %(error)s", level=level.name, error=str(error)
        )
        # Logged whoever runs it: the collector must see why nothing was sent.
        partner.sudo().message_post(body=message, subtype_xmlid="mail.mt_note")
        vals = self._prepare_history_vals(
            partner, level, state, company, trigger, (False, False), self.env["account.move.line"]
        )
        return self._create_batch_records([dict(vals, state="error", summary=message)])

    def _create_batch_records(self, vals_list):
        # The dunning record is the system's (read-only for users), and what its
        # actions do goes beyond what who triggers it may do: collectors cannot edit
        # customers nor issue invoices, and the run sends for everyone. The actions
        # run on the records returned here.
        return (
            self.sudo()
            .with_context(mail_create_nolog=True, mail_create_nosubscribe=True)
            .create(vals_list)
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def _run_actions(self):
        """Run every action of the levels of the histories, each on all of them at
        once: the queries of a batch do not grow with its number of customers."""
        manual = self.filtered(lambda history: history.state == "manual")
        manual._action_request_manual_action()
        acting = self - manual
        for action in acting.level_id._get_actions():
            getattr(acting, action)()
        self._mark_items_followed_up()

    def _action_request_manual_action(self):
        """The scheduled action stops at a manual level: an activity for the
        collector, who sends it by hand."""
        if not self:
            return
        self._schedule_followup_activities(
            [
                (
                    history,
                    history.level_id,
                    self.env._("Follow-up: %(level)s", level=history.level_id.name),
                    None,
                )
                for history in self
            ]
        )
        self._add_summary(self.env._("Manual action needed: activity for the collector."))

    def _action_print_letter(self):
        """The reminder letter of each follow-up, all of them in one wkhtmltopdf run."""
        histories = self.filtered("send_letter")
        if not histories:
            return
        report = self.env.ref("credit_collections.action_report_followup_letter")
        contents = self.env["ir.actions.report"]._credit_render_pdfs(report, histories)
        letters = self.env["ir.attachment"].create(
            [
                {
                    "name": self.env._(
                        "Follow-up %(level)s - %(partner)s.pdf",
                        level=history.level_id.name,
                        partner=history.partner_id.display_name,
                    ),
                    "raw": contents[history.id],
                    "mimetype": "application/pdf",
                    "res_model": self._name,
                    "res_id": history.id,
                }
                for history in histories
            ]
        )
        for history, letter in zip(histories, letters, strict=True):
            history.letter_attachment_id = letter
        histories._add_summary(self.env._("Letter printed."))
        unaddressed = histories.filtered(lambda history: not history._get_letter_addressee())
        if unaddressed:
            unaddressed._schedule_followup_activities(
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
                    for history in unaddressed
                ]
            )
            unaddressed._add_summary(
                self.env._(
                    "Warning: no complete postal address, the letter cannot be posted; "
                    "activity for the collector."
                )
            )

    def _action_send_email(self):
        """Queue the email of each follow-up through Odoo's mass mailing, one run of
        the composer per template and signer: blacklist, bounces and every mail
        extension apply as for any mass mail, and each email is kept on its
        history. The history says what happened to it: queued here, then sent or
        failed when the mail queue sends it (see mail.mail), bounced later."""
        histories = self.filtered("send_email")
        if not histories:
            return
        without_email = histories.filtered(lambda history: not history.recipient_ids)
        without_email._request_email_address()
        histories -= without_email
        invalid = histories._drop_invalid_recipients()
        invalid._request_valid_email_address()
        histories -= invalid
        histories.filtered("level_id.attach_invoices").invoice_ids._credit_ensure_pdf_reports()
        mail_of = {}
        edited = histories.filtered(lambda history: history.email_body or history.email_note)
        for history in edited:
            mail_of[history.id] = history._send_edited_email()
        histories -= edited
        for (template, author), group in histories.grouped(
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
                        "email_layout_xmlid": "mail.mail_notification_light",
                        # A run never waits on the mail server: the queue sends.
                        "force_send": False,
                    }
                )
            )
            mails = composer._action_send_mail()[0]
            mail_of.update((mail.res_id, mail) for mail in mails)
            for history in group:
                history.mail_message_id = mail_of[history.id].mail_message_id
        for history in histories | edited:
            history._add_summary(history._get_email_outcome(mail_of[history.id]))

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
            body = html_sanitize(self.email_note, sanitize_attributes=True) + body
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
                    "email_layout_xmlid": "mail.mail_notification_light",
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

    def _get_followup_signer(self):
        """The person who signs the follow-up: the customer's collector (else its
        salesperson) when that is a real person, else nobody and the company
        signs. Technical users (the scheduled action's) never sign."""
        self.ensure_one()
        user = self.partner_id._get_followup_collector()
        # The superuser is the scheduled action's own (and OdooBot's) user.
        if not user or user._is_superuser() or user.share or not user.active:
            return self.env["res.users"]
        return user

    def _get_followup_author(self):
        """Author of the follow-up's email: its signer, else the company."""
        self.ensure_one()
        return self._get_followup_signer().partner_id or self.company_id.partner_id

    def _action_schedule_activity(self):
        histories = self.filtered(lambda history: history.level_id.create_activity)
        if not histories:
            return
        histories._schedule_followup_activities(
            [(history, history.level_id, None, None) for history in histories]
        )
        histories._add_summary(self.env._("Activity scheduled."))

    def _action_set_credit_hold(self):
        histories = self.filtered(
            lambda history: history.level_id.set_credit_hold and not history.partner_id.credit_hold
        )
        for level, group in histories.grouped("level_id").items():
            group.partner_id.with_company(level.company_id).write(
                {
                    "credit_hold": True,
                    "credit_hold_reason": self.env._("Follow-up level %(level)s", level=level.name),
                }
            )
            group._add_summary(self.env._("Customer put on credit hold."))

    def _action_invoice_fee(self):
        """Invoice each customer the fee of its level, as a charge that the
        customer's credit hold lets through."""
        histories = self.filtered(lambda history: history.level_id.fee_amount)
        if not histories:
            return
        today = fields.Date.context_today(self)
        for company, group in histories.grouped("company_id").items():
            product = company.credit_followup_fee_product_id
            taxes = product.taxes_id.filtered(
                lambda tax, company=company: tax.company_id == company
            )
            fees = (
                self.env["account.move"]
                .with_company(company)
                ._credit_create_charge_invoices(
                    "fee",
                    [
                        {
                            "partner_id": history.partner_id.id,
                            "company_id": company.id,
                            "invoice_date": today,
                            "invoice_line_ids": [
                                Command.create(
                                    {
                                        "product_id": product.id,
                                        "name": self.env._(
                                            "Dunning fee: %(level)s", level=history.level_id.name
                                        ),
                                        "quantity": 1,
                                        "price_unit": history.level_id.fee_amount,
                                        "tax_ids": [Command.set(taxes.ids)],
                                    }
                                )
                            ],
                        }
                        for history in group
                    ],
                )
            )
            for history, fee in zip(group, fees, strict=True):
                history.fee_move_id = fee
            group._add_summary(self.env._("Fee invoiced."))

    def _mark_items_followed_up(self):
        """Record on the customers and their items the level that chased them, and
        when."""
        for level, group in self.grouped("level_id").items():
            group.move_line_ids._followup_mark(level, group[:1].date)
            group.partner_id.with_company(level.company_id).write(
                {"followup_level_id": level.id, "followup_last_date": group[:1].date}
            )

    def _schedule_followup_activities(self, requests):
        """Schedule the collectors' activities, replacing the open ones of the same
        type and user on the customer, and link each to its history.

        :param requests: [(history, level or None (a to-do), summary, note)]
        """
        todo = self.env.ref("mail.mail_activity_data_todo")
        partner_model = self.env["ir.model"]._get_id("res.partner")
        vals_list = []
        for history, level, summary, note in requests:
            activity_type = (level and level.activity_type_id) or todo
            vals_list.append(
                {
                    "res_model_id": partner_model,
                    "res_id": history.partner_id.id,
                    "activity_type_id": activity_type.id,
                    "user_id": history._get_activity_user(level).id,
                    "summary": summary or (level and (level.activity_summary or level.name)),
                    "note": note or (level and level.activity_note) or "",
                    "date_deadline": history.date,
                    "automated": True,
                }
            )
        keys = {(vals["res_id"], vals["activity_type_id"], vals["user_id"]) for vals in vals_list}
        self.env["mail.activity"].search(
            [("res_model", "=", "res.partner"), ("res_id", "in", self.partner_id.ids)]
        ).filtered(
            lambda activity: (
                (activity.res_id, activity.activity_type_id.id, activity.user_id.id) in keys
            )
        ).unlink()
        # One email per activity would flood collectors after a run: they find them
        # in their activities, and the history links each.
        activities = (
            self.env["mail.activity"]
            .with_context(mail_activity_quick_update=True)
            .create(vals_list)
        )
        for (history, *_rest), activity in zip(requests, activities, strict=True):
            history.activity_id = activity

    def _get_activity_user(self, level=None):
        """Who gets an activity of the follow-up: the level's assignee, else the
        customer's collector, else its salesperson, else the company's credit
        approver, else whoever runs it."""
        self.ensure_one()
        partner = self.partner_id
        if level and level.activity_assignee == "user" and level.activity_user_id:
            return level.activity_user_id
        if level and level.activity_assignee == "salesperson" and partner.user_id:
            return partner.user_id
        return (
            partner._get_followup_collector()
            or self.env["credit.approval.request"]._credit_approvers(self.company_id)[:1]
            or self.env.user
        )
