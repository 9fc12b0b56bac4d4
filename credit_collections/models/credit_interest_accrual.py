from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount, format_date

ACCRUAL_STATES = [
    ("draft", "Preview"),
    ("invoiced", "Invoiced"),
    ("cancelled", "Cancelled"),
]
CHARGE_KINDS = [
    ("interest", "Late Interest"),
    ("compensation", "Recovery Compensation"),
]


class CreditInterestAccrual(models.Model):
    """Late interest charged on one receivable item for one period at one rate,
    or the fixed compensation charged once for a late invoice.

    No day of an item is charged twice: the next run starts after the last day
    invoiced, and a unique index refuses a second invoiced accrual starting on
    the same day (two runs at once). An accrual whose invoice line is deleted or
    whose invoice is cancelled is cancelled: its days can be charged again.
    """

    _name = "credit.interest.accrual"
    _inherit = ["credit.guarded.mixin"]
    _description = "Late Interest Accrual"
    _order = "run_id desc, partner_id, move_line_id, date_from"
    _check_company_auto = True
    # The days charged on each item: a correction is a new run.
    _credit_audit_trail = True

    run_id = fields.Many2one(
        "credit.interest.run",
        required=True,
        index=True,
        ondelete="cascade",
        readonly=True,
        check_company=True,
    )
    company_id = fields.Many2one(related="run_id.company_id", store=True, index=True)
    kind = fields.Selection(selection=CHARGE_KINDS, required=True, default="interest")
    move_line_id = fields.Many2one(
        "account.move.line",
        string="Item",
        required=True,
        index=True,
        ondelete="restrict",
        check_company=True,
    )
    move_id = fields.Many2one(related="move_line_id.move_id", store=True, index=True)
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, check_company=True
    )
    date_from = fields.Date(string="From", required=True)
    date_to = fields.Date(string="To", required=True)
    days = fields.Integer()
    currency_id = fields.Many2one("res.currency", required=True)
    base_amount = fields.Monetary(
        string="Average Base", help="Open amount of the item, averaged over the days."
    )
    rate = fields.Float(string="Annual Rate (%)", digits=(16, 4))
    amount = fields.Monetary()
    invoice_line_id = fields.Many2one(
        "account.move.line",
        index="btree_not_null",
        ondelete="set null",
        check_company=True,
    )
    state = fields.Selection(
        selection=ACCRUAL_STATES, compute="_compute_state", store=True, index=True
    )

    def init(self):
        # Once invoiced, a day of an item is never charged again, even by two runs
        # at once; a late invoice gets its compensation once.
        self.env.cr.execute(
            SQL(
                """
                CREATE UNIQUE INDEX IF NOT EXISTS credit_interest_accrual_day_once
                    ON credit_interest_accrual (move_line_id, date_from)
                 WHERE state = 'invoiced' AND kind = 'interest';
                CREATE UNIQUE INDEX IF NOT EXISTS credit_interest_accrual_compensation_once
                    ON credit_interest_accrual (move_id)
                 WHERE state = 'invoiced' AND kind = 'compensation';
                """
            )
        )

    @api.depends("run_id.state", "invoice_line_id", "invoice_line_id.parent_state")
    def _compute_state(self):
        for accrual in self:
            if accrual.invoice_line_id and accrual.invoice_line_id.parent_state != "cancel":
                accrual.state = "invoiced"
            elif accrual.run_id.state == "done":
                accrual.state = "cancelled"
            else:
                accrual.state = "draft"

    @api.model
    def _check_reinstate(self, invoices):
        """Refuse to bring back cancelled interest invoices whose days or
        compensation another invoice has charged since: reinstated, they would
        charge them twice."""
        # Every charge of the items counts, whoever may read them.
        accruals = self.sudo().search([("invoice_line_id.move_id", "in", invoices.ids)])
        charged = self.sudo().search(
            [
                "|",
                ("move_line_id", "in", accruals.move_line_id.ids),
                ("move_id", "in", accruals.move_id.ids),
                ("state", "=", "invoiced"),
                ("id", "not in", accruals.ids),
            ]
        )
        for accrual in accruals:
            clash = charged.filtered(
                lambda other, accrual=accrual: (
                    other.kind == accrual.kind
                    and (
                        other.move_id == accrual.move_id
                        if accrual.kind == "compensation"
                        else other.move_line_id == accrual.move_line_id
                        and other.date_from <= accrual.date_to
                        and other.date_to >= accrual.date_from
                    )
                )
            )[:1]
            if clash:
                raise UserError(
                    self.env._(
                        "%(invoice)s cannot be reset to draft: what it charged on %(document)s "
                        "(%(date_from)s to %(date_to)s) was charged again by %(other)s after "
                        "it was cancelled. Leave it cancelled; the next run charges only "
                        "what is left.",
                        invoice=accrual.invoice_line_id.move_id.name,
                        document=accrual.move_id.name,
                        date_from=format_date(self.env, accrual.date_from),
                        date_to=format_date(self.env, accrual.date_to),
                        other=clash.invoice_line_id.move_id.name,
                    )
                )

    def _prepare_invoice_line_vals(self, products):
        self.ensure_one()
        product = products[self.kind]
        source = self.move_id.name
        # Formatted outside the translated call: the terms extractor reads its
        # arguments as literals.
        rate = f"{self.rate:g}"
        if self.kind == "compensation":
            name = self.env._(
                "Recovery compensation for late payment of %(document)s", document=source
            )
        else:
            name = self.env._(
                "Late interest on %(document)s: %(date_from)s to %(date_to)s, %(days)s days on "
                "%(base)s at %(rate)s %%",
                document=source,
                date_from=format_date(self.env, self.date_from),
                date_to=format_date(self.env, self.date_to),
                days=self.days,
                base=format_amount(self.env, self.base_amount, self.currency_id),
                rate=rate,
            )
        return {
            "product_id": product.id,
            "name": name,
            "quantity": 1,
            "price_unit": self.amount,
            "tax_ids": [
                fields.Command.set(
                    product.taxes_id.filtered(lambda tax: tax.company_id == self.company_id).ids
                )
            ],
        }
