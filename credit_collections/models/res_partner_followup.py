# Split from res_partner.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
import logging
from datetime import timedelta

from markupsafe import Markup, escape
from psycopg2 import errors

from odoo import Command, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import SQL, email_normalize, email_normalize_all, format_amount, format_date

_logger = logging.getLogger(__name__)

# First key of the transaction-level advisory lock a follow-up holds on a customer
# (the second is the customer's id): "CCFU".
FOLLOWUP_LOCK_KEY = 0x43434655
# Bank statement lines left unreconciled this long may be payments of customers
# about to be followed up.
FOLLOWUP_UNRECONCILED_STATEMENT_DAYS = 3


class ResPartner(models.Model):
    """Follow-ups (dunning) of customers: status, statement, manual follow-ups.
    The fields are declared with the partner's other credit fields (res_partner.py)."""

    _inherit = "res.partner"

    @api.depends_context("company")
    def _compute_followup_line_ids(self):
        for partner in self:
            origin = partner._origin
            partner.followup_line_ids = origin._get_followup_lines() if origin else False

    def action_view_followup_history(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "credit_collections.action_credit_followup_history"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {}
        return action

    def action_followup_print_letter(self):
        self.ensure_one()
        return self.env.ref(
            "credit_collections.action_report_followup_partner_letter"
        ).report_action(self.commercial_partner_id)

    def action_followup_record_promise(self):
        self.ensure_one()
        partner = self.commercial_partner_id
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Record a Promise to Pay"),
            "res_model": "credit.promise",
            "view_mode": "form",
            "views": [
                (self.env.ref("credit_collections.view_credit_promise_form_quick").id, "form")
            ],
            "target": "new",
            "context": {
                "default_partner_id": partner.id,
                "default_company_id": self.env.company.id,
                "default_amount": partner._get_followup_state()["overdue"],
            },
        }

    def action_followup_resume(self):
        self._followup_pause(False)

    # ------------------------------------------------------------------
    # Business methods: follow-ups
    # ------------------------------------------------------------------

    def _get_followup_lines(self, delay=0):
        """Chased items of the customer (all its contacts) in the current company
        that a follow-up of a level with this delay lists (see
        account.move.line._followup_horizon), by due date."""
        self.ensure_one()
        partner = self.commercial_partner_id
        return self.env["account.move.line"]._followup_items_by_partner(
            partner, self.env.company, {partner.id: delay or 0}
        )[partner.id]

    def _get_followup_disputable_lines(self):
        """Items of the customer in the current company a collector may leave out
        of follow-ups: those chased, due or not."""
        self.ensure_one()
        Line = self.env["account.move.line"]
        return Line.search(
            [
                *Line._chased_receivable_domain(self.env.company),
                ("partner_id", "child_of", self.commercial_partner_id.id),
            ],
            order="date_maturity, id",
        )

    def _followup_preview_history(self, level):
        """The follow-up of the customer at level as it would be recorded today,
        not saved: what its email and letter are previewed on."""
        self.ensure_one()
        partner = self.commercial_partner_id
        return self.env["credit.followup.history"].new(
            {
                "partner_id": partner.id,
                "company_id": self.env.company.id,
                "level_id": level.id,
                "episode": partner.with_company(self.env.company).followup_episode,
                "move_line_ids": [Command.set(partner._get_followup_lines(level.delay).ids)],
            }
        )

    def _get_followup_recipients(self):
        """Invoice contacts of the customer, else the customer itself."""
        self.ensure_one()
        commercial = self.commercial_partner_id
        contacts = commercial.child_ids.filtered(
            lambda contact: contact.type == "invoice" and contact.active
        )
        return contacts or commercial

    def _get_followup_collector(self):
        """The customer's collector, else its salesperson (may be empty)."""
        self.ensure_one()
        commercial = self.commercial_partner_id
        return commercial.followup_responsible_id or commercial.user_id

    def _get_followup_state(self):
        """Follow-up state of the customer in the current company (see the engine)."""
        self.ensure_one()
        partner = self.commercial_partner_id
        engine = self.env["credit.followup.engine"]
        return engine._get_states(partner, self.env.company)[partner.id]

    def _get_followup_policy(self):
        self.ensure_one()
        return self.commercial_partner_id.followup_policy_id or self.env[
            "credit.followup.policy"
        ]._get_company_default(self.env.company)

    def _get_followup_default_level(self, state=None):
        """Level a collector sends by hand: the one due now, else the last one sent in
        the running episode, else the one the oldest item has reached, else the first
        level of the customer's policy."""
        self.ensure_one()
        state = state or self._get_followup_state()
        policy = self._get_followup_policy()
        return (
            state["level"]
            or state["current_level"]
            or state["reached_level"]
            or (policy._get_levels()[:1] if policy else policy.level_ids)
        )

    def _get_followup_manual_level(self, state, level=None, mass=False):
        """Level to send by hand to the customer, and why it is left out.

        :param level: level chosen by the collector; None: the customer's own
        :param mass: a run over several customers: unless a level is chosen, only
            customers with a level due now; never customers excluded, paused or
            promising to pay. One customer sent by hand is the collector's decision.
        :return: (level, reason): reason is False when the level can be sent
        """
        self.ensure_one()
        if not level:
            level = state["level"] if mass else self._get_followup_default_level(state)
        if state["status"] == "reconcile":
            return level, self.env._("its open credits cover what is overdue: reconcile them")
        if not state["oldest_due"]:
            return level, self.env._("nothing is open")
        if mass and state["status"] in ("excluded", "paused", "promised"):
            statuses = dict(self._fields["followup_status"]._description_selection(self.env))
            return level, statuses[state["status"]]
        if not level:
            return level, self.env._("no follow-up level is due")
        return level, False

    def _followup_send_manually(
        self, level=None, send_email=None, send_letter=None, email_values=None
    ):
        """Send follow-ups by hand to the customers, in the current company.

        :param level: level to send; None: each customer's own (see
            _get_followup_manual_level)
        :param send_email, send_letter: channels chosen by hand; None: the level's
        :param email_values: the email as edited by hand (see
            credit.followup.history._create_batch)
        :return: dict with the histories recorded ("done"), the customers whose
            follow-up failed ("failed") and those left out, with why ("skipped")
        """
        self._followup_check_collector()
        if level and send_email and not level.mail_template_id:
            raise UserError(
                self.env._(
                    "Follow-up level %(level)s has no email template: it cannot send emails.",
                    level=level.name,
                )
            )
        company = self.env.company
        partners = self.commercial_partner_id.with_company(company)
        engine = self.env["credit.followup.engine"]
        states = engine._get_states(partners, company)
        result = {
            "done": self.env["credit.followup.history"],
            "failed": self.browse(),
            "skipped": {},
        }
        items = []
        for partner in partners:
            state = states[partner.id]
            partner_level, reason = partner._get_followup_manual_level(
                state, level, mass=len(partners) > 1
            )
            if reason:
                result["skipped"][partner] = reason
                continue
            items.append((partner, partner_level, state))
        email_values, outside = self._followup_check_outside_recipients(
            items, send_email, email_values
        )
        histories = (
            engine._apply_levels_safely(
                items, company, "manual", send_email, send_letter, email_values
            )
            if items
            else {}
        )
        for partner, _partner_level, _state in items:
            history = histories.get(partner.id)
            if history and history.state != "error":
                result["done"] |= history
            else:
                result["failed"] |= partner
        self._followup_log_outside_recipients(result["done"], outside)
        return result

    def _get_followup_outside_recipients(self, recipients=None, email_cc=False):
        """Whom an email of the customer's follow-up reaches beyond the customer's
        own contacts (the contacts of its commercial entity): recipients that are
        not among them, and copies to addresses none of them has.

        :return: [str] their names and addresses
        """
        self.ensure_one()
        commercial = self.commercial_partner_id
        outside = [
            recipient.email_formatted or recipient.display_name
            for recipient in (recipients or self.browse())
            if recipient.commercial_partner_id != commercial
        ]
        copies = email_normalize_all(email_cc or "")
        if copies:
            contacts = self.with_context(active_test=False).search(
                [("commercial_partner_id", "=", commercial.id), ("email", "!=", False)]
            )
            own = {email_normalize(contact.email) for contact in contacts}
            outside += [address for address in copies if address not in own]
        return outside

    @api.model
    def _followup_check_outside_recipients(self, items, send_email, email_values):
        """Refuse a follow-up emailed beyond the customer's own contacts unless
        the collector confirmed it (email_values["outside_confirmed"]): a
        customer's statement must not reach another customer by mistake.

        :param items: [(commercial partner, level, state)] to be sent
        :return: (email_values with "outside_recipients": {partner id: [str]},
            {partner: [str]} the customers emailed beyond their contacts, and to whom)
        """
        email_values = email_values or {}
        outside = {}
        for partner, level, _state in items:
            if not (level.send_email if send_email is None else send_email):
                continue
            names = partner._get_followup_outside_recipients(
                email_values.get("recipients"), email_values.get("email_cc")
            )
            if names:
                outside[partner] = names
        if outside and not email_values.get("outside_confirmed"):
            raise UserError(
                self.env._(
                    "Not contacts of the customer: %(recipients)s. Send the follow-up to the "
                    'customer\'s own contacts, or tick "Confirm Other Recipients" to send it '
                    "to them anyway.",
                    recipients="; ".join(
                        self.env._(
                            "%(partner)s: %(names)s",
                            partner=partner.display_name,
                            names=", ".join(names),
                        )
                        for partner, names in outside.items()
                    ),
                )
            )
        return dict(
            email_values,
            outside_recipients={partner.id: names for partner, names in outside.items()},
        ), outside

    @api.model
    def _followup_log_outside_recipients(self, histories, outside):
        """Log on each customer whose follow-up was emailed beyond its contacts
        who confirmed it, and to whom."""
        for history in histories:
            names = outside.get(history.partner_id)
            if names and history.mail_message_id:
                history.partner_id._followup_post_note(
                    self.env._(
                        "Follow-up %(level)s emailed beyond the customer's contacts, to "
                        "%(recipients)s: confirmed by %(user)s.",
                        level=history.level_id.name,
                        recipients=", ".join(names),
                        user=self.env.user.name,
                    )
                )

    def _followup_request_reconcile(self, company, states):
        """Ask the collectors of these customers, whose open credits cover what
        is overdue, to reconcile them: an activity each while none is open, logged
        on the customer. Meanwhile they get no follow-up and no late interest.

        :param states: {partner id: follow-up state (see the engine)}
        """
        activity_type = self.env.ref("credit_collections.mail_activity_credit_reconcile")
        # Bookkeeping of the follow-ups, whoever runs them (collectors cannot edit
        # customers; the scheduled action's user may not read every activity).
        Activity = self.env["mail.activity"].sudo()
        pending = set(
            Activity.search(
                [
                    ("res_model", "=", "res.partner"),
                    ("res_id", "in", self.ids),
                    ("activity_type_id", "=", activity_type.id),
                ]
            ).mapped("res_id")
        )
        partners = self.filtered(lambda partner: partner.id not in pending)
        if not partners:
            return
        approver = self.env["credit.approval.request"]._credit_approvers(company)[:1]
        bodies = {}
        # sudo: the follow-ups' bookkeeping, as above. Quick update: one email per
        # activity would flood collectors after a run. One activity per customer:
        # each says its own amount, to its own collector.
        for partner in partners.sudo().with_context(mail_activity_quick_update=True):
            bodies[partner.id] = self.env._(
                "Open credit notes and payments cover the overdue items (%(amount)s): no "
                "follow-up is sent and no late interest is charged. Reconcile them with the "
                "invoices they pay.",
                amount=format_amount(
                    self.env, states[partner.id]["overdue_covered"], company.currency_id
                ),
            )
            partner.activity_schedule(
                "credit_collections.mail_activity_credit_reconcile",
                note=bodies[partner.id],
                user_id=(partner._get_followup_collector() or approver or self.env.user).id,
            )
        partners.sudo()._message_log_batch(
            bodies={pid: escape(body) for pid, body in bodies.items()}
        )

    def _followup_claim(self):
        """The customers this transaction may follow up now: those no concurrent
        run is doing (credit.batch.mixin's customer locks, under the follow-ups'
        own key), or has done since this transaction began. The others are left
        to that run, quietly: two runs at once are expected.

        The lock alone is not enough: a run that has just committed has released
        it, and this transaction's snapshot still shows the customer's level as
        not sent (see _followup_unchanged_since_snapshot). No row of the customers
        is locked: a salesperson confirming an order of one of them never waits
        for a follow-up batch and its PDFs.
        """
        claimed = self.env["credit.batch.mixin"]._credit_try_lock_customers(
            self, key=FOLLOWUP_LOCK_KEY
        )
        if claimed and not claimed._followup_unchanged_since_snapshot():
            claimed = claimed.filtered(lambda partner: partner._followup_unchanged_since_snapshot())
        if self - claimed:
            _logger.info("Follow-up of partners %s left to a concurrent run", (self - claimed).ids)
        return claimed

    def _followup_unchanged_since_snapshot(self):
        """Whether no transaction committed a change of the customers after this one
        began (a follow-up run that has just finished updated their level): asking
        for a key-share lock fails then, without waiting for anyone."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    SQL("SELECT id FROM res_partner WHERE id = ANY(%s) FOR KEY SHARE", self.ids),
                    log_exceptions=False,
                )
        except errors.SerializationFailure:
            return False
        return True

    @api.model
    def _get_followup_statement_warning(self, company):
        """Warning before a manual run when bank statements of company hold incoming
        lines left unreconciled for a few days: customers may already have paid."""
        days = FOLLOWUP_UNRECONCILED_STATEMENT_DAYS
        older_than = fields.Date.context_today(self) - timedelta(days=days)
        # A count only: collectors may not read bank statements.
        count = (
            self.env["account.bank.statement.line"]
            .sudo()
            .search_count(
                [
                    ("company_id", "=", company.id),
                    ("is_reconciled", "=", False),
                    ("amount", ">", 0),
                    ("date", "<", older_than),
                ]
            )
        )
        if not count:
            return False
        return self.env._(
            "%(count)s bank statement lines older than %(days)s days are not reconciled: "
            "customers may already have paid.",
            count=count,
            days=days,
        )

    @api.model
    def _get_followup_call_outcomes(self):
        return [
            ("no_answer", self.env._("No answer")),
            ("promised", self.env._("Promised to pay")),
            ("disputed", self.env._("Disputed")),
            ("already_paid", self.env._("Already paid")),
            ("not_received", self.env._("Invoice not received")),
            ("other", self.env._("Other")),
        ]

    def _followup_log_call(
        self,
        outcome,
        note=False,
        amount=0.0,
        promised_date=False,
        lines=None,
        exclusion_reason=False,
    ):
        """Record a call to the customer: its outcome and note in the chatter, and
        what the outcome implies: a promise to pay ("promised", with amount and
        promised_date), disputed items left out of follow-ups ("disputed", with lines).

        :return: the promise to pay recorded, if any
        """
        self.ensure_one()
        self._followup_check_collector()
        partner = self.commercial_partner_id
        outcomes = dict(self._get_followup_call_outcomes())
        if outcome not in outcomes:
            raise ValidationError(self.env._("Unknown call outcome: %(outcome)s", outcome=outcome))
        promise = self.env["credit.promise"]
        if outcome == "promised":
            if amount <= 0 or not promised_date:
                raise ValidationError(
                    self.env._("A promise to pay needs a positive amount and a date.")
                )
            if fields.Date.to_date(promised_date) < fields.Date.context_today(self):
                raise ValidationError(self.env._("The promised date cannot be in the past."))
            promise = promise.create(
                {
                    "partner_id": partner.id,
                    "company_id": self.env.company.id,
                    "amount": amount,
                    "promised_date": promised_date,
                    "note": note,
                }
            )
        elif outcome == "disputed" and lines:
            if lines - partner._get_followup_disputable_lines():
                raise ValidationError(
                    self.env._(
                        "Disputed Items: choose open items of %(partner)s in %(company)s.",
                        partner=partner.display_name,
                        company=self.env.company.display_name,
                    )
                )
            lines._followup_exclude(
                exclusion_reason or note or self.env._("Disputed by the customer")
            )
        partner._followup_post_note(
            self.env._("Call logged: %(outcome)s.", outcome=outcomes[outcome]), note
        )
        return promise

    def _followup_pause(self, until, note=False):
        """Pause the follow-ups of the customers until a date; False resumes them."""
        self._followup_check_collector()
        if until and fields.Date.to_date(until) < fields.Date.context_today(self):
            raise ValidationError(self.env._("Follow-ups cannot be paused until a past date."))
        for partner in self.commercial_partner_id:
            # Follow-up bookkeeping: collectors usually cannot edit customers.
            partner.sudo().followup_paused_until = until
            body = (
                self.env._("Follow-ups paused until %(date)s.", date=format_date(self.env, until))
                if until
                else self.env._("Follow-ups resumed.")
            )
            partner._followup_post_note(body, note)

    def _followup_post_note(self, body, note=False):
        self.ensure_one()
        if note:
            body = Markup("%s<br/>%s") % (body, note)
        # The follow-up log of a customer is kept by collectors, who usually cannot
        # edit customers.
        return self.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    # ------------------------------------------------------------------
    # Chatter: collectors post on the customers they chase
    #
    # Odoo lets a user post on a contact only when they may edit it
    # (_mail_post_access 'write'), and collectors may not edit contacts. A
    # collector's notes and messages are the follow-up log of a customer: they
    # may post them on the customers they can read and chase (invoiced at least
    # once) and on their contacts, which edits nothing of the contact.
    # ------------------------------------------------------------------

    def _followup_collector_postable(self):
        """The partners of self the current user may post on as a collector."""
        if not self.env.user.has_group("credit_collections.group_credit_user"):
            return self.browse()
        readable = self.exists()._filtered_access("read")
        # sudo: customer_rank of the commercial entity, which the user may read
        # through another company's rule only.
        return readable.filtered(lambda partner: partner.sudo().commercial_partner_id.customer_rank)

    @api.model
    def _get_mail_message_access(self, res_ids, operation, model_name=None):
        check_operation = super()._get_mail_message_access(res_ids, operation, model_name)
        if operation == "create" and check_operation == "write" and not model_name:
            partners = self.browse(list(res_ids))
            if partners and partners._followup_collector_postable() == partners:
                return "read"
        return check_operation

    @api.model
    def _get_thread_with_access(self, thread_id, mode="read", **kwargs):
        thread = super()._get_thread_with_access(thread_id, mode, **kwargs)
        if not thread and mode == self._mail_post_access:
            # Posting (and attaching to a post) is all the mail controllers ask
            # this access for.
            thread = self.browse(thread_id)._followup_collector_postable()
        return thread

    def _thread_to_store(self, store, /, *, request_list=None, **kwargs):
        super()._thread_to_store(store, request_list=request_list, **kwargs)
        if request_list is None:
            return
        postable = self._followup_collector_postable()
        if postable:
            # The chatter's Send Message and Log Note buttons, for collectors.
            store.add(postable, {"canPostOnReadonly": True}, as_thread=True)

    def _followup_check_collector(self):
        if self.env.su or self.env.user.has_group("credit_collections.group_credit_user"):
            return
        raise AccessError(self.env._("Only collectors can follow customers up."))

    @api.model
    def _cron_run_followups(self, limit=None):
        """The scheduled action "run follow-ups" (see credit.followup.engine._cron_run)."""
        return self.env["credit.followup.engine"]._cron_run(limit)
