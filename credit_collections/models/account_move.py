from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount


class AccountMove(models.Model):
    _inherit = "account.move"

    followup_excluded = fields.Boolean(
        string="Excluded from Follow-ups",
        compute="_compute_followup_excluded",
        inverse="_inverse_followup_excluded",
        search="_search_followup_excluded",
        help="Disputed or in litigation: its receivable items are never chased and do "
        "not count for the overdue credit hold.",
        groups="base.group_user",
    )
    followup_exclusion_reason = fields.Char(
        string="Exclusion Reason",
        compute="_compute_followup_excluded",
        inverse="_inverse_followup_excluded",
        groups="base.group_user",
    )

    @api.depends("line_ids.followup_excluded", "line_ids.followup_exclusion_reason")
    def _compute_followup_excluded(self):
        for move in self:
            receivables = move.line_ids.filtered(
                lambda line: line.account_type == "asset_receivable"
            )
            move.followup_excluded = bool(receivables) and all(
                receivables.mapped("followup_excluded")
            )
            move.followup_exclusion_reason = receivables[:1].followup_exclusion_reason

    def _inverse_followup_excluded(self):
        for move in self:
            move.line_ids.filtered(lambda line: line.account_type == "asset_receivable").write(
                {
                    "followup_excluded": move.followup_excluded,
                    "followup_exclusion_reason": move.followup_exclusion_reason
                    if move.followup_excluded
                    else False,
                }
            )

    def _search_followup_excluded(self, operator, value):
        if operator not in ("=", "!="):
            raise NotImplementedError(self.env._("Unsupported search on follow-up exclusion."))
        excluded = (operator == "=") == bool(value)
        lines = [("account_type", "=", "asset_receivable"), ("followup_excluded", "=", True)]
        return [("line_ids", "any" if excluded else "not any", lines)]

    def _post(self, soft=True):
        self._credit_check_invoices_before_posting()
        return super()._post(soft=soft)

    def _credit_check_invoices_before_posting(self):
        """Apply the credit rules to customer invoices that no sales order checked."""
        invoices = self.filtered(
            lambda move: (
                move.move_type == "out_invoice"
                and move.state == "draft"
                and move.company_id.credit_check_invoices
                and not move.line_ids.sale_line_ids
            )
        )
        if not invoices:
            return
        is_manager = self.env.user.has_group("credit_collections.group_credit_manager")
        blocked_messages = []
        for company, company_invoices in invoices.grouped("company_id").items():
            engine = self.env["credit.exposure"]
            partners = company_invoices.commercial_partner_id
            engine._lock_partners(partners)
            amounts = {}
            for invoice in company_invoices:
                partner_id = invoice.commercial_partner_id.id
                amounts[partner_id] = amounts.get(partner_id, 0.0) + invoice.amount_total_signed
            # Draft invoices count in exposure: these ones count as the amount checked.
            snapshots = engine._get_snapshots(
                partners,
                company,
                orders_amounts=amounts,
                exclude_moves=company_invoices.ids,
            )
            for invoice in company_invoices:
                snapshot = snapshots[invoice.commercial_partner_id.id]
                if snapshot["status"] != "blocked":
                    continue
                reasons = "\n".join(f"- {reason}" for reason in snapshot["blocking_reasons"])
                if is_manager:
                    invoice.message_post(
                        body=self.env._(
                            "Posted by credit manager %(user)s despite the credit hold:\n"
                            "%(reasons)s",
                            user=self.env.user.name,
                            reasons=reasons,
                        )
                    )
                    continue
                blocked_messages.append(
                    self.env._(
                        "Invoice for %(partner)s (%(amount)s) cannot be posted: the customer "
                        "is blocked for credit.\n%(reasons)s",
                        partner=snapshot["partner"].display_name,
                        amount=format_amount(self.env, invoice.amount_total, invoice.currency_id),
                        reasons=reasons,
                    )
                )
        if blocked_messages:
            raise UserError(
                "\n\n".join(blocked_messages)
                + "\n\n"
                + self.env._("What to do: ask a credit manager to post it or to lift the hold.")
            )
