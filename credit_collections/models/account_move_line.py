from odoo import fields, models
from odoo.exceptions import AccessError, ValidationError
from odoo.tools import SQL


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    # ------------------------------------------------------------------
    # Fields
    # ------------------------------------------------------------------

    followup_excluded = fields.Boolean(
        string="Excluded from Follow-ups",
        copy=False,
        index="btree_not_null",
        help="Disputed or in litigation: never chased, and not counted by the overdue credit hold.",
        groups="base.group_user",
    )
    followup_exclusion_reason = fields.Char(
        string="Exclusion Reason", copy=False, groups="base.group_user"
    )
    followup_level_id = fields.Many2one(
        "credit.followup.level",
        string="Follow-up Level",
        copy=False,
        readonly=True,
        groups="base.group_user",
    )
    followup_date = fields.Date(
        string="Last Follow-up", copy=False, readonly=True, groups="base.group_user"
    )

    def init(self):
        result = super().init()
        # Every credit and follow-up figure sums a customer's open receivable items.
        # Odoo's indexes on partner_id also hold the customer's settled items and the
        # lines of its invoices (several times the open items): this one holds only
        # open items with a residual, and the columns the sums read, so that they
        # are read from the index alone.
        self.env.cr.execute(
            SQL(
                """
                CREATE INDEX IF NOT EXISTS account_move_line_credit_open_items_idx
                    ON account_move_line (partner_id)
                    INCLUDE (account_id, company_id, amount_residual, date_maturity,
                             followup_excluded)
                 WHERE parent_state = 'posted' AND NOT reconciled AND amount_residual <> 0
                """
            )
        )
        return result

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    def write(self, vals):
        if not self.env.su:
            self._followup_check_write_access(set(vals))
        if "followup_excluded" not in vals:
            return super().write(vals)
        changed = self.filtered(
            lambda line: line.followup_excluded != bool(vals["followup_excluded"])
        )
        result = super().write(vals)
        changed._followup_log_exclusion()
        return result

    def _followup_check_write_access(self, field_names):
        if field_names & {"followup_level_id", "followup_date"}:
            raise AccessError(
                self.env._(
                    "The follow-up level and date of a journal item are recorded by the "
                    "follow-ups themselves."
                )
            )
        if field_names & {"followup_excluded", "followup_exclusion_reason"} and not (
            self.env.user.has_group("credit_collections.group_credit_user")
        ):
            raise AccessError(
                self.env._(
                    "Only collectors can exclude items from follow-ups or follow them up "
                    "again. Ask a collector."
                )
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_followup_exclude(self):
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Exclude from Follow-ups"),
            "res_model": "credit.followup.exclude.wizard",
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_line_ids": self.ids},
        }

    # ------------------------------------------------------------------
    # Business methods
    # ------------------------------------------------------------------

    def _followup_exclude(self, reason):
        """Leave the items out of follow-ups (disputed, in litigation) for a reason."""
        if not (reason or "").strip():
            raise ValidationError(
                self.env._("Exclusion Reason: say why these items are not followed up.")
            )
        self.write({"followup_excluded": True, "followup_exclusion_reason": reason})

    def _followup_log_exclusion(self):
        """Log on the invoices and their customers that items were left out of
        follow-ups, or followed up again."""
        for move in self.move_id:
            lines = self.filtered(lambda line, move=move: line.move_id == move)
            excluded = lines.filtered("followup_excluded")
            if excluded:
                body = self.env._(
                    "Excluded from follow-ups: %(reason)s",
                    reason=excluded[0].followup_exclusion_reason or "",
                )
            else:
                body = self.env._("Followed up again.")
            move.message_post(body=body, subtype_xmlid="mail.mt_note")
            partner = move.commercial_partner_id or lines.partner_id.commercial_partner_id[:1]
            if partner:
                body = self.env._(
                    "%(document)s: %(change)s", document=move.display_name, change=body
                )
                # The customer's follow-up log is kept also by those who cannot edit it.
                partner.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")
