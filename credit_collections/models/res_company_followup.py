# Split from res_company.py by responsibility: follow-up settings and the
# default follow-up policy of each company.
# pylint: disable=consider-merging-classes-inherited
from odoo import Command, api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    # Follow-ups
    credit_followup_min_amount = fields.Monetary(
        string="Follow-up Minimum Overdue",
        currency_field="currency_id",
        help="Customers owing less than this overdue amount get no follow-up.",
    )
    credit_followup_start_mode = fields.Selection(
        selection=[
            ("first_level", "At the first level, one level at a time"),
            ("oldest_item", "At the level of the oldest overdue item"),
        ],
        string="Follow-ups Start",
        default="first_level",
        required=True,
        help="Where a customer's follow-ups start, at go-live or when a new dunning "
        "episode begins. First level: every customer gets the first reminder its "
        "overdue items call for, then climbs one level at a time, each after the days "
        "between two levels since the last follow-up. Oldest item: the customer gets "
        "at once the level its oldest overdue item has reached.",
    )
    credit_followup_fee_product_id = fields.Many2one(
        "product.product",
        string="Dunning Fee Product",
        default=lambda self: self.env.ref(
            "credit_collections.product_dunning_fee", raise_if_not_found=False
        ),
        help="Invoiced when a follow-up level charges a fee.",
        check_company=True,
    )

    credit_followup_paused = fields.Boolean(
        string="Start with Automatic Follow-ups Paused",
        help="The scheduled follow-up run sends nothing for this company until someone "
        "has looked at what it would send (Preview the Next Run) and started the "
        "automatic follow-ups. Follow-ups sent by hand are not paused.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        companies._credit_create_default_followup_policy()
        return companies

    def write(self, vals):
        if "credit_followup_paused" not in vals:
            return super().write(vals)
        changed = self.filtered(
            lambda company: company.credit_followup_paused != bool(vals["credit_followup_paused"])
        )
        result = super().write(vals)
        changed._credit_log_followup_pause()
        return result

    # ------------------------------------------------------------------
    # Automatic follow-ups paused
    # ------------------------------------------------------------------

    def _credit_log_followup_pause(self):
        """Say in the company's chatter (its partner's: a company has none of its
        own) who paused or started the automatic follow-ups, for the managers
        who wonder why reminders did or did not go."""
        for company in self:
            if company.credit_followup_paused:
                body = self.env._(
                    "Automatic follow-ups paused by %(user)s: the scheduled run sends "
                    "nothing for %(company)s until they are started again.",
                    user=self.env.user.name,
                    company=company.name,
                )
            else:
                body = self.env._(
                    "Automatic follow-ups started by %(user)s: the scheduled run follows "
                    "up the customers of %(company)s again.",
                    user=self.env.user.name,
                    company=company.name,
                )
            # sudo: who may change the setting (a settings administrator, a credit
            # manager from the preview) may not be allowed to edit the company's
            # contact; the note is the setting's audit trail.
            company.partner_id.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    def _credit_start_automatic_followups(self):
        """Lift the pause of the automatic follow-ups (the preview's button)."""
        # sudo: credit managers may not write companies; this one setting is
        # theirs to lift once they have seen the preview (checked by the caller).
        # Under sudo the user stays who acts: the chatter names them.
        self.sudo().filtered("credit_followup_paused").write({"credit_followup_paused": False})

    @api.model
    def _credit_create_default_followup_policies(self):
        """The default follow-up ladder of every company of the database that has no
        policy yet, archived companies included (run at install)."""
        # Every company is meant: a database has few of them.
        companies = self.with_context(active_test=False).search([])  # pylint: disable=no-search-all
        companies._credit_create_default_followup_policy()

    def _credit_create_default_followup_policy(self):
        """The default follow-up ladder, for companies that have no policy yet."""
        # Part of creating a company, whoever creates it (a settings manager may not
        # manage follow-up policies).
        policies = self.env["credit.followup.policy"].sudo().with_context(active_test=False)
        # An archived policy is a credit manager's choice: the company keeps it.
        with_policy = {
            company.id
            for [company] in policies._read_group([("company_id", "in", self.ids)], ["company_id"])
        }
        missing = self.filtered(lambda company: company.id not in with_policy)
        if missing:
            policies.create(
                [company._prepare_default_followup_policy_vals() for company in missing]
            )

    def _prepare_default_followup_policy_vals(self):
        """The default policy of the company: its levels are
        _prepare_default_followup_level_vals, in that order."""
        self.ensure_one()
        levels = self._prepare_default_followup_level_vals()
        return {
            "name": self.env._("Standard follow-up"),
            "company_id": self.id,
            "is_default": True,
            "level_ids": [
                Command.create(dict(level, sequence=index)) for index, level in enumerate(levels)
            ],
        }

    def _prepare_default_followup_level_vals(self):
        """The levels of the default policy, from the reminder before the due date
        to the collection action: a module adds or changes one by overriding this."""
        self.ensure_one()

        def template(xmlid):
            return self.env.ref(f"credit_collections.{xmlid}", raise_if_not_found=False).id

        todo = self.env.ref("mail.mail_activity_data_todo").id
        return [
            {
                "name": self.env._("Reminder before due date"),
                "delay": -3,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_reminder"),
                "letter_template_id": template("mail_template_followup_letter_reminder"),
            },
            {
                "name": self.env._("First reminder"),
                "delay": 1,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_first"),
                "letter_template_id": template("mail_template_followup_letter_first"),
            },
            {
                "name": self.env._("Second reminder"),
                "delay": 15,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_second"),
                "letter_template_id": template("mail_template_followup_letter_second"),
                "send_letter": True,
            },
            {
                "name": self.env._("Final notice"),
                "delay": 30,
                "send_email": True,
                "mail_template_id": template("mail_template_followup_final"),
                "letter_template_id": template("mail_template_followup_letter_final"),
                "send_letter": True,
                "attach_invoices": True,
                "set_credit_hold": True,
                "create_activity": True,
                "activity_type_id": todo,
                "activity_summary": self.env._("Call the customer about the final notice"),
            },
            {
                "name": self.env._("Collection action"),
                "delay": 60,
                "manual_action": True,
                "create_activity": True,
                "activity_type_id": todo,
                "activity_summary": self.env._("Decide on collection action"),
                "letter_template_id": template("mail_template_followup_letter_collection"),
            },
        ]
