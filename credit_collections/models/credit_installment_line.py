from odoo import api, fields, models
from odoo.exceptions import UserError

from .credit_guarded_mixin import ONCE, SYSTEM

LINE_STATES = [
    ("open", "Open"),
    ("paid", "Paid"),
    ("overdue", "Overdue"),
]


class CreditInstallmentLine(models.Model):
    """One installment of a plan: planned (date and amount) while the plan is a
    draft, then an ordinary open receivable item of the rescheduling entry,
    whose residual says what is left to pay."""

    _name = "credit.installment.line"
    _inherit = ["credit.guarded.mixin"]
    _description = "Installment"
    _order = "plan_id, sequence, date_due, id"
    _check_company_auto = True

    plan_id = fields.Many2one(
        "credit.installment.plan",
        required=True,
        index=True,
        ondelete="cascade",
        check_company=True,
    )
    company_id = fields.Many2one(related="plan_id.company_id", store=True, index=True)
    currency_id = fields.Many2one(related="plan_id.currency_id")
    sequence = fields.Integer(default=1)
    date_due = fields.Date(string="Due Date", required=True)
    amount = fields.Monetary(required=True)
    move_line_id = fields.Many2one(
        "account.move.line",
        string="Receivable Item",
        readonly=True,
        index="btree_not_null",
        copy=False,
        check_company=True,
    )
    amount_residual = fields.Monetary(
        string="Left to Pay", compute="_compute_payment", help="Open amount of its item."
    )
    state = fields.Selection(selection=LINE_STATES, compute="_compute_payment")
    paid_date = fields.Date(compute="_compute_payment", help="Date of the payment that closed it.")

    @api.depends(
        "amount",
        "date_due",
        "move_line_id.amount_residual",
        "move_line_id.amount_residual_currency",
        "move_line_id.date_maturity",
        "move_line_id.reconciled",
    )
    def _compute_payment(self):
        today = fields.Date.context_today(self)
        for line in self:
            item = line.move_line_id
            line.amount_residual = item.amount_residual_currency if item else line.amount
            if item and item.reconciled:
                line.state = "paid"
                line.paid_date = max(
                    (partial.credit_move_id.date for partial in item.matched_credit_ids),
                    default=False,
                )
            else:
                # A posted installment is overdue as any receivable item is; a
                # planned one when its date has passed.
                overdue = (
                    item._credit_is_overdue(today)
                    if item
                    else bool(line.date_due and line.date_due < today)
                )
                line.state = "overdue" if overdue else "open"
                line.paid_date = False

    @api.model_create_multi
    def create(self, vals_list):
        lines = super().create(vals_list)
        if not self.env.su:
            lines._check_editable({name for vals in vals_list for name in vals})
        return lines

    def write(self, vals):
        if not self.env.su:
            self._check_editable(set(vals))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_running(self):
        if not self.env.su:
            self._check_editable(set())

    def _credit_guarded_fields(self):
        # The receivable item is set by the plan's activation alone.
        return {"move_line_id": SYSTEM, "company_id": SYSTEM, "plan_id": ONCE}

    def _credit_free_fields(self):
        return {"sequence", "date_due", "amount"}

    def _credit_guard_hint(self):
        return self.env._("Activate or cancel the plan with its buttons.")

    def _check_editable(self, field_names):
        """Installments are the plan's schedule: changed by hand only while it is
        a draft (a proposed plan's are what the customer was sent and signs).
        Guarded fields are the guard's to refuse, first."""
        if field_names and field_names <= set(self._credit_guarded_fields()):
            return
        frozen = self.plan_id.filtered(lambda plan: plan.state != "draft")[:1]
        if frozen.state == "proposed":
            raise UserError(
                self.env._(
                    "Plan %(plan)s is proposed to the customer: its installments are the ones "
                    "they were sent. Set it back to draft to change them (the proposal is then "
                    "void) and propose it again.",
                    plan=frozen.name,
                )
            )
        if frozen:
            raise UserError(
                self.env._(
                    "Plan %(plan)s is no longer a proposal: its installments cannot be changed.",
                    plan=frozen.name,
                )
            )

    def _get_label(self):
        """What the installment is called everywhere a person reads it: its
        receivable item's label, the customer's Follow-up tab, the follow-up
        emails and letters ("Installment 2/6 of PLAN/2026/0001"), in the
        language of the environment."""
        self.ensure_one()
        plan = self.plan_id
        if self.sequence == 0:
            return self.env._("Down payment of %(plan)s", plan=plan.name)
        return self.env._(
            "Installment %(number)s/%(count)s of %(plan)s",
            number=self.sequence,
            count=plan.installment_count,
            plan=plan.name,
        )
