from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _check_amount_and_confirm_order(self):
        """A quotation paid online that credit rules block is not confirmed: the
        payment is kept (Odoo books it after this step, which a refusal would abort,
        again at every run of the payment scheduled action) and the quotation waits
        for a credit decision. Paid in full, amount rules do not hold it."""
        held_txs = self.browse()
        for tx in self:
            # As Odoo's own confirmation: one quotation per transaction.
            if len(tx.sale_order_ids) != 1:
                continue
            quotation = tx.sale_order_ids.filtered(lambda order: order.state in ("draft", "sent"))
            if quotation and quotation._is_confirmation_amount_reached():
                blocked = quotation._credit_orders_blocked()
                if blocked:
                    blocked._credit_hold_for_review(paid_by=tx)
                    held_txs |= tx
        return super(PaymentTransaction, self - held_txs)._check_amount_and_confirm_order()
