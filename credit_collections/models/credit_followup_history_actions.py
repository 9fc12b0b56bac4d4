from odoo import Command, fields, models


class CreditFollowupHistory(models.Model):
    """Actions of the follow-up, each run on all the histories of a batch at
    once (see credit.followup.level._get_actions)."""

    _inherit = "credit.followup.history"

    def _run_actions(self):
        """Run every action of the levels of the histories, each on all of them at
        once: the queries of a batch do not grow with its number of customers."""
        manual = self.filtered(lambda history: history.state == "manual")
        manual._action_request_manual_action()
        acting = self - manual
        for action in acting.level_id._get_actions():
            getattr(acting, action)()
        self._mark_items_followed_up()

    def _get_outcome_messages(self):
        """What was done for these follow-ups, as the collector who sent them is
        told: each channel with its count and its true tense (an email is only
        queued when the history is created: the mail queue sends it)."""
        states = self.mapped("email_state")
        queued = states.count("queued")
        sent = states.count("sent")
        not_sent = states.count("exception") + states.count("cancel")
        letters = len(self.filtered("letter_attachment_id"))
        others = len(
            self.filtered(
                lambda history: not history.mail_message_id and not history.letter_attachment_id
            )
        )
        counts = (
            (
                queued,
                self.env._("1 reminder queued."),
                self.env._("%(count)s reminders queued.", count=queued),
            ),
            (
                sent,
                self.env._("1 reminder sent."),
                self.env._("%(count)s reminders sent.", count=sent),
            ),
            (
                not_sent,
                self.env._("1 email not sent: see its follow-up history."),
                self.env._(
                    "%(count)s emails not sent: see their follow-up history.", count=not_sent
                ),
            ),
            (
                letters,
                self.env._("1 letter printed."),
                self.env._("%(count)s letters printed.", count=letters),
            ),
            (
                others,
                self.env._("1 follow-up recorded without email or letter."),
                self.env._("%(count)s follow-ups recorded without email or letter.", count=others),
            ),
        )
        return [singular if count == 1 else plural for count, singular, plural in counts if count]

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
        histories.filtered(
            lambda history: not history._get_letter_addressee()
        )._request_postal_address()

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
        edited = histories.filtered(lambda history: history.email_body or history.email_note)
        mail_of = {history.id: history._send_edited_email() for history in edited}
        mail_of.update((histories - edited)._send_mass_emails())
        for history in histories:
            history._add_summary(history._get_email_outcome(mail_of[history.id]))

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
            # On the customers' states directly: res.partner's write would sync
            # the fields of each customer's contacts, one query per customer.
            self.env["credit.customer.state"]._set_bookkeeping(
                group.partner_id,
                level.company_id,
                {"followup_level_id": level.id, "followup_last_date": group[:1].date},
            )

    def _schedule_followup_activities(self, requests):
        """Schedule the collectors' activities, replacing the open ones of the same
        type and user on the customer, and link each to its history.

        The one place the follow-ups create activities, all of a batch in one
        create, as activity_schedule does for its records: activity_schedule
        gives every record of a call the same summary, note and user, and these
        activities name each customer's own (its collector, the address that
        bounced). One call per customer cost 6 queries per customer (a batch of
        10 customers without an email address: 110 queries instead of 85).

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
