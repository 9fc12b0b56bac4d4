import logging
from datetime import timedelta

from psycopg2 import errors

from odoo import Command, api, fields, models
from odoo.tools import SQL, split_every

_logger = logging.getLogger(__name__)

# Customers processed between two commits of the scheduled action.
BATCH_SIZE = 100


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
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE line.company_id = %(company)s
                   AND account.account_type = 'asset_receivable'
                   AND line.parent_state = 'posted'
                   AND NOT line.reconciled
                   AND line.amount_residual > 0
                   AND NOT COALESCE(line.followup_excluded, FALSE)
                   AND line.date_maturity <= %(horizon)s
                 UNION
                SELECT partner.id
                  FROM res_partner partner
                 WHERE partner.followup_level_id ->> %(company_key)s IS NOT NULL
                """,
                company=company.id,
                horizon=horizon,
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
                  FROM account_move_line line
                  JOIN account_account account ON account.id = line.account_id
                  JOIN res_partner partner ON partner.id = line.partner_id
                 WHERE line.company_id = %(company)s
                   AND account.account_type = 'asset_receivable'
                   AND line.parent_state = 'posted'
                   AND NOT line.reconciled
                   AND line.amount_residual > 0
                   AND NOT COALESCE(line.followup_excluded, FALSE)
                   AND partner.commercial_partner_id = ANY(%(partner_ids)s)
              GROUP BY partner.commercial_partner_id
                """,
                today=today,
                company=company.id,
                partner_ids=partners.ids,
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
        for partner in partners.with_company(company):
            state = states[partner.id]
            if not state["oldest_due"] or not state["reached_level"]:
                if state["current_level"]:
                    self._end_episode(partner)
                continue
            if state["status"] != "action_needed" or not state["level"]:
                continue
            self._apply_level_safely(partner, company, state["level"], state, trigger="cron")

    def _end_episode(self, partner):
        # Follow-up state is bookkeeping of the engine, written whoever runs it.
        partner.sudo().write(
            {"followup_level_id": False, "followup_episode": partner.followup_episode + 1}
        )

    def _apply_level_safely(self, partner, company, level, state, **options):
        """Apply a level in a savepoint: a failure on one customer is logged on it
        and leaves nothing half-done, and the run goes on."""
        # Everything a follow-up emails (the email, activity assignment notices)
        # waits in the mail queue: a run never blocks on the mail server.
        self = self.with_context(mail_notify_force_send=False)
        partner = partner.with_context(mail_notify_force_send=False)
        try:
            with self.env.cr.savepoint():
                # A run in another transaction (the scheduled action and a collector,
                # say) waits here, then finds the customer done.
                self.env["credit.exposure"]._lock_partners(partner)
                return self._apply_level(partner, company, level, state, **options)
        except (errors.SerializationFailure, errors.ExclusionViolation):
            _logger.info("Follow-up of partner %s done by a concurrent run", partner.id)
            self.env.invalidate_all()
            return self.env["credit.followup.history"]
        except Exception as error:
            _logger.warning("Follow-up of partner %s failed", partner.id, exc_info=True)
            self.env.invalidate_all()
            message = self.env._(
                "Follow-up %(level)s failed: %(error)s", level=level.name, error=str(error)
            )
            partner.sudo().message_post(body=message, subtype_xmlid="mail.mt_note")
            return (
                self.env["credit.followup.history"]
                .sudo()
                .create(
                    {
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "level_id": level.id,
                        "episode": partner.followup_episode,
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

    def _apply_level(
        self, partner, company, level, state, trigger="cron", send_email=None, send_letter=None
    ):
        """Run the actions of level for partner and record them in its history.

        :param send_email, send_letter: channels chosen by hand (None: the level's)
        """
        partner = partner.with_company(company)
        lines = partner._get_followup_lines(reminder_delay=level.delay)
        history = (
            self.env["credit.followup.history"]
            .sudo()
            .create(
                {
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "level_id": level.id,
                    "episode": partner.followup_episode,
                    "trigger": trigger,
                    "user_id": self._acting_user({"trigger": trigger}).id,
                    "overdue_amount": state["overdue"],
                    "move_line_ids": [Command.set(lines.ids)],
                }
            )
        )
        summary = []
        if level.manual_action and trigger == "cron":
            history.activity_id = self._schedule_activity(
                partner, level, summary=self.env._("Follow-up: %(level)s", level=level.name)
            )
            history.state = "manual"
            summary.append(self.env._("Manual action needed: activity for the collector."))
        else:
            # The letter first, so that the email carries it.
            if send_letter if send_letter is not None else level.send_letter:
                summary.append(self._print_letter(partner, level, history))
            if send_email if send_email is not None else level.send_email:
                summary.append(self._send_email(partner, level, lines, history))
            if level.create_activity:
                history.activity_id = self._schedule_activity(partner, level)
                summary.append(self.env._("Activity scheduled."))
            if level.set_credit_hold and not partner.credit_hold:
                partner.sudo().write(
                    {
                        "credit_hold": True,
                        "credit_hold_reason": self.env._(
                            "Follow-up level %(level)s", level=level.name
                        ),
                    }
                )
                summary.append(self.env._("Customer put on credit hold."))
            if level.fee_amount:
                history.fee_move_id = self._invoice_fee(partner, company, level)
                summary.append(self.env._("Fee invoiced."))
        today = fields.Date.context_today(self)
        lines.sudo().write({"followup_level_id": level.id, "followup_date": today})
        partner.sudo().write({"followup_level_id": level.id, "followup_last_date": today})
        history.summary = "\n".join(part for part in summary if part)
        return history

    def _send_email(self, partner, level, lines, history):
        recipients = partner._get_followup_recipients()
        if not any(recipient.email for recipient in recipients):
            history.activity_id = partner.sudo().activity_schedule(
                "mail.mail_activity_data_todo",
                user_id=self._activity_user(partner).id,
                summary=self.env._("No email address for follow-ups"),
                note=self.env._(
                    "%(partner)s has no email address: follow-up %(level)s was not emailed. "
                    "Add an address or call the customer.",
                    partner=partner.display_name,
                    level=level.name,
                ),
            )
            return self.env._("No email address: activity for the collector.")
        attachments = history.letter_attachment_id
        if level.attach_invoices:
            attachments |= self._invoice_attachments(lines.move_id)
        collector = partner._get_followup_collector()
        # Rendered here rather than through the composer, which drops the reply-to
        # of a single-record message: replies go to the collector, not the chatter.
        template = level.mail_template_id.with_company(partner.env.company).with_context(
            followup_level_id=level.id
        )
        rendered = template._generate_template(partner.ids, ["subject", "body_html"])[partner.id]
        # Collectors send follow-ups to customers they usually cannot edit.
        message = (
            partner.sudo()
            .with_context(mail_notify_force_send=False, followup_level_id=level.id)
            .message_post(
                subject=rendered.get("subject"),
                body=rendered.get("body_html"),
                subtype_xmlid="mail.mt_comment",
                message_type="comment",
                partner_ids=recipients.filtered("email").ids,
                email_from=partner.env.company.email_formatted,
                reply_to=collector.email_formatted if collector.email else False,
                attachment_ids=attachments.ids,
                force_email_lang=partner.lang,
            )
        )
        history.mail_message_id = message[:1]
        return self.env._(
            "Email sent to %(recipients)s.",
            recipients=", ".join(recipients.filtered("email").mapped("email")),
        )

    def _invoice_attachments(self, invoices):
        attachments = self.env["ir.attachment"]
        for invoice in invoices.filtered(lambda move: move.is_sale_document()):
            content, _report_type = self.env["ir.actions.report"]._render_qweb_pdf(
                "account.account_invoices", invoice.ids
            )
            attachments |= self.env["ir.attachment"].create(
                {
                    "name": f"{(invoice.name or 'invoice').replace('/', '_')}.pdf",
                    "raw": content,
                    "mimetype": "application/pdf",
                    "res_model": "account.move",
                    "res_id": invoice.id,
                }
            )
        return attachments

    def _print_letter(self, partner, level, history):
        report = self.env.ref("credit_collections.action_report_followup_letter")
        content, _report_type = (
            self.env["ir.actions.report"]
            .with_company(partner.env.company)
            .with_context(followup_level_id=level.id)
            ._render_qweb_pdf(report, partner.ids)
        )
        history.letter_attachment_id = (
            self.env["ir.attachment"]
            .sudo()
            .create(
                {
                    "name": self.env._(
                        "Follow-up %(level)s - %(partner)s.pdf",
                        level=level.name,
                        partner=partner.display_name,
                    ),
                    "raw": content,
                    "mimetype": "application/pdf",
                    "res_model": "res.partner",
                    "res_id": partner.id,
                }
            )
        )
        return self.env._("Letter printed.")

    def _schedule_activity(self, partner, level, summary=None):
        if level.activity_assignee == "user":
            user = level.activity_user_id
        elif level.activity_assignee == "salesperson":
            user = partner.user_id or self._activity_user(partner)
        else:
            user = self._activity_user(partner)
        activity_type = level.activity_type_id or self.env.ref("mail.mail_activity_data_todo")
        existing = partner.activity_ids.filtered(
            lambda activity: activity.activity_type_id == activity_type and activity.user_id == user
        )
        existing.sudo().unlink()
        return partner.sudo().activity_schedule(
            activity_type_id=activity_type.id,
            user_id=user.id,
            summary=summary or level.activity_summary or level.name,
            note=level.activity_note or "",
        )

    def _activity_user(self, partner):
        """Who gets the customer's follow-up activities: its collector, else its
        salesperson, else the company's credit approver, else whoever runs it."""
        return (
            partner._get_followup_collector()
            or self.env["credit.approval.request"]._credit_approvers(partner.env.company)[:1]
            or self.env.user
        )

    def _invoice_fee(self, partner, company, level):
        product = company.credit_followup_fee_product_id
        invoice = (
            self.env["account.move"]
            .sudo()
            .with_company(company)
            .create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "invoice_date": fields.Date.context_today(self),
                    "invoice_line_ids": [
                        Command.create(
                            {
                                "product_id": product.id,
                                "name": self.env._("Dunning fee: %(level)s", level=level.name),
                                "quantity": 1,
                                "price_unit": level.fee_amount,
                                "tax_ids": [
                                    Command.set(
                                        product.taxes_id.filtered(
                                            lambda tax: tax.company_id == company
                                        ).ids
                                    )
                                ],
                            }
                        )
                    ],
                }
            )
        )
        invoice.action_post()
        return invoice


def _group_by_company(batch):
    grouped = {}
    for company, partner_id in batch:
        grouped.setdefault(company, []).append(partner_id)
    return grouped.items()
