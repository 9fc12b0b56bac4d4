import logging
from datetime import timedelta

from psycopg2 import errors

from odoo import Command, api, fields, models, tools
from odoo.tools import SQL, split_every

_logger = logging.getLogger(__name__)

# Customers processed between two commits of the scheduled action.
BATCH_SIZE = 100
# First key of the transaction-level advisory lock a follow-up holds on a customer
# (the second is the customer's id): "CCFU".
FOLLOWUP_LOCK_KEY = 0x43434655
# How long one wkhtmltopdf run of a follow-up batch may take.
PDF_TIMEOUT_SECONDS = 120


class CreditFollowupEngine(models.AbstractModel):
    """Decides which follow-up level each customer has reached and runs its actions.

    Works on receivable items, never on invoice totals: each installment has its
    own due date. The level reached is decided by the oldest open item that is
    not excluded from follow-ups. A level's actions run once per customer and
    dunning episode; an episode ends when nothing is due any more.
    """

    _name = "credit.followup.engine"
    _description = "Follow-up Engine"

    # ------------------------------------------------------------------
    # Figures and states
    # ------------------------------------------------------------------

    def _company_levels(self, company):
        # The engine works for the company it is given, whichever companies the
        # user running it (often the scheduled action's) has selected.
        return (
            self.env["credit.followup.level"]
            .sudo()
            .search([("company_id", "=", company.id), ("policy_id.active", "=", True)])
        )

    def _followed_up_items_sql(self, company, conditions):
        """FROM and WHERE clauses of the items follow-ups chase: open receivables
        still due (credit notes and payments are not chased) and not excluded."""
        return self.env["credit.exposure"]._open_receivables_sql(
            company,
            conditions=SQL(
                "line.amount_residual > 0 AND NOT COALESCE(line.followup_excluded, FALSE) AND %s",
                conditions,
            ),
        )

    def _candidate_partner_ids(self, company):
        """Commercial partners that may have something to do: open items due within
        the earliest level's delay, or a level reached in a running episode."""
        levels = self._company_levels(company)
        if not levels:
            return []
        earliest = min(levels.mapped("delay"))
        horizon = fields.Date.context_today(self) - timedelta(days=earliest)
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["account.move.line"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT partner.commercial_partner_id
                       %(followed_up)s
                 UNION
                SELECT partner.id
                  FROM res_partner partner
                 WHERE partner.followup_level_id ->> %(company_key)s IS NOT NULL
                """,
                followed_up=self._followed_up_items_sql(
                    company, SQL("line.date_maturity <= %s", horizon)
                ),
                company_key=str(company.id),
            )
        )
        return sorted(row[0] for row in rows)

    def _line_figures(self, partners, company):
        """Oldest due date and overdue amount of the open, not excluded items of
        each commercial partner, in company currency."""
        today = fields.Date.context_today(self)
        self.env["res.partner"].flush_model(["commercial_partner_id"])
        self.env["account.move.line"].flush_model()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT partner.commercial_partner_id,
                       MIN(line.date_maturity),
                       SUM(line.amount_residual) FILTER (WHERE line.date_maturity < %(today)s)
                       %(followed_up)s
              GROUP BY partner.commercial_partner_id
                """,
                today=today,
                followed_up=self._followed_up_items_sql(
                    company, SQL("partner.commercial_partner_id = ANY(%s)", partners.ids)
                ),
            )
        )
        return {
            pid: {"oldest_due": oldest, "overdue": overdue or 0.0} for pid, oldest, overdue in rows
        }

    def _get_states(self, partners, company):
        """Follow-up state of each commercial partner in company, in constant queries.

        :return: {partner id: {status, next_action_date, level (due now or False),
            current_level, overdue, oldest_due}}
        """
        partners = partners.commercial_partner_id.with_company(company)
        today = fields.Date.context_today(self)
        figures = self._line_figures(partners, company)
        promised = {
            partner.id
            for (partner,) in self.env["credit.promise"]
            .sudo()
            ._read_group(
                [
                    ("partner_id", "in", partners.ids),
                    ("company_id", "=", company.id),
                    ("state", "=", "open"),
                    ("promised_date", ">=", today),
                ],
                ["partner_id"],
            )
        }
        default_policy = self.env["credit.followup.policy"].sudo()._get_company_default(company)
        levels_by_policy = {}
        minimum = company.credit_followup_min_amount
        states = {}
        for partner in partners:
            policy = partner.followup_policy_id or default_policy
            if policy not in levels_by_policy:
                levels_by_policy[policy] = policy._get_levels() if policy else policy.level_ids
            levels = levels_by_policy[policy]
            figure = figures.get(partner.id, {})
            oldest_due = figure.get("oldest_due")
            overdue = figure.get("overdue", 0.0)
            current = partner.followup_level_id
            reached = self.env["credit.followup.level"]
            next_level = self.env["credit.followup.level"]
            if oldest_due:
                days = (today - oldest_due).days
                reached = levels.filtered(lambda level, days=days: level.delay <= days)[-1:]
                current_delay = current.delay if current else None
                next_level = levels.filtered(
                    lambda level, current_delay=current_delay: (
                        current_delay is None or level.delay > current_delay
                    )
                )[:1]
            due_level = (
                reached
                if reached and (not current or reached.delay > current.delay)
                else self.env["credit.followup.level"]
            )
            if current and current.manual_action:
                due_level = self.env["credit.followup.level"]
            if due_level and reached.delay >= 0 and overdue < minimum:
                due_level = self.env["credit.followup.level"]
            if partner.followup_excluded:
                status = "excluded"
            elif partner.followup_paused_until and partner.followup_paused_until >= today:
                status = "paused"
            elif partner.id in promised:
                status = "promised"
            elif due_level or (current and current.manual_action):
                status = "action_needed"
            elif oldest_due and reached:
                status = "waiting"
            else:
                status = "no_action"
            states[partner.id] = {
                "status": status,
                "level": due_level if status == "action_needed" else due_level.browse(),
                "reached_level": reached,
                "current_level": current,
                "next_action_date": (
                    today
                    if status == "action_needed"
                    else oldest_due + timedelta(days=next_level.delay)
                    if oldest_due and next_level and status in ("waiting", "no_action")
                    else partner.followup_paused_until
                    if status == "paused"
                    else False
                ),
                "overdue": overdue,
                "oldest_due": oldest_due,
            }
        return states

    # ------------------------------------------------------------------
    # Scheduled action
    # ------------------------------------------------------------------

    @api.model
    def _cron_run(self):
        """Run due follow-up levels for every customer of every company, in batches
        committed one by one, so that an interrupted run loses nothing: the next
        run skips the customers already done."""
        # A system job: it works for every company, whichever the companies of the
        # user the scheduled action runs as.
        self = self.sudo()
        companies = self.env["res.company"].search([("active", "=", True)])
        work = []
        for company in companies:
            self.env["credit.promise"].sudo()._update_promises(company)
            work += [(company, pid) for pid in self._candidate_partner_ids(company)]
        done = 0
        for batch in split_every(BATCH_SIZE, work):
            for company, partner_ids in _group_by_company(batch):
                self._run_batch(self.env["res.partner"].browse(partner_ids), company)
            done += len(batch)
            self.env["ir.cron"]._notify_progress(done=done, remaining=len(work) - done)
            if self.env["account.move"]._can_commit():
                self.env.cr.commit()  # pylint: disable=invalid-commit

    def _run_batch(self, partners, company):
        states = self._get_states(partners, company)
        partners = partners.commercial_partner_id.with_company(company)
        ended = partners.browse()
        due = []
        for partner in partners:
            state = states[partner.id]
            if not state["oldest_due"] or not state["reached_level"]:
                if state["current_level"]:
                    ended |= partner
                continue
            if state["status"] == "action_needed" and state["level"]:
                due.append((partner, state["level"], state))
        if ended:
            self._end_episode(ended)
        if due:
            self._apply_levels_safely(due, company, trigger="cron")

    def _end_episode(self, partners):
        # Follow-up state is bookkeeping of the engine, written whoever runs it.
        for episode, group in partners.sudo().grouped("followup_episode").items():
            group.write({"followup_level_id": False, "followup_episode": episode + 1})

    def _apply_level_safely(self, partner, company, level, state, **options):
        """Apply a level to one customer (see _apply_levels_safely).

        :return: the history recorded (state "error" on failure), empty when a
            concurrent run did it first
        """
        partner = partner.commercial_partner_id
        histories = self._apply_levels_safely([(partner, level, state)], company, **options)
        return histories.get(partner.id, self.env["credit.followup.history"])

    def _apply_levels_safely(self, items, company, **options):
        """Apply levels to customers together, in a savepoint: when anything fails
        nothing of the batch is kept and each customer is done again alone, so that
        a failure on one customer is logged on it, leaves nothing half-done, and the
        others go on.

        :param items: [(commercial partner, level, state from _get_states)]
        :return: {partner id: history}
        """
        # Everything a follow-up emails waits in the mail queue: a run never blocks
        # on the mail server.
        self = self.with_context(mail_notify_force_send=False)
        claimed = self._claim_customers(
            self.env["res.partner"].browse([partner.id for partner, _level, _state in items])
        )
        items = [item for item in items if item[0] in claimed]
        if not items:
            return {}
        partners = claimed
        try:
            with self.env.cr.savepoint():
                return self._apply_levels(items, company, **options)
        except (errors.SerializationFailure, errors.ExclusionViolation):
            self.env.invalidate_all()
            if len(items) > 1:
                return self._apply_levels_one_by_one(items, company, **options)
            _logger.info("Follow-up of partner %s done by a concurrent run", partners.id)
            return {}
        except Exception as error:
            self.env.invalidate_all()
            if len(items) > 1:
                return self._apply_levels_one_by_one(items, company, **options)
            _logger.warning("Follow-up of partner %s failed", partners.id, exc_info=True)
            (_partner, level, state) = items[0]
            return {
                partners.id: self._record_failure(partners, company, level, state, error, options)
            }

    def _claim_customers(self, partners):
        """The customers this transaction may follow up now: those no concurrent
        run is doing, or has done since this transaction began. The others are left
        to that run, quietly: two runs at once are expected.

        No row of the customers is locked: a salesperson confirming an order of one
        of them never waits for a follow-up batch and its PDFs.
        """
        rows = self.env.execute_query(
            SQL(
                "SELECT id FROM unnest(%s::int[]) AS id WHERE pg_try_advisory_xact_lock(%s, id)",
                partners.ids,
                FOLLOWUP_LOCK_KEY,
            )
        )
        claimed = partners.browse(sorted(row[0] for row in rows))
        if claimed and not self._unchanged_since_snapshot(claimed):
            claimed = claimed.filtered(self._unchanged_since_snapshot)
        if partners - claimed:
            _logger.info(
                "Follow-up of partners %s left to a concurrent run", (partners - claimed).ids
            )
        return claimed

    def _unchanged_since_snapshot(self, partners):
        """Whether no transaction committed a change of the customers after this one
        began (a follow-up run that has just finished updated their level): asking
        for a key-share lock fails then, without waiting for anyone."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL(
                        "SELECT id FROM res_partner WHERE id = ANY(%s) FOR KEY SHARE",
                        partners.ids,
                    ),
                    log_exceptions=False,
                )
        except errors.SerializationFailure:
            return False
        return True

    def _apply_levels_one_by_one(self, items, company, **options):
        histories = {}
        for item in items:
            histories.update(self._apply_levels_safely([item], company, **options))
        return histories

    def _record_failure(self, partner, company, level, state, error, options):
        message = self.env._(
            "Follow-up %(level)s failed: %(error)s", level=level.name, error=str(error)
        )
        # Logged whoever runs it: the collector must see why nothing was sent.
        partner.sudo().message_post(body=message, subtype_xmlid="mail.mt_note")
        return (
            self.env["credit.followup.history"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "level_id": level.id,
                    "episode": partner.with_company(company).followup_episode,
                    "state": "error",
                    "trigger": options.get("trigger", "cron"),
                    "user_id": self._acting_user(options).id,
                    "overdue_amount": state["overdue"],
                    "summary": message,
                }
            )
        )

    def _acting_user(self, options):
        return self.env.user if options.get("trigger") == "manual" else self.env["res.users"]

    # ------------------------------------------------------------------
    # Actions of a level
    # ------------------------------------------------------------------

    def _apply_levels(self, items, company, trigger="cron", send_email=None, send_letter=None):
        """Run the actions of the level of each customer and record them in its
        history, every action for all customers at once: the queries of a batch do
        not grow with its number of customers.

        :param items: [(commercial partner, level, state from _get_states)]
        :param send_email, send_letter: channels chosen by hand (None: the level's)
        :return: {partner id: history}
        """
        self = self.with_company(company)
        partners = self.env["res.partner"].browse([partner.id for partner, _level, _state in items])
        level_of = {partner.id: level for partner, level, _state in items}
        state_of = {partner.id: state for partner, _level, state in items}
        lines_of = self._followup_lines_by_partner(partners, level_of)
        # The histories first: a concurrent run that did a customer already makes
        # this fail before anything is sent.
        histories = (
            self.env["credit.followup.history"]
            .sudo()
            .create(
                [
                    {
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "level_id": level_of[partner.id].id,
                        "episode": partner.followup_episode,
                        "trigger": trigger,
                        "user_id": self._acting_user({"trigger": trigger}).id,
                        "overdue_amount": state_of[partner.id]["overdue"],
                        "move_line_ids": [Command.set(lines_of[partner.id].ids)],
                    }
                    for partner in partners
                ]
            )
        )
        history_of = dict(zip(partners.ids, histories, strict=True))
        summaries = {partner.id: [] for partner in partners}
        activities = []  # (partner, level, summary, note) in the order they are set

        manual = partners.filtered(
            lambda partner: level_of[partner.id].manual_action and trigger == "cron"
        )
        for partner in manual:
            level = level_of[partner.id]
            history_of[partner.id].state = "manual"
            activities.append(
                (partner, level, self.env._("Follow-up: %(level)s", level=level.name), None)
            )
            summaries[partner.id].append(
                self.env._("Manual action needed: activity for the collector.")
            )
        acting = partners - manual

        def _channel(chosen, level_flag):
            return chosen if chosen is not None else level_flag

        # The letters first, so that the emails carry them.
        letter_partners = acting.filtered(
            lambda partner: _channel(send_letter, level_of[partner.id].send_letter)
        )
        if letter_partners:
            self._print_letters(letter_partners, level_of, lines_of, history_of)
            for partner in letter_partners:
                summaries[partner.id].append(self.env._("Letter printed."))
        email_partners = acting.filtered(
            lambda partner: _channel(send_email, level_of[partner.id].send_email)
        )
        if email_partners:
            without_email = self._send_emails(
                email_partners, level_of, lines_of, history_of, summaries
            )
            for partner in without_email:
                level = level_of[partner.id]
                note = self.env._(
                    "%(partner)s has no email address: follow-up %(level)s was not emailed. "
                    "Add an address or call the customer.",
                    partner=partner.display_name,
                    level=level.name,
                )
                activities.append(
                    (partner, None, self.env._("No email address for follow-ups"), note)
                )
                summaries[partner.id].append(
                    self.env._("No email address: activity for the collector.")
                )
        for partner in acting.filtered(lambda partner: level_of[partner.id].create_activity):
            activities.append((partner, level_of[partner.id], None, None))
            summaries[partner.id].append(self.env._("Activity scheduled."))
        if activities:
            created = self._schedule_activities(activities)
            # The level's own activity wins over the "no email address" one.
            for (partner, _level, _summary, _note), activity in zip(
                activities, created, strict=True
            ):
                history_of[partner.id].activity_id = activity

        self._set_credit_holds(acting, level_of, summaries)
        fee_partners = acting.filtered(lambda partner: level_of[partner.id].fee_amount)
        if fee_partners:
            fees = self._invoice_fees(fee_partners, company, level_of)
            for partner in fee_partners:
                history_of[partner.id].fee_move_id = fees[partner.id]
                summaries[partner.id].append(self.env._("Fee invoiced."))

        today = fields.Date.context_today(self)
        for level, group in partners.grouped(lambda partner: level_of[partner.id]).items():
            lines = self.env["account.move.line"].union(
                *(lines_of[partner.id] for partner in group)
            )
            self._mark_followup_lines(lines, level, today)
            group.sudo().write({"followup_level_id": level.id, "followup_last_date": today})
        for partner in partners:
            history_of[partner.id].summary = "\n".join(
                part for part in summaries[partner.id] if part
            )
        return history_of

    def _mark_followup_lines(self, lines, level, date):
        """Record on the items the level that chased them and when.

        Written in SQL: the ORM's write of journal items runs the accounting
        synchronisation of their entries (balance, taxes, lock dates) for each of
        them, all pointless for these two bookkeeping fields.
        """
        if not lines:
            return
        lines.flush_recordset(["followup_level_id", "followup_date"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_move_line
                   SET followup_level_id = %(level)s, followup_date = %(date)s
                 WHERE id = ANY(%(ids)s)
                """,
                level=level.id,
                date=date,
                ids=lines.ids,
            )
        )
        lines.invalidate_recordset(["followup_level_id", "followup_date"])

    def _followup_lines_by_partner(self, partners, level_of):
        """Items each follow-up is about, for all customers in one query, with what
        the statements show read at once (see res.partner._get_followup_lines)."""
        today = fields.Date.context_today(self)
        earliest = min(min(level.delay for level in level_of.values()), 0)
        lines = self.env["account.move.line"].search(
            [
                ("partner_id.commercial_partner_id", "in", partners.ids),
                ("company_id", "=", self.env.company.id),
                ("account_type", "=", "asset_receivable"),
                ("parent_state", "=", "posted"),
                ("reconciled", "=", False),
                ("amount_residual", ">", 0),
                ("followup_excluded", "=", False),
                ("date_maturity", "<=", today - timedelta(days=earliest)),
            ],
            order="date_maturity, id",
        )
        lines.fetch(
            [
                "partner_id",
                "move_id",
                "date",
                "date_maturity",
                "amount_residual_currency",
                "currency_id",
            ]
        )
        lines.partner_id.fetch(["commercial_partner_id"])
        self._ensure_portal_tokens(lines.move_id)
        lines.move_id.fetch(["name", "invoice_date", "move_type", "access_token"])
        lines_of = {partner.id: self.env["account.move.line"] for partner in partners}
        for line in lines:
            partner_id = line.partner_id.commercial_partner_id.id
            delay = level_of[partner_id].delay
            horizon = today - timedelta(days=min(delay, 0))
            if line.date_maturity < horizon or (delay < 0 and line.date_maturity == horizon):
                lines_of[partner_id] |= line
        return lines_of

    def _ensure_portal_tokens(self, moves):
        # The "Pay now" links of the statements need each invoice's portal token:
        # set the missing ones at once rather than one write per invoice.
        moves.flush_recordset(["access_token"])
        self.env.cr.execute(
            SQL(
                """
                UPDATE account_move
                   SET access_token = gen_random_uuid()::text
                 WHERE id = ANY(%s) AND access_token IS NULL
                """,
                moves.ids,
            )
        )
        moves.invalidate_recordset(["access_token"])

    def _prepared_lines_context(self, lines_of):
        return {
            "followup_prepared_lines": {pid: tuple(lines.ids) for pid, lines in lines_of.items()}
        }

    def _send_emails(self, partners, level_of, lines_of, history_of, summaries):
        """Queue the follow-up email of each customer: the messages, emails and
        delivery notifications of all of them created at once.

        :return: the customers without an email address (nothing sent to them)
        """
        company = self.env.company
        recipients_of = {
            partner.id: partner._get_followup_recipients().filtered("email") for partner in partners
        }
        without_email = partners.filtered(lambda partner: not recipients_of[partner.id])
        partners -= without_email
        if not partners:
            return without_email
        context = self._prepared_lines_context(lines_of)
        rendered = {}
        for level, group in partners.grouped(lambda partner: level_of[partner.id]).items():
            template = level.mail_template_id.with_company(company).with_context(
                followup_level_id=level.id, **context
            )
            rendered.update(template._generate_template(group.ids, ["subject", "body_html"]))
        attachments_of = {
            partner.id: history_of[partner.id].letter_attachment_id for partner in partners
        }
        invoice_partners = partners.filtered(lambda partner: level_of[partner.id].attach_invoices)
        if invoice_partners:
            invoice_pdfs = self._invoice_attachments(
                self.env["account.move"].union(
                    *(lines_of[partner.id].move_id for partner in invoice_partners)
                )
            )
            for partner in invoice_partners:
                for invoice in lines_of[partner.id].move_id:
                    attachments_of[partner.id] |= invoice_pdfs.get(
                        invoice.id, self.env["ir.attachment"]
                    )
        author = self.env.user.partner_id
        email_from = company.email_formatted
        default_reply_to = partners._notify_get_reply_to(default=email_from)
        comment = self.env.ref("mail.mt_comment")
        message_vals = []
        for partner in partners:
            collector = partner._get_followup_collector()
            message_vals.append(
                {
                    "model": "res.partner",
                    "res_id": partner.id,
                    "message_type": "comment",
                    "subtype_id": comment.id,
                    "author_id": author.id,
                    "email_from": email_from,
                    # Replies go to the collector, not to the chatter.
                    "reply_to": collector.email_formatted
                    if collector.email
                    else default_reply_to[partner.id],
                    "subject": rendered[partner.id].get("subject"),
                    "body": rendered[partner.id].get("body_html"),
                    "partner_ids": [Command.set(recipients_of[partner.id].ids)],
                    "attachment_ids": [Command.set(attachments_of[partner.id].ids)],
                    "record_name": partner.display_name,
                    "record_company_id": company.id,
                    "record_alias_domain_id": company.alias_domain_id.id,
                    "email_add_signature": True,
                }
            )
        # Collectors send follow-ups to customers they usually cannot edit.
        messages = self.env["mail.message"].sudo().create(message_vals)
        partners.invalidate_recordset(["message_ids"])
        mail_vals = []
        notification_recipients = []
        for partner, message, vals in zip(partners, messages, message_vals, strict=True):
            # What the message was created with, as message_post gives it to the
            # notification: it spares reading the message back, tracking included.
            msg_vals = {
                **vals,
                "partner_ids": recipients_of[partner.id].ids,
                "tracking_value_ids": [],
            }
            mail_vals_of_message, recipient_ids = self._prepare_followup_mail_vals(
                partner, message, msg_vals, recipients_of[partner.id]
            )
            mail_vals += mail_vals_of_message
            notification_recipients += recipient_ids
        mails = self.env["mail.mail"].sudo().create(mail_vals)
        self.env["mail.notification"].sudo().create(
            [
                {
                    "author_id": mail.mail_message_id.author_id.id,
                    "is_read": True,
                    "mail_mail_id": mail.id,
                    "mail_message_id": mail.mail_message_id.id,
                    "notification_status": "ready",
                    "notification_type": "email",
                    "res_partner_id": recipient_id,
                }
                for mail, recipient_ids in zip(mails, notification_recipients, strict=True)
                for recipient_id in recipient_ids
            ]
        )
        for partner, message in zip(partners, messages, strict=True):
            history_of[partner.id].mail_message_id = message
            summaries[partner.id].append(
                self.env._(
                    "Email sent to %(recipients)s.",
                    recipients=", ".join(recipients_of[partner.id].mapped("email")),
                )
            )
        return without_email

    def _prepare_followup_mail_vals(self, partner, message, msg_vals, recipients):
        """Values of the emails notifying message to the customer's recipients,
        laid out as Odoo lays out the emails of any message, in the customer's
        language.

        :return: ([mail.mail values], [[recipient partner ids] of each])
        """
        lang = partner.lang
        recipients_data = [
            {
                "active": True,
                "id": recipient.id,
                "is_follower": False,
                "lang": recipient.lang or lang,
                "groups": [],
                "notif": "email",
                "share": True,
                "type": "customer",
                "uid": False,
                "ushare": False,
            }
            for recipient in recipients
        ]
        base_values = {
            "mail_message_id": message.id,
            "references": message.message_id,
            "auto_delete": True,
        }
        headers = partner._notify_by_email_get_headers()
        if headers:
            base_values["headers"] = repr(headers)
        values, recipient_ids = [], []
        thread = partner.with_context(lang=lang)
        for _lang, render_values, group in thread._notify_get_classified_recipients_iterator(
            message,
            recipients_data,
            msg_vals=msg_vals,
            force_email_company=self.env.company,
            force_email_lang=lang,
        ):
            body = thread._notify_by_email_render_layout(
                message, group, msg_vals=msg_vals, render_values=render_values
            )
            group_recipients = group.pop("recipients")
            values.append(
                thread._notify_by_email_get_final_mail_values(
                    group_recipients, base_values, additional_values={"body_html": body}
                )
            )
            recipient_ids.append(group_recipients)
        return values, recipient_ids

    def _invoice_attachments(self, invoices):
        """PDF of each invoice: the one Odoo keeps for it when there is one, else
        printed now, all in one wkhtmltopdf run.

        :return: {invoice id: ir.attachment}
        """
        invoices = invoices.filtered(lambda move: move.is_sale_document())
        attachments = {
            invoice.id: invoice.invoice_pdf_report_id
            for invoice in invoices
            if invoice.invoice_pdf_report_id
        }
        to_print = invoices.filtered(lambda invoice: invoice.id not in attachments)
        if to_print:
            contents = self._render_pdfs("account.account_invoices", to_print)
            created = self.env["ir.attachment"].create(
                [
                    {
                        "name": f"{(invoice.name or 'invoice').replace('/', '_')}.pdf",
                        "raw": contents[invoice.id],
                        "mimetype": "application/pdf",
                        "res_model": "account.move",
                        "res_id": invoice.id,
                    }
                    for invoice in to_print
                ]
            )
            attachments.update(zip(to_print.ids, created, strict=True))
        return attachments

    def _print_letters(self, partners, level_of, lines_of, history_of):
        """Reminder letter of each customer, one wkhtmltopdf run per level, kept as
        an attachment of the customer and linked to its history."""
        report = self.env.ref("credit_collections.action_report_followup_letter")
        context = self._prepared_lines_context(lines_of)
        contents = {}
        for level, group in partners.grouped(lambda partner: level_of[partner.id]).items():
            contents.update(
                self.with_context(followup_level_id=level.id, **context)._render_pdfs(report, group)
            )
        letters = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                [
                    {
                        "name": self.env._(
                            "Follow-up %(level)s - %(partner)s.pdf",
                            level=level_of[partner.id].name,
                            partner=partner.display_name,
                        ),
                        "raw": contents[partner.id],
                        "mimetype": "application/pdf",
                        "res_model": "res.partner",
                        "res_id": partner.id,
                    }
                    for partner in partners
                ]
            )
        )
        for partner, letter in zip(partners, letters, strict=True):
            history_of[partner.id].letter_attachment_id = letter

    def _render_pdfs(self, report, records):
        """PDF of each record, all of them in one wkhtmltopdf run (its start takes
        most of the time of a document) when the output can be split per record.

        :return: {record id: PDF content}
        """
        reports = (
            self.env["ir.actions.report"]
            .with_company(self.env.company)
            .with_context(credit_pdf_timeout=PDF_TIMEOUT_SECONDS)
        )
        # Odoo renders HTML instead of PDF in test mode, unless asked: go through
        # its own entry point there, as for a single record.
        test_mode = tools.config["test_enable"] or tools.config["test_file"]
        if len(records) > 1 and not (
            test_mode and not self.env.context.get("force_report_rendering")
        ):
            try:
                streams = reports._render_qweb_pdf_prepare_streams(report, {}, res_ids=records.ids)
            except Exception:
                # wkhtmltopdf builds without patched Qt (Debian's) fail on some
                # multi-document runs that Odoo's recommended build renders.
                _logger.info("Batch PDF rendering failed, rendering one by one", exc_info=True)
                streams = {}
            if all(streams.get(record_id, {}).get("stream") for record_id in records.ids):
                return {
                    record_id: streams[record_id]["stream"].getvalue() for record_id in records.ids
                }
            contents = self._render_pdfs_one_run_each(reports, report, records)
            if contents:
                return contents
        return {record.id: reports._render_qweb_pdf(report, record.ids)[0] for record in records}

    def _render_pdfs_one_run_each(self, reports, report, records):
        """The documents rendered to HTML together (the queries of one), then each
        printed by a wkhtmltopdf run of its own; {} when the HTML cannot be told
        apart per record."""
        report_sudo = reports._get_report(report)
        reports = reports.with_context(debug=False)
        html = reports._render_qweb_html(report, records.ids, data={"debug": False})[0]
        bodies, html_ids, header, footer, paperformat_args = report_sudo.with_context(
            debug=False
        )._prepare_html(html, report_model=report_sudo.model)
        if sorted(html_ids) != sorted(records.ids):
            return {}
        return {
            record_id: reports._run_wkhtmltopdf(
                [body],
                report_ref=report,
                header=header,
                footer=footer,
                specific_paperformat_args=paperformat_args,
            )
            for body, record_id in zip(bodies, html_ids, strict=True)
        }

    def _schedule_activities(self, requests):
        """Schedule the collectors' activities, replacing the open ones of the same
        type and user on the customer.

        :param requests: [(partner, level or None (a to-do), summary, note)]
        :return: the activities, in the order of requests
        """
        todo = self.env.ref("mail.mail_activity_data_todo")
        partner_model = self.env["ir.model"]._get_id("res.partner")
        today = fields.Date.context_today(self)
        vals_list = []
        for partner, level, summary, note in requests:
            activity_type = (level and level.activity_type_id) or todo
            vals_list.append(
                {
                    "res_model_id": partner_model,
                    "res_id": partner.id,
                    "activity_type_id": activity_type.id,
                    "user_id": self._activity_user_for_level(partner, level).id,
                    "summary": summary or (level and (level.activity_summary or level.name)),
                    "note": note or (level and level.activity_note) or "",
                    "date_deadline": today,
                    "automated": True,
                }
            )
        partners = self.env["res.partner"].union(*(partner for partner, *_rest in requests))
        keys = {(vals["res_id"], vals["activity_type_id"], vals["user_id"]) for vals in vals_list}
        existing = (
            self.env["mail.activity"]
            .sudo()
            .search([("res_model", "=", "res.partner"), ("res_id", "in", partners.ids)])
            .filtered(
                lambda activity: (
                    (activity.res_id, activity.activity_type_id.id, activity.user_id.id) in keys
                )
            )
        )
        existing.unlink()
        # One email per activity would flood collectors after a run: they find
        # them in their activities, and the run's history links each.
        return (
            self.env["mail.activity"]
            .sudo()
            .with_context(mail_activity_quick_update=True)
            .create(vals_list)
        )

    def _activity_user_for_level(self, partner, level):
        if level and level.activity_assignee == "user" and level.activity_user_id:
            return level.activity_user_id
        if level and level.activity_assignee == "salesperson" and partner.user_id:
            return partner.user_id
        return self._activity_user(partner)

    def _activity_user(self, partner):
        """Who gets the customer's follow-up activities: its collector, else its
        salesperson, else the company's credit approver, else whoever runs it."""
        return (
            partner._get_followup_collector()
            or self.env["credit.approval.request"]._credit_approvers(partner.env.company)[:1]
            or self.env.user
        )

    def _set_credit_holds(self, partners, level_of, summaries):
        to_hold = partners.filtered(
            lambda partner: level_of[partner.id].set_credit_hold and not partner.credit_hold
        )
        for level, group in to_hold.grouped(lambda partner: level_of[partner.id]).items():
            group.sudo().write(
                {
                    "credit_hold": True,
                    "credit_hold_reason": self.env._("Follow-up level %(level)s", level=level.name),
                }
            )
            for partner in group:
                summaries[partner.id].append(self.env._("Customer put on credit hold."))

    def _invoice_fees(self, partners, company, level_of):
        """Invoice each customer the fee of its level.

        :return: {partner id: posted invoice}
        """
        product = company.credit_followup_fee_product_id
        taxes = product.taxes_id.filtered(lambda tax: tax.company_id == company)
        today = fields.Date.context_today(self)
        invoices = (
            self.env["account.move"]
            .with_company(company)
            ._credit_create_charge_invoices(
                "fee",
                [
                    {
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "invoice_date": today,
                        "invoice_line_ids": [
                            Command.create(
                                {
                                    "product_id": product.id,
                                    "name": self.env._(
                                        "Dunning fee: %(level)s", level=level_of[partner.id].name
                                    ),
                                    "quantity": 1,
                                    "price_unit": level_of[partner.id].fee_amount,
                                    "tax_ids": [Command.set(taxes.ids)],
                                }
                            )
                        ],
                    }
                    for partner in partners
                ],
            )
        )
        return dict(zip(partners.ids, invoices, strict=True))


def _group_by_company(batch):
    grouped = {}
    for company, partner_id in batch:
        grouped.setdefault(company, []).append(partner_id)
    return grouped.items()
