from odoo import api, models


class CreditDeliveryCheck:
    """Deliveries whose credit check passed when their moves started being done.

    Handed down from ``_action_done`` to ``write`` in the context as an object: RPC
    callers can pass context values, but not this object, so nobody can claim a
    check passed.
    """

    def __init__(self, pickings):
        self.picking_ids = frozenset(pickings.ids)

    def covers(self, moves):
        return set(moves.picking_id.ids) <= self.picking_ids


class StockMove(models.Model):
    _inherit = "stock.move"

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        picking_ids = [
            vals["picking_id"]
            for vals in vals_list
            if vals.get("state") == "done" and vals.get("picking_id")
        ]
        if picking_ids:
            self.env["stock.picking"].browse(picking_ids)._credit_check_deliveries()
        return super().create(vals_list)

    def write(self, vals):
        if vals.get("state") == "done":
            self._credit_check_before_done()
        if "sale_line_id" in vals and not self.env.su:
            # Detaching a held delivery's goods from their order would release them.
            self.picking_id._credit_check_deliveries()
        return super().write(vals)

    def _credit_check_before_done(self):
        """A move marked done delivers as surely as a validated transfer: the credit
        check applies, unless _action_done ran it for these moves' deliveries."""
        check = self.env.context.get("credit_delivery_check")
        if isinstance(check, CreditDeliveryCheck) and check.covers(self):
            return
        self.picking_id._credit_check_deliveries()

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _action_done(self, cancel_backorder=False):
        # Every way of validating a transfer ends here: the deliveries of these moves
        # are checked once, then done.
        pickings = self.picking_id
        pickings._credit_check_deliveries()
        check = CreditDeliveryCheck(pickings)
        moves = super(StockMove, self.with_context(credit_delivery_check=check))._action_done(
            cancel_backorder=cancel_backorder
        )
        return moves.with_env(self.env)
