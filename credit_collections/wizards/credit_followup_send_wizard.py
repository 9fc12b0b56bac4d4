from markupsafe import Markup

from odoo import Command, api, fields, models
from odoo.exceptions import UserError


class CreditFollowupSendWizard(models.TransientModel):
    _name = "credit.followup.send.wizard"
    _description = "Send Follow-ups"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, default=lambda self: self.env.company
    )
    partner_ids = fields.Many2many(
        "res.partner", string="Customers", required=True, check_company=True
    )
    partner_count = fields.Integer(compute="_compute_partner_count")
    policy_id = fields.Many2one("credit.followup.policy", compute="_compute_policy_id")
    level_id = fields.Many2one(
        "credit.followup.level",
        compute="_compute_level_id",
        store=True,
        readonly=False,
        check_company=True,
        help="Empty: each customer gets the level due now, with its channels.",
    )
    mail_template_id = fields.Many2one(related="level_id.mail_template_id")
    send_email = fields.Boolean(compute="_compute_channels", store=True, readonly=False)
    send_letter = fields.Boolean(compute="_compute_channels", store=True, readonly=False)
    email_subject = fields.Char(compute="_compute_email_preview")
    email_preview = fields.Html(compute="_compute_email_preview", sanitize="email_outgoing")
    preview_partner_id = fields.Many2one("res.partner", compute="_compute_email_preview")
    recipient_ids = fields.Many2many(
        "res.partner",
        "credit_followup_send_wizard_recipient_rel",
        "wizard_id",
        "partner_id",
        string="To",
        compute="_compute_recipient_ids",
        store=True,
        readonly=False,
        help="The customer's invoice contacts, else the customer: change them for this email only.",
        check_company=True,
    )
    email_cc = fields.Char(string="Cc", help="Email addresses in copy, separated by commas.")
    outside_recipients_warning = fields.Text(compute="_compute_outside_recipients_warning")
    confirm_outside_recipients = fields.Boolean(
        string="Confirm Other Recipients",
        help="Send the follow-up to recipients or copies that are not contacts of the "
        "customer: logged on the customer and the follow-up.",
    )
    personal_note = fields.Html(
        sanitize="email_outgoing",
        help="Written after the greeting of the level's email, for each customer.",
    )
    edit_email = fields.Boolean(
        string="Edit the Email", help="Change the subject and text of this email before sending."
    )
    edited_subject = fields.Char(
        string="Subject", compute="_compute_edited_email", store=True, readonly=False
    )
    edited_body = fields.Html(
        string="Email",
        compute="_compute_edited_email",
        store=True,
        readonly=False,
        sanitize="email_outgoing",
    )
    statement_warning = fields.Char(compute="_compute_statement_warning")
    skip_summary = fields.Text(compute="_compute_skip_summary")

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        context = self.env.context
        if (
            "partner_ids" in fields_list
            and not values.get("partner_ids")
            and context.get("active_model") == "res.partner"
        ):
            partners = self.env["res.partner"].browse(context.get("active_ids") or [])
            values["partner_ids"] = [Command.set(partners.commercial_partner_id.ids)]
        return values

    @api.depends("partner_ids")
    def _compute_partner_count(self):
        for wizard in self:
            wizard.partner_count = len(wizard.partner_ids)

    @api.depends("partner_ids", "company_id")
    def _compute_policy_id(self):
        for wizard in self:
            partner = wizard._single_partner()
            wizard.policy_id = partner._get_followup_policy() if partner else False

    @api.depends("partner_ids", "company_id")
    def _compute_level_id(self):
        for wizard in self:
            partner = wizard._single_partner()
            wizard.level_id = partner._get_followup_default_level() if partner else False

    @api.depends("level_id")
    def _compute_channels(self):
        for wizard in self:
            wizard.send_email = wizard.level_id.send_email and bool(
                wizard.level_id.mail_template_id
            )
            wizard.send_letter = wizard.level_id.send_letter

    @api.depends("partner_ids", "level_id", "company_id")
    def _compute_email_preview(self):
        for wizard in self:
            partner = wizard.partner_ids._origin[:1].with_company(wizard.company_id)
            level = wizard.level_id
            if partner and not level:
                state = partner._get_followup_state()
                level = partner._get_followup_manual_level(state, mass=True)[0]
            template = level.mail_template_id.with_company(wizard.company_id)
            wizard.preview_partner_id = partner
            wizard.email_subject = wizard.email_preview = False
            if not template:
                continue
            followup = partner._followup_preview_history(level)
            try:
                # An unsaved follow-up: _ids, as ids leaves new records out.
                subjects = template._render_field("subject", followup._ids, compute_lang=True)
                bodies = template._render_field("body_html", followup._ids, compute_lang=True)
                wizard.email_subject = subjects[followup.id]
                wizard.email_preview = bodies[followup.id]
            except UserError as error:
                # Shown instead of the preview: sending would fail the same way, and
                # be recorded as an error in the customer's history.
                cause = str(error.args[0]).strip().splitlines()[-1]
                wizard.email_subject = self.env._("This email cannot be rendered.")
                wizard.email_preview = Markup("<p class='text-danger'>%s</p>") % self.env._(
                    "The template of level %(level)s fails: %(cause)s",
                    level=level.name,
                    cause=cause,
                )

    @api.depends("partner_ids", "company_id")
    def _compute_recipient_ids(self):
        for wizard in self:
            partner = wizard._single_partner()
            wizard.recipient_ids = (
                partner._get_followup_recipients().filtered("email") if partner else False
            )

    @api.depends("partner_ids", "recipient_ids", "email_cc", "company_id")
    def _compute_outside_recipients_warning(self):
        for wizard in self:
            single = wizard._single_partner()
            recipients = wizard.recipient_ids._origin if single else None
            outside = [
                self.env._(
                    "%(partner)s: %(names)s",
                    partner=partner.display_name,
                    names=", ".join(names),
                )
                for partner in wizard.partner_ids._origin
                if (names := partner._get_followup_outside_recipients(recipients, wizard.email_cc))
            ]
            wizard.outside_recipients_warning = (
                self.env._(
                    "Not contacts of the customer: %(recipients)s. A customer's statement "
                    "would reach someone else: tick Confirm Other Recipients to send it to "
                    "them anyway.",
                    recipients="; ".join(outside),
                )
                if outside
                else False
            )

    @api.depends("edit_email", "email_subject", "email_preview")
    def _compute_edited_email(self):
        for wizard in self:
            if wizard.edit_email and not wizard.edited_body:
                wizard.edited_subject = wizard.email_subject
                wizard.edited_body = wizard.email_preview
            elif not wizard.edit_email:
                wizard.edited_subject = wizard.edited_body = False

    @api.depends("company_id")
    def _compute_statement_warning(self):
        for wizard in self:
            wizard.statement_warning = self.env["res.partner"]._get_followup_statement_warning(
                wizard.company_id
            )

    @api.depends("partner_ids", "level_id", "company_id")
    def _compute_skip_summary(self):
        for wizard in self:
            partners = wizard.partner_ids._origin.with_company(wizard.company_id)
            if len(partners) < 2:
                wizard.skip_summary = False
                continue
            states = self.env["credit.followup.engine"]._get_states(partners, wizard.company_id)
            reasons = []
            for partner in partners:
                reason = partner._get_followup_manual_level(
                    states[partner.id], wizard.level_id or None, mass=True
                )[1]
                if reason:
                    reasons.append(
                        self.env._(
                            "%(partner)s: %(reason)s", partner=partner.display_name, reason=reason
                        )
                    )
            wizard.skip_summary = (
                self.env._(
                    "%(count)s of %(total)s customers will be left out:\n%(reasons)s",
                    count=len(reasons),
                    total=len(partners),
                    reasons="\n".join(reasons),
                )
                if reasons
                else False
            )

    def _single_partner(self):
        self.ensure_one()
        partners = self.partner_ids._origin
        return partners.with_company(self.company_id) if len(partners) == 1 else partners.browse()

    def action_send(self):
        self.ensure_one()
        partners = self.partner_ids.with_company(self.company_id)
        chosen = bool(self.level_id)
        result = partners.with_company(self.company_id)._followup_send_manually(
            level=self.level_id or None,
            send_email=self.send_email if chosen else None,
            send_letter=self.send_letter if chosen else None,
            email_values=self._prepare_email_values(),
        )
        if len(partners) == 1 and result["skipped"]:
            raise UserError(
                self.env._(
                    "No follow-up sent to %(partner)s: %(reason)s.",
                    partner=partners.display_name,
                    reason=result["skipped"][partners.commercial_partner_id],
                )
            )
        messages = result["done"]._get_outcome_messages()
        if result["failed"]:
            messages.append(
                self.env._(
                    "Failed for %(partners)s: see their follow-up history.",
                    partners=", ".join(result["failed"].mapped("display_name")),
                )
            )
        if result["skipped"]:
            messages.append(
                self.env._(
                    "Left out: %(partners)s.",
                    partners=", ".join(
                        self.env._("%(partner)s (%(reason)s)", partner=p.display_name, reason=r)
                        for p, r in result["skipped"].items()
                    ),
                )
            )
        trouble = result["failed"] or result["skipped"]
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Follow-ups"),
                "message": " ".join(messages),
                "type": "danger" if result["failed"] else "warning" if trouble else "success",
                "sticky": bool(trouble),
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def _prepare_email_values(self):
        """The email as the collector changed it (see
        credit.followup.history._create_batch): recipients and the edited text
        apply to a single customer, the note and copies to each."""
        self.ensure_one()
        values = {
            "email_cc": self.email_cc,
            "note": self.personal_note,
            "outside_confirmed": self.confirm_outside_recipients,
        }
        if self._single_partner():
            values["recipients"] = self.recipient_ids._origin
            if self.edit_email:
                values.update(subject=self.edited_subject, body=self.edited_body)
        return values

    def action_print_letter(self):
        self.ensure_one()
        partner = self._single_partner()
        if not partner:
            raise UserError(self.env._("Print letters one customer at a time."))
        return self.env.ref(
            "credit_collections.action_report_followup_partner_letter"
        ).report_action(partner, data={"level_id": self.level_id.id})
