from odoo import Command, api, fields, models

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
    _inherit = ["mail.thread"]
    _description = "Follow-up History"
    _order = "date desc, id desc"
    _check_company_auto = True

    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    level_id = fields.Many2one("credit.followup.level", ondelete="restrict")
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
    )
    mail_message_id = fields.Many2one("mail.message", string="Email", ondelete="set null")
    email_bounced = fields.Boolean(readonly=True, copy=False)
    email_state = fields.Selection(
        selection=EMAIL_STATES, compute="_compute_email_state", string="Email Status"
    )
    activity_id = fields.Many2one("mail.activity", ondelete="set null")
    letter_attachment_id = fields.Many2one("ir.attachment", string="Letter", ondelete="set null")
    fee_move_id = fields.Many2one("account.move", string="Fee Invoice", ondelete="set null")
    summary = fields.Text()

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
                "email_cc": False,
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
        self.email_bounced = True
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

    def _get_statement_lines(self):
        """Items the statement of the follow-up lists, by due date."""
        self.ensure_one()
        return self.move_line_ids.sorted(lambda line: (line.date_maturity, line.id))

    def _add_summary(self, text):
        for history in self:
            history.summary = "\n".join(part for part in (history.summary, text) if part)

    @api.model
    def _prepare_history_vals(self, partner, level, state, company, trigger, channels, items):
        send_email, send_letter = channels
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
            "recipient_ids": [
                Command.set(partner._get_followup_recipients().filtered("email").ids)
            ],
        }

    @api.model
    def _create_batch(self, items, company, trigger, send_email=None, send_letter=None):
        """Record the follow-ups of a batch of customers, before any of their
        actions: a concurrent run that did a customer already makes this fail
        before anything is sent.

        :param items: [(commercial partner, level, state from the engine)]
        :param send_email, send_letter: channels chosen by hand (None: the level's)
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

    def _action_send_email(self):
        """Queue the email of each follow-up through Odoo's mass mailing, one run of
        the composer per template: blacklist, bounces and every mail extension
        apply as for any mass mail, and each email is kept on its history."""
        histories = self.filtered("send_email")
        if not histories:
            return
        without_email = histories.filtered(lambda history: not history.recipient_ids)
        without_email._request_email_address()
        histories -= without_email
        histories.filtered("level_id.attach_invoices").invoice_ids._credit_ensure_pdf_reports()
        mail_of = {}
        for template, group in histories.grouped(lambda h: h.level_id.mail_template_id).items():
            composer = (
                self.env["mail.compose.message"]
                .with_company(group.company_id[:1])
                .create(
                    {
                        "composition_mode": "mass_mail",
                        "model": self._name,
                        "res_ids": str(group.ids),
                        "template_id": template.id,
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
        for history in histories:
            recipients = ", ".join(history.recipient_ids.mapped("email"))
            if mail_of[history.id].state == "cancel":
                text = self.env._(
                    "Email not sent to %(recipients)s: blacklisted or invalid address.",
                    recipients=recipients,
                )
            else:
                text = self.env._("Email sent to %(recipients)s.", recipients=recipients)
            history._add_summary(text)

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
