from odoo import api, models
from odoo.exceptions import UserError

from .credit_order_check import CreditChangeWatch


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    # A confirmed order grows through its lines, whatever screen or call changes
    # them: each change that makes it engage more credit is checked again, as its
    # confirmation was (see CreditChangeWatch).

    @api.model_create_multi
    def create(self, vals_list):
        order_ids = {vals.get("order_id") for vals in vals_list}
        order_ids.add(self.env.context.get("default_order_id"))
        orders = self.env["sale.order"].browse(
            [order_id for order_id in order_ids if isinstance(order_id, int)]
        )
        watch = self._credit_change_watch(orders)
        lines = super(SaleOrderLine, self._credit_in_watch(watch)).create(vals_list)
        if watch:
            watch.check(orders)
        # Lines created on a confirmed order the values did not name (an onchange
        # or default path): checked as new credit, they had no amount before.
        unseen = (lines.order_id - orders).sudo().filtered(lambda order: order.state == "sale")
        if unseen and not CreditChangeWatch.watching(lines.order_id):
            refusal = unseen._credit_confirmation_errors(change=True)
            if refusal:
                raise UserError(refusal)
        return lines

    def write(self, vals):
        watch = self._credit_change_watch(self.order_id)
        result = super(SaleOrderLine, self._credit_in_watch(watch)).write(vals)
        if watch:
            watch.check(self.order_id)
        return result

    def unlink(self):
        # Removing a negative line (a discount, a credit) raises the order.
        orders = self.order_id
        watch = self._credit_change_watch(orders)
        result = super(SaleOrderLine, self._credit_in_watch(watch)).unlink()
        if watch:
            watch.check(orders)
        return result

    def _credit_change_watch(self, orders):
        """A watch of the confirmed orders in orders, unless an enclosing change of
        them (the order's own write) checks them already."""
        # sudo: which orders are confirmed, whoever edits their lines (see CreditChangeWatch).
        orders = orders.sudo().exists().filtered(lambda order: order.state == "sale")
        if not orders or CreditChangeWatch.watching(orders):
            return None
        return CreditChangeWatch(orders)

    def _credit_in_watch(self, watch):
        return self.with_context(credit_change_watch=watch) if watch else self
