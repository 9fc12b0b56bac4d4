from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from .credit_guarded_mixin import SYSTEM
from .credit_order_check import ORDER_CREATION, CreditChangeWatch, CreditConfirmationCheck
from .res_partner import CREDIT_STATUSES

# Changing any of these on an order voids its credit approvals: an approval holds
# for one order, its customers, and an amount in one currency.
APPROVAL_BINDING_FIELDS = ("partner_id", "partner_invoice_id", "currency_id", "company_id")
# Writing these on an order can change what its approvals bind to: the currency
# follows the pricelist.
APPROVAL_BINDING_SOURCES = (*APPROVAL_BINDING_FIELDS, "pricelist_id")
# Writing these on a confirmed order can raise what it engages of a customer's
# credit (its lines through their commands, the currency through the pricelist,
# the customers themselves).
CREDIT_CHANGE_FIELDS = (*APPROVAL_BINDING_SOURCES, "order_line")


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "credit.guarded.mixin"]

    credit_status = fields.Selection(
        selection=CREDIT_STATUSES, compute="_compute_credit_status", groups="base.group_user"
    )
    credit_status_reasons = fields.Text(compute="_compute_credit_status", groups="base.group_user")
    credit_exposure_summary = fields.Text(
        string="Exposure Breakdown", compute="_compute_credit_status", groups="base.group_user"
    )
    credit_approval_ids = fields.One2many(
        "credit.approval.request",
        "order_id",
        string="Credit Approvals",
        groups="base.group_user",
    )
    credit_approval_pending = fields.Boolean(
        compute="_compute_credit_approval_state", groups="base.group_user"
    )
    credit_approval_valid = fields.Boolean(
        compute="_compute_credit_approval_state", groups="base.group_user"
    )
    credit_salesperson_ids = fields.Many2many(
        "res.users",
        "credit_sale_order_salesperson_rel",
        "order_id",
        "user_id",
        string="Salespeople So Far",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="Every salesperson the order has had, recorded by the system: none of them "
        "may approve or override a credit hold on it when segregation of duties is on.",
    )

    @api.depends(
        "partner_id",
        "partner_invoice_id",
        "company_id",
        "amount_total",
        "currency_id",
        "state",
        "credit_approval_ids.state",
    )
    def _compute_credit_status(self):
        # Confirmed orders too: a blocked customer's confirmed order cannot grow
        # without an approval, which is requested from it.
        to_check = self.filtered(
            lambda order: order.state in ("draft", "sent", "sale") and order.partner_invoice_id
        )
        snapshots = to_check._credit_check(cumulative=False)
        for order in self:
            snapshot = snapshots.get(order)
            if not snapshot:
                order.credit_status = "ok"
                order.credit_status_reasons = False
                order.credit_exposure_summary = False
                continue
            order.credit_status = snapshot["status"]
            order.credit_status_reasons = "\n".join(snapshot["reasons"])
            order.credit_exposure_summary = order._credit_exposure_summary(snapshot)

    @api.depends(
        "credit_approval_ids.state",
        "credit_approval_ids.valid_until",
        "amount_total",
        "currency_id",
        "partner_id",
        "partner_invoice_id",
    )
    def _compute_credit_approval_state(self):
        approvals = self._credit_valid_approvals()
        for order in self:
            order.credit_approval_pending = any(
                request.state == "pending" for request in order.credit_approval_ids
            )
            order.credit_approval_valid = order in approvals

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        orders = super(SaleOrder, self.with_context(credit_change_watch=ORDER_CREATION)).create(
            vals_list
        )
        orders = orders.with_env(self.env)
        orders._credit_record_salespeople(reset=True)
        # Created confirmed (state in the values or a default_state key): checked as
        # a confirmation, on the state the orders end with.
        confirmed = orders.filtered(lambda order: order.state == "sale")
        if confirmed:
            refusal = confirmed._credit_confirmation_errors()
            if refusal:
                raise UserError(refusal)
        return orders

    def _credit_free_fields(self):
        # The requests guard their own fields, whichever way they are written.
        return {*super()._credit_free_fields(), "credit_approval_ids"}

    def _credit_guarded_fields(self):
        # Segregation of duties rests on every salesperson the order has had: the
        # system's own record (see _credit_record_salespeople).
        return {**super()._credit_guarded_fields(), "credit_salesperson_ids": SYSTEM}

    def write(self, vals):
        if vals.get("state") == "sale":
            self._credit_check_before_state_sale()
        bound = (
            self._credit_approval_bindings() if set(vals) & set(APPROVAL_BINDING_SOURCES) else {}
        )
        watch = None
        if set(vals) & set(CREDIT_CHANGE_FIELDS) and not CreditChangeWatch.watching(self):
            watch = CreditChangeWatch(self)
        orders = self.with_context(credit_change_watch=watch) if watch else self
        result = super(SaleOrder, orders).write(vals)
        if "user_id" in vals:
            self._credit_record_salespeople()
        if bound:
            self._credit_void_changed_approvals(bound)
        if watch:
            watch.check(self)
        return result

    def _credit_record_salespeople(self, reset=False):
        """Add each order's salesperson to the salespeople it has had (at creation:
        its salesperson only, whatever the values or defaults said)."""
        for user, orders in self.grouped("user_id").items():
            if not user and not reset:
                continue
            command = Command.set(user.ids) if reset else Command.link(user.id)
            # The system's own record of who sold the order, whoever reassigns it.
            orders.sudo().write({"credit_salesperson_ids": [command]})

    def _credit_watched(self):
        """(orders in a watch of their credit, the watch or None)."""
        watch = None if CreditChangeWatch.watching(self) else CreditChangeWatch(self)
        return (self.with_context(credit_change_watch=watch) if watch else self), watch

    def action_update_prices(self):
        # Prices are recomputed without a write: a confirmed order's new prices are
        # checked as any other increase.
        watched, watch = self._credit_watched()
        result = super(SaleOrder, watched).action_update_prices()
        if watch:
            watch.check(self)
        return result

    def action_update_taxes(self):
        watched, watch = self._credit_watched()
        result = super(SaleOrder, watched).action_update_taxes()
        if watch:
            watch.check(self)
        return result

    def _credit_check_before_state_sale(self):
        """Writing state 'sale' confirms an order as surely as action_confirm: the
        credit check applies, unless action_confirm ran it for these orders."""
        to_confirm = self.filtered(lambda order: order.state != "sale")
        if not to_confirm:
            return
        check = self.env.context.get("credit_confirmation")
        if isinstance(check, CreditConfirmationCheck) and check.passed(to_confirm):
            return
        refusal = to_confirm._credit_confirmation_errors()
        if refusal:
            raise UserError(refusal)

    def _credit_approval_bindings(self):
        """{order: (ordering customer, invoiced customer, currency, company)} of the
        orders with open approval requests."""
        # Whoever edits the order cancels its requests, including those of another
        # salesperson that record rules hide.
        requests = (
            self.env["credit.approval.request"]
            .sudo()
            .search([("order_id", "in", self.ids), ("state", "in", ("pending", "approved"))])
        )
        return {order: order._credit_approval_binding() for order in requests.order_id}

    def _credit_approval_binding(self):
        self.ensure_one()
        return (
            self.partner_id.commercial_partner_id,
            self.partner_invoice_id.commercial_partner_id,
            self.currency_id,
            self.company_id,
        )

    def _credit_void_changed_approvals(self, bindings):
        for order, binding in bindings.items():
            if order._credit_approval_binding() == binding:
                continue
            # Requests are changed by decisions only; this one follows from the
            # order's own change, whoever makes it.
            order.sudo().credit_approval_ids._credit_cancel(
                self.env._(
                    "the customer, the invoice address or the currency of the order changed."
                )
            )

    # ------------------------------------------------------------------
    # Confirmation hook
    # ------------------------------------------------------------------

    def action_confirm(self):
        # The whole batch is checked once, together, so that the refusal names every
        # blocked order and orders of one customer are added up.
        check = CreditConfirmationCheck(self)
        return super(SaleOrder, self.with_context(credit_confirmation=check)).action_confirm()

    def _confirmation_error_message(self):
        message = super()._confirmation_error_message()
        if message:
            return message
        check = self.env.context.get("credit_confirmation")
        if not isinstance(check, CreditConfirmationCheck) or self.id not in check.order_ids:
            check = CreditConfirmationCheck(self)
        return check.refusal(self) or False

    def _validate_order(self):
        """Orders accepted online: those the credit rules block wait for a credit
        review instead of being confirmed, and the customer is told nothing internal."""
        blocked = self._credit_orders_blocked()
        for order in blocked:
            order._credit_hold_for_review()
        if self - blocked:
            return super(SaleOrder, self - blocked)._validate_order()
        return None

    def _credit_orders_blocked(self):
        orders = self.filtered(lambda order: order.state in ("draft", "sent"))
        snapshots = orders._credit_check(cumulative=True)
        return orders.filtered(lambda order: snapshots[order]["status"] == "blocked")

    def _credit_confirmation_errors(self, change=False):
        """The refusal message for the orders in self that credit rules block, or ''.

        :param change: the orders are confirmed already and a change made them engage
            more credit: refused as a confirmation would be, with the same way out
        """
        # Only limits depend on other orders of the customer: serialize those checks.
        to_lock = self.filtered(
            lambda order: (
                order.company_id.account_use_credit_limit
                or order.company_id.credit_zero_limit_policy == "no_credit"
            )
        )
        self.env["credit.exposure"]._lock_partners(to_lock.partner_invoice_id | to_lock.partner_id)
        snapshots = self._credit_check(cumulative=True)
        blocked = [order for order in self if snapshots[order]["status"] == "blocked"]
        if not blocked:
            return ""
        messages = [order._credit_block_message(snapshots[order], change) for order in blocked]
        return "\n\n".join(messages)

    def _credit_block_message(self, snapshot, change=False):
        self.ensure_one()
        reasons = "\n".join(f"- {reason}" for reason in snapshot["blocking_reasons"])
        # The customers that block, not the invoiced one when only the ordering one does.
        partners = snapshot.get("blocking_partners") or [snapshot["partner"]]
        values = {
            "order": self.name,
            "partner": ", ".join(partner.display_name for partner in partners),
            "amount": format_amount(self.env, self.amount_total, self.currency_id),
        }
        if change:
            headline = self.env._(
                "Order %(order)s cannot be changed to %(amount)s: customer %(partner)s is "
                "blocked for credit.",
                **values,
            )
        else:
            headline = self.env._(
                "Order %(order)s cannot be confirmed: customer %(partner)s is blocked for credit.",
                **values,
            )
        engine = self.env["credit.exposure"]
        return self.env._(
            "%(headline)s\n%(reasons)s\n%(summary)s\n%(advice)s",
            headline=headline,
            reasons=reasons,
            summary=self._credit_exposure_summary(snapshot),
            advice=engine._get_document_advice(self, snapshot["blocking_rules"]),
        )

    def _credit_exposure_summary(self, snapshot):
        return self.env["credit.exposure"]._exposure_summary(snapshot, with_document=True)

    def _credit_is_paid_in_advance(self):
        """Paid online in full: granting no credit, amount rules do not apply."""
        self.ensure_one()
        return self.currency_id.compare_amounts(self.amount_paid, self.amount_total) >= 0 and bool(
            self.amount_total
        )

    def _credit_checked_partners(self):
        """Commercial entities whose credit the order engages: the invoiced customer
        first, then the ordering one when it is another company. A customer on hold
        cannot order through the invoice address of another."""
        self.ensure_one()
        return self.partner_invoice_id.commercial_partner_id | self.partner_id.commercial_partner_id

    def _credit_check(self, cumulative=True):
        """Credit snapshot of each order in self, as if it were confirmed now
        (credit.exposure._check_documents, with the hooks below).

        :param cumulative: add up the orders of one customer in self, as when they
            are confirmed together
        :return: {order: snapshot}
        """
        return self.env["credit.exposure"]._check_documents(self, cumulative=cumulative)

    # ------------------------------------------------------------------
    # Hooks of the document credit check (see credit.exposure._check_documents)
    # ------------------------------------------------------------------

    def _credit_check_partners(self):
        return self._credit_checked_partners()

    def _credit_check_amounts(self):
        # A confirmed order engages what it has left to invoice: what it invoiced is
        # counted as receivables already.
        left = self.env["credit.exposure"]._orders_left_to_invoice(
            self.filtered(lambda order: order.state == "sale")
        )
        return {
            order.id: (left.get(order.id, order.amount_total), order.currency_id) for order in self
        }

    def _credit_check_exclusions(self):
        return {"exclude_orders": self.ids}

    def _credit_check_paid_in_advance(self):
        return self._credit_is_paid_in_advance()

    def _credit_check_approvals(self):
        # Approvals only matter to orders the rules block: most checks pass
        # without reading them.
        return {
            order: approval._credit_approval_reason()
            for order, approval in self._credit_valid_approvals().items()
        }

    def _credit_check_advice(self):
        # The rules' own advice speaks of orders; the way out is an approval.
        return {}, None
