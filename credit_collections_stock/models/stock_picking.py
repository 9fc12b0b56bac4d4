from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.credit_collections.models.credit_guarded_mixin import SYSTEM

# Set by a credit manager's override only, never by hand: a delivery must show who
# let it go despite the credit hold, and why.
OVERRIDE_FIELDS = {"credit_override_user_id", "credit_override_date", "credit_override_reason"}


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "credit.guarded.mixin"]

    credit_hold_blocked = fields.Boolean(
        string="Held for Credit", compute="_compute_credit_hold", groups="base.group_user"
    )
    credit_hold_reasons = fields.Text(compute="_compute_credit_hold", groups="base.group_user")
    credit_override_user_id = fields.Many2one(
        "res.users",
        string="Credit Hold Overridden By",
        readonly=True,
        copy=False,
        groups="base.group_user",
    )
    credit_override_date = fields.Datetime(
        string="Credit Hold Overridden On", readonly=True, copy=False, groups="base.group_user"
    )
    credit_override_reason = fields.Text(readonly=True, copy=False, groups="base.group_user")

    # ------------------------------------------------------------------
    # Compute
    # ------------------------------------------------------------------

    @api.depends(
        "state",
        "partner_id",
        "picking_type_id",
        "location_dest_id",
        "company_id",
        "credit_override_user_id",
        "sale_id",
        "move_ids.sale_line_id",
        "move_ids.location_dest_id",
    )
    def _compute_credit_hold(self):
        held = self._credit_held_deliveries()
        for picking in self:
            snapshot = held.get(picking)
            picking.credit_hold_blocked = bool(snapshot)
            picking.credit_hold_reasons = (
                picking._credit_hold_details(snapshot) if snapshot else False
            )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def write(self, vals):
        if vals.get("state") == "done" or vals.get("date_done"):
            # Marking a delivery done by hand delivers it as surely as validating it.
            self._credit_check_deliveries()
        return super().write(vals)

    def _credit_guarded_fields(self):
        return {**super()._credit_guarded_fields(), **dict.fromkeys(OVERRIDE_FIELDS, SYSTEM)}

    def _credit_guard_hint(self):
        return self.env._(
            'A credit hold on a delivery is overridden by a credit manager with "Validate '
            'Despite Hold", never by writing the delivery.'
        )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def button_validate(self):
        # Refused before any backorder wizard is shown; the moves check again when
        # they are done, whatever the path.
        self._credit_check_deliveries()
        return super().button_validate()

    def action_open_credit_override(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Validate Despite Credit Hold"),
            "res_model": "credit.delivery.override.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_picking_id": self.id},
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _credit_deliveries_to_check(self):
        """Deliveries the credit rules apply to, not yet done: transfers carrying
        goods of a sales order out of the company's stock, to any location that is
        not internal (a customer, a transit location...), whatever the picking's
        partner and type say; and outgoing transfers to a customer location without
        a sales order. Returns, receipts and internal transfers never are."""
        return self.filtered(
            lambda picking: (
                picking.state not in ("done", "cancel")
                and (
                    picking._credit_leaves_stock()
                    if picking._credit_orders()
                    else (
                        picking.picking_type_code == "outgoing"
                        and picking.location_dest_id.usage == "customer"
                        and picking.partner_id
                    )
                )
            )
        )

    def _credit_leaves_stock(self):
        """Whether the transfer takes goods to a location that is not internal,
        by its own destination, its moves' or its move lines'. Dropshipments (from
        the vendor, goods the company never held) do not."""
        self.ensure_one()
        # sudo: every move and location counts, whoever validates the transfer.
        picking = self.sudo()
        destinations = (
            picking.location_dest_id
            | picking.move_ids.location_dest_id
            | picking.move_line_ids.location_dest_id
        )
        sources = (
            picking.location_id | picking.move_ids.location_id | picking.move_line_ids.location_id
        )
        return any(location.usage != "internal" for location in destinations) and any(
            location.usage != "supplier" for location in sources
        )

    def _credit_orders(self):
        """The sales orders whose goods the transfer carries: its order and those of
        its moves and move lines, which no edit of the picking (partner, type,
        locations, moves moved to another picking) detaches from them."""
        self.ensure_one()
        # Warehouse users validate deliveries of orders that record rules may hide
        # from them: the decision binds to the orders, not to who validates.
        picking = self.sudo()
        return (
            picking.sale_id
            | picking.move_ids.sale_line_id.order_id
            | picking.move_line_ids.move_id.sale_line_id.order_id
        )

    def _credit_order(self):
        """The sales order of the delivery, whose approvals decide."""
        self.ensure_one()
        return self._credit_orders()[:1]

    def _credit_checked_partners(self):
        """Commercial entities whose credit the delivery engages: those its sales
        orders engage (invoiced and ordering customers), else the delivery's."""
        self.ensure_one()
        orders = self._credit_orders()
        if orders:
            return self.env["res.partner"].union(
                *(order._credit_checked_partners() for order in orders)
            )
        return self.partner_id.commercial_partner_id

    def _credit_held_deliveries(self):
        """{delivery: snapshot} of the deliveries in self that credit holds now.

        The customer's status as its Credit tab shows it, decided by the hold rules
        of credit_collections (the order of the delivery is part of its exposure
        already), unless a credit manager overrode the hold on this delivery or its
        sales order has a credit approval still valid for the order's amount.
        """
        # sudo: an override recorded by a credit manager counts, whoever validates.
        deliveries = self._credit_deliveries_to_check().filtered(
            lambda picking: not picking.sudo().credit_override_user_id
        )
        verdicts = self.env["credit.exposure"]._check_documents(deliveries, cumulative=False)
        return {
            picking: snapshot
            for picking, snapshot in verdicts.items()
            if snapshot["status"] == "blocked"
        }

    # ------------------------------------------------------------------
    # Hooks of the document credit check (see credit.exposure._check_documents)
    # ------------------------------------------------------------------

    def _credit_check_partners(self):
        return self._credit_checked_partners()

    def _credit_check_amounts(self):
        # What a delivery engages is its order's, counted in the exposure already.
        return {}

    def _credit_check_exclusions(self):
        return {}

    def _credit_check_paid_in_advance(self):
        # An order paid online in full granted no credit: as at its confirmation,
        # only the rules that do not depend on amounts hold its delivery.
        order = self._credit_order()
        return bool(order) and order._credit_is_paid_in_advance()

    def _credit_check_approvals(self):
        # sudo: the approvals of the orders decide, whoever validates (see _credit_orders).
        orders = (
            self.env["sale.order"].sudo().union(*(picking._credit_orders() for picking in self))
        )
        approvals = orders._credit_valid_approvals() if orders else {}
        # An approval covers its own order: every order of the delivery needs one.
        return {
            picking: self.env._(
                "Credit exceptions approved for the orders of %(picking)s.", picking=picking.name
            )
            for picking in self
            if picking._credit_orders()
            and all(order in approvals for order in picking._credit_orders())
        }

    def _credit_check_advice(self):
        """A delivery's own ways out: no approval request nor change of the order
        from a delivery, a credit manager validates it despite the hold."""
        return (
            {
                "_rule_cash_only": self.env._("get the order paid"),
                "_rule_over_limit": self.env._("get open invoices paid to free credit"),
            },
            self.env._(
                'ask a credit manager to validate the delivery with "Validate Despite Hold"'
            ),
        )

    def _credit_check_deliveries(self):
        """Refuse the deliveries in self that credit holds, naming every one."""
        held = self._credit_held_deliveries()
        if held:
            raise UserError(
                "\n\n".join(
                    picking._credit_block_message(held[picking])
                    for picking in self
                    if picking in held
                )
            )

    def _credit_hold_details(self, snapshot):
        self.ensure_one()
        engine = self.env["credit.exposure"]
        reasons = engine._blocking_reasons_text(snapshot)
        return f"{reasons}\n{engine._exposure_summary(snapshot)}"

    def _credit_block_message(self, snapshot):
        self.ensure_one()
        return self.env._(
            "Delivery %(picking)s cannot be validated: customer %(partner)s is blocked for "
            "credit.\n%(details)s\n%(advice)s",
            picking=self.name,
            partner=snapshot["partner"].display_name,
            details=self._credit_hold_details(snapshot),
            advice=self.env["credit.exposure"]._get_document_advice(
                self, snapshot["blocking_rules"]
            ),
        )

    def _credit_override_and_validate(self, reason):
        """A credit manager lets a held delivery go: the decision is recorded on the
        delivery and logged on it, its order and its customer; the delivery is then
        validated when the manager may validate transfers (else by the warehouse)."""
        self.ensure_one()
        self._credit_check_override_segregation()
        snapshot = self._credit_held_deliveries().get(self)
        if not snapshot:
            raise UserError(
                self.env._(
                    "Delivery %(picking)s is not held for credit: validate it as usual.",
                    picking=self.name,
                )
            )
        # The override fields are the decision's only (see OVERRIDE_FIELDS).
        self.sudo().write(
            {
                "credit_override_user_id": self.env.user.id,
                "credit_override_date": fields.Datetime.now(),
                "credit_override_reason": reason,
            }
        )
        body = self.env._(
            "Credit hold overridden by %(user)s for delivery %(picking)s.\n"
            "Why: %(reason)s\nReasons of the hold:\n%(details)s",
            user=self.env.user.name,
            picking=self.name,
            reason=reason,
            details=self._credit_hold_details(snapshot),
        )
        self._credit_log_override(body)
        if not self.env.user.has_group("stock.group_stock_user"):
            return {"type": "ir.actions.act_window_close"}
        result = self.button_validate()
        return result if isinstance(result, dict) else {"type": "ir.actions.act_window_close"}

    def _credit_check_override_segregation(self):
        """A credit manager overrides, and under segregation of duties not one who
        sold, created or asked an approval for its order (credit.decision.mixin)."""
        self.ensure_one()
        order = self._credit_order()
        self.env["credit.decision.mixin"]._credit_check_decider(
            self.company_id,
            order._credit_interested_users() if order else self.env["res.users"],
            self.env._(
                "Segregation of duties: %(picking)s delivers your own order %(order)s, so you "
                "cannot validate it despite its credit hold. Another credit manager must decide.",
                picking=self.name,
                order=order.name,
            ),
        )

    def _credit_log_override(self, body):
        """Log the override on the delivery, its sales order and its customers."""
        self.ensure_one()
        # The log is part of the decision the credit manager is entitled to take, on
        # documents they may not edit (the delivery, another salesperson's order).
        author = self.env.user.partner_id.id
        self.sudo().message_post(body=body, subtype_xmlid="mail.mt_note", author_id=author)
        order = self._credit_order()
        if order:
            order.message_post(body=body, subtype_xmlid="mail.mt_note", author_id=author)
        for partner in self._credit_checked_partners():
            partner.sudo()._message_log(body=body)
