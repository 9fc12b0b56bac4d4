from odoo import api, fields, models
from odoo.exceptions import ValidationError

# Delays a level may have, in days from the due date: from a year before (a
# friendly reminder) to ten years after. Beyond them the dates the follow-ups
# compute leave the calendar, and the scheduled action and the searches fail.
LEVEL_DELAY_BOUNDS = (-366, 3650)

ACTIVITY_ASSIGNEES = [
    ("collector", "Customer's collector"),
    ("salesperson", "Customer's salesperson"),
    ("user", "Fixed user"),
]


class CreditFollowupLevel(models.Model):
    _name = "credit.followup.level"
    _inherit = ["credit.guarded.mixin", "credit.bounded.mixin"]
    _description = "Follow-up Level"
    _order = "policy_id, delay, sequence, id"
    _check_company_auto = True
    # Set by credit managers (the access rights).
    _credit_configuration = True

    policy_id = fields.Many2one(
        "credit.followup.policy",
        required=True,
        ondelete="cascade",
        index=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="policy_id.company_id", store=True, index=True)
    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    delay = fields.Integer(
        required=True,
        help="Days after the due date of the oldest overdue item (negative: before it is "
        "due, for a friendly reminder).",
    )
    description = fields.Html(
        string="Letter Text",
        translate=True,
        help="Printed on the reminder letter above the statement, instead of the text of "
        "the letter template.",
    )
    letter_template_id = fields.Many2one(
        "mail.template",
        domain=[("model", "=", "credit.followup.history")],
        help="Title (the subject) and text of the reminder letter, in the customer's "
        "language; the letter adds the statement, how to pay and the signature.",
    )
    send_email = fields.Boolean()
    mail_template_id = fields.Many2one(
        "mail.template",
        string="Email Template",
        domain=[("model", "=", "credit.followup.history")],
    )
    send_letter = fields.Boolean(help="Print a PDF reminder letter.")
    attach_invoices = fields.Boolean(help="Attach the PDF of the overdue invoices to the email.")
    create_activity = fields.Boolean(string="Schedule Activity")
    activity_type_id = fields.Many2one("mail.activity.type")
    activity_summary = fields.Char(translate=True)
    activity_note = fields.Html(translate=True)
    activity_assignee = fields.Selection(selection=ACTIVITY_ASSIGNEES, default="collector")
    activity_user_id = fields.Many2one("res.users")
    set_credit_hold = fields.Boolean(
        help="Put the customer on credit hold: no order can be confirmed until a credit "
        "manager lifts it.",
    )
    fee_amount = fields.Monetary(
        string="Fee",
        currency_field="currency_id",
        help="Dunning fee invoiced once each time a customer reaches this level.",
    )
    currency_id = fields.Many2one(related="company_id.currency_id")
    manual_action = fields.Boolean(
        help="The scheduled action stops at this level: a collector must act.",
    )

    _sql_constraints = [
        (
            "delay_policy_unique",
            "UNIQUE(policy_id, delay)",
            "Delay: two levels of one follow-up policy cannot have the same delay.",
        ),
    ]

    def _get_actions(self):
        """Actions a follow-up at these levels may run, in order: names of methods
        of credit.followup.history, each run on all the histories of a batch at
        once and acting on those its level asks for. Letters come first, so that
        emails carry them. Override to add an action."""
        return [
            "_action_print_letter",
            "_action_send_email",
            "_action_schedule_activity",
            "_action_set_credit_hold",
            "_action_invoice_fee",
        ]

    @api.constrains("delay")
    def _check_delay(self):
        low, high = LEVEL_DELAY_BOUNDS
        for level in self:
            if level._credit_is_out_of_bounds("delay"):
                raise ValidationError(
                    self.env._(
                        "Delay: level %(level)s must be between %(low)s days (before the due "
                        "date) and %(high)s days after it; %(value)s is out of range.",
                        level=level.name,
                        low=low,
                        high=high,
                        value=level.delay,
                    )
                )

    def _credit_field_bounds(self):
        return {**super()._credit_field_bounds(), "delay": LEVEL_DELAY_BOUNDS}

    def _credit_bound_message(self, field_name, low, high):
        if field_name == "delay":
            return self.env._(
                "A level's delay is between %(low)s days (before the due date) and "
                "%(high)s days after it.",
                low=low,
                high=high,
            )
        return super()._credit_bound_message(field_name, low, high)

    @api.onchange("delay")
    def _onchange_delay(self):
        return self._credit_bound_warning("delay")

    @api.constrains("letter_template_id")
    def _check_letter_template(self):
        for level in self:
            template = level.letter_template_id
            if template and template.model != "credit.followup.history":
                raise ValidationError(
                    self.env._(
                        "Letter Template: level %(level)s needs a follow-up template (applies "
                        "to Follow-up History); %(template)s is a template of %(model)s.",
                        level=level.name,
                        template=template.name,
                        model=self.env[template.model]._description,
                    )
                )

    @api.constrains("send_email", "mail_template_id")
    def _check_email_template(self):
        for level in self:
            if level.send_email and not level.mail_template_id:
                raise ValidationError(
                    self.env._(
                        "Email Template: level %(level)s sends an email, choose its template.",
                        level=level.name,
                    )
                )
            # A template of another model would render another document (an
            # order, an invoice) for the customer: the view's domain is no guard.
            if level.mail_template_id and level.mail_template_id.model != "credit.followup.history":
                raise ValidationError(
                    self.env._(
                        "Email Template: level %(level)s needs a follow-up template (applies "
                        "to Follow-up History); %(template)s is a template of %(model)s.",
                        level=level.name,
                        template=level.mail_template_id.name,
                        model=self.env[level.mail_template_id.model]._description,
                    )
                )

    @api.constrains("fee_amount")
    def _check_fee_product(self):
        for level in self:
            if level.fee_amount and not level.company_id.credit_followup_fee_product_id:
                raise ValidationError(
                    self.env._(
                        "Fee: level %(level)s charges a fee, but %(company)s has no Dunning Fee "
                        "Product. Set it in Settings > Credit & Collections > Follow-ups.",
                        level=level.name,
                        company=level.company_id.name,
                    )
                )

    @api.constrains("create_activity", "activity_type_id", "activity_assignee", "activity_user_id")
    def _check_activity(self):
        for level in self:
            if not level.create_activity:
                continue
            if not level.activity_type_id:
                raise ValidationError(
                    self.env._(
                        "Activity Type: level %(level)s schedules an activity, choose its type.",
                        level=level.name,
                    )
                )
            if level.activity_assignee == "user" and not level.activity_user_id:
                raise ValidationError(
                    self.env._(
                        "Activity User: level %(level)s assigns its activity to a fixed user, "
                        "choose the user.",
                        level=level.name,
                    )
                )

    @api.constrains("fee_amount")
    def _check_fee_amount(self):
        for level in self:
            if level.fee_amount < 0:
                raise ValidationError(
                    self.env._(
                        "Fee: the fee of level %(level)s cannot be negative.", level=level.name
                    )
                )
