from odoo import Command, api, fields, models
from odoo.tools import format_date

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

    This file holds the record, its computes and its creation by a run; the
    other parts extend it: credit_followup_history_mail.py (mail hooks and
    transport), credit_followup_history_letter.py (letter, how to pay, signer)
    and credit_followup_history_actions.py (the actions of the levels).
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
    # What was overdue at each follow-up: rows of one customer repeat the same
    # debt and rows of several are of other dates, so no sum adds up (list
    # total or group rows).
    overdue_amount = fields.Monetary(currency_field="currency_id", aggregator=False)
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
        help="Written by hand, after the greeting of the level's email.",
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

    @api.depends("partner_id", "level_id", "date")
    @api.depends_context("lang")
    def _compute_display_name(self):
        # The breadcrumb, the emails' record and the activities name the follow-up
        # by what it was: whom, which level, when.
        for history in self:
            parts = [history.partner_id.display_name, history.level_id.name]
            if history.date:
                parts.append(format_date(history.env, history.date))
            history.display_name = " – ".join(part for part in parts if part)

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

    @api.depends("mail_message_id", "email_bounced", "email_failed")
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
            if history.mail_message_id and history.email_bounced:
                history.email_state = "bounce"
            elif mail:
                history.email_state = MAIL_EMAIL_STATES.get(mail.state, "queued")
            elif history.email_failed:
                # Deleted by hand (with its message) after it failed: a retry sends anew.
                history.email_state = "exception"
            elif not history.mail_message_id:
                history.email_state = "none"
            else:
                history.email_state = "sent"  # deleted once sent

    # ------------------------------------------------------------------
    # Business methods: what the follow-up lists
    # ------------------------------------------------------------------

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

    # ------------------------------------------------------------------
    # Creation: the run records the follow-ups of a batch
    # ------------------------------------------------------------------

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
