from odoo import api, fields, models

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
]


class CreditFollowupHistory(models.Model):
    _name = "credit.followup.history"
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
    mail_message_id = fields.Many2one("mail.message", string="Email", ondelete="set null")
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

    @api.depends("move_line_ids")
    def _compute_invoice_ids(self):
        for history in self:
            history.invoice_ids = history.move_line_ids.move_id

    @api.depends("mail_message_id.notification_ids.notification_status")
    def _compute_email_state(self):
        for history in self:
            statuses = set(
                history.mail_message_id.notification_ids.filtered(
                    lambda notification: notification.notification_type == "email"
                ).mapped("notification_status")
            )
            if not history.mail_message_id:
                history.email_state = "none"
            elif "exception" in statuses:
                history.email_state = "exception"
            elif "bounce" in statuses:
                history.email_state = "bounce"
            elif statuses and statuses <= {"sent"}:
                history.email_state = "sent"
            else:
                history.email_state = "queued"
