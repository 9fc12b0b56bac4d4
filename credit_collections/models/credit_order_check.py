"""Credit checks handed down through the context of sales orders."""

from odoo.exceptions import UserError


class CreditChangeWatch:
    """What confirmed orders engaged of their customers' credit before a change:
    after it, the orders that engage more are checked again as at confirmation.

    Passed in the context as an object, as CreditConfirmationCheck is, so that the
    lines written by an order's own write are checked once, with the order, and no
    RPC caller can claim a change was checked.
    """

    def __init__(self, orders):
        # The figures before and after, and the check, are the system's: the user
        # changing the lines may not read every order or customer they engage.
        confirmed = orders.sudo().filtered(lambda order: order.state == "sale")
        self.order_ids = frozenset(confirmed.ids)
        self.active = True
        self._before = {
            order.id: (
                order.amount_total,
                order.currency_id,
                order._credit_checked_partners(),
            )
            for order in confirmed
        }

    def check(self, orders):
        """Refuse the change when an order of self engages more credit than before
        and its customers' credit does not allow it."""
        self.active = False
        # sudo: the check is the system's, as in __init__.
        orders = orders.sudo().browse(sorted(self.order_ids)).exists()
        increased = orders.filtered(lambda order: self._engages_more(order))
        if not increased:
            return
        refusal = increased._credit_confirmation_errors(change=True)
        if refusal:
            raise UserError(refusal)

    def _engages_more(self, order):
        amount, currency, partners = self._before[order.id]
        if order.state != "sale" or not order.amount_total:
            return False
        if order._credit_checked_partners() != partners:
            return True
        if order.currency_id == currency:
            return currency.compare_amounts(order.amount_total, amount) > 0
        company = order.company_id
        rates = order.env["credit.exposure"]._currency_rates(
            company, {currency.id, order.currency_id.id}
        )
        return (
            company.currency_id.compare_amounts(
                order.amount_total * rates[order.currency_id.id], amount * rates[currency.id]
            )
            > 0
        )

    @classmethod
    def watching(cls, orders):
        """The watch of an enclosing change of orders, if it covers them all."""
        watch = orders.env.context.get("credit_change_watch")
        if watch is ORDER_CREATION:
            return watch
        if isinstance(watch, cls) and watch.active and set(orders.ids) <= watch.order_ids:
            return watch
        return None


# In the context while orders are created: their lines are checked with them, once
# the orders are whole (see SaleOrder.create).
ORDER_CREATION = object()


class CreditConfirmationCheck:
    """The credit verdict of orders confirmed together, computed once for the batch.

    Handed down from ``action_confirm`` to ``_confirmation_error_message`` (called
    once per order) and to ``write`` in the context as an object: RPC callers can
    pass context values, but not this object, so nobody can claim a check passed.
    """

    def __init__(self, orders):
        self.order_ids = frozenset(orders.ids)
        self._refusal = None

    def refusal(self, orders):
        """Refusal message for the orders of the batch, '' when they pass."""
        if self._refusal is None:
            batch = orders.browse(sorted(self.order_ids)).filtered(
                lambda order: order.state in ("draft", "sent")
            )
            self._refusal = batch._credit_confirmation_errors()
        return self._refusal

    def passed(self, orders):
        return self._refusal == "" and set(orders.ids) <= self.order_ids
