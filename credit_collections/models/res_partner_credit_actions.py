# Split from res_partner.py by responsibility, to keep files readable.
# pylint: disable=consider-merging-classes-inherited
from odoo import models
from odoo.tools import format_amount, plaintext2html


class ResPartner(models.Model):
    """Credit settings decided on customers (logged with their reason) and the
    customer's credit buttons: its open and overdue items, orders, drafts,
    approvals and a new installment plan."""

    _inherit = "res.partner"

    def _credit_set_limit(self, limit, reason):
        """Give the customers their own credit limit in the current company, the
        change logged with its reason (credit managers only)."""
        return self._credit_write_settings(
            {"credit_limit": limit, "use_partner_credit_limit": True}, reason
        )

    def _credit_log_changes(self, old_values, reason=False):
        """Post who changed which credit setting, from what to what, and why: one
        note per customer, all created at once.

        :param old_values: {partner id: {field name: value before}}
        :param reason: why the credit manager changed them
        """
        bodies = {}
        for partner in self:
            body = partner._credit_change_note(old_values[partner.id], reason)
            if body:
                bodies[partner.id] = body
        if bodies:
            self.browse(bodies)._message_log_batch(bodies=bodies)

    def _credit_change_note(self, old_values, reason=False):
        self.ensure_one()
        lines = []
        for name, old in old_values.items():
            new = self[name]
            if old == new:
                continue
            field = self._fields[name]
            label = field.get_description(self.env)["string"]
            if field.type == "boolean":
                old_text = self.env._("Yes") if old else self.env._("No")
                new_text = self.env._("Yes") if new else self.env._("No")
            else:
                old_text = format_amount(self.env, old, self.env.company.currency_id)
                new_text = format_amount(self.env, new, self.env.company.currency_id)
            lines.append(
                self.env._("%(field)s: %(old)s → %(new)s", field=label, old=old_text, new=new_text)
            )
        if not lines:
            return False
        reason = reason or (self.credit_hold_reason if "credit_hold" in old_values else "")
        body = self.env._(
            "Credit settings changed for %(company)s:\n%(changes)s",
            company=self.env.company.display_name,
            changes="\n".join(lines),
        )
        if reason:
            body += "\n" + self.env._("Reason: %(reason)s", reason=reason)
        return plaintext2html(body)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_credit_installment_plan(self):
        """A new installment plan rescheduling the customer's overdue items in the
        current company."""
        self.ensure_one()
        company = self.env.company
        items = self.env["account.move.line"].search(
            [
                *self.env["account.move.line"]._chased_receivable_domain(company),
                ("partner_id", "child_of", self.commercial_partner_id.id),
                *self.env["account.move.line"]._overdue_domain(),
            ]
        )
        return self.env["credit.installment.plan"]._action_new_for_items(items)

    def action_view_credit_approvals(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "credit_collections.action_credit_approval_request"
        )
        action["domain"] = [("partner_id", "=", self.commercial_partner_id.id)]
        action["context"] = {"default_partner_id": self.commercial_partner_id.id}
        return action

    def action_view_credit_receivables(self):
        return self._credit_items_action(overdue=False)

    def action_view_credit_overdue(self):
        return self._credit_items_action(overdue=True)

    def _credit_items_action(self, overdue):
        """The customer's open (or overdue) items; for users without accounting
        rights (salespeople), the customer invoices holding them that they may read."""
        self.ensure_one()
        user = self.env.user
        if user.has_group("account.group_account_readonly") or user.has_group(
            "account.group_account_invoice"
        ):
            return self._credit_open_items_action(overdue)
        return self._credit_invoices_action(overdue)

    def _credit_open_items_domain(self, overdue):
        # The items the credit figures of the customer sum (see credit.exposure),
        # disputed ones included.
        Line = self.env["account.move.line"]
        domain = [
            *Line._open_receivable_domain(self.env.company),
            ("partner_id", "child_of", self.commercial_partner_id.id),
        ]
        if overdue:
            domain += Line._overdue_domain()
        return domain

    def _credit_open_items_action(self, overdue):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Overdue Items") if overdue else self.env._("Open Receivables"),
            "res_model": "account.move.line",
            "view_mode": "list,form",
            "views": [(self.env.ref("account.view_move_line_tree").id, "list"), (False, "form")],
            "domain": self._credit_open_items_domain(overdue),
            "context": {"search_default_group_by_move": 0},
        }

    def _credit_invoices_action(self, overdue):
        """The customer invoices and credit notes holding the items, read-only (Sales
        gives salespeople read access only)."""
        self.ensure_one()
        # Searched as the user: the record rules of Sales leave the invoices of the
        # customer they may read (all, or their own).
        invoices = (
            self.env["account.move.line"]
            .search(
                [
                    *self._credit_open_items_domain(overdue),
                    ("move_id.move_type", "in", ("out_invoice", "out_refund")),
                ]
            )
            .move_id
        )
        title = self.env._("Overdue Invoices") if overdue else self.env._("Open Invoices")
        if not invoices:
            # An empty list would show sample rows under a figure that is not 0.
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "warning",
                    "title": title,
                    "message": self.env._(
                        "The invoices of %(partner)s behind this figure are not yours to "
                        "open: ask a collector or a credit manager which ones they are.",
                        partner=self.commercial_partner_id.display_name,
                    ),
                },
            }
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": "account.move",
            "view_mode": "list,form",
            "views": [
                (self.env.ref("account.view_invoice_tree").id, "list"),
                (self.env.ref("account.view_move_form").id, "form"),
            ],
            "domain": [("id", "in", invoices.ids)],
            "context": {"default_move_type": "out_invoice"},
        }

    def action_view_credit_orders(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Orders To Invoice"),
            "res_model": "sale.order",
            "view_mode": "list,form",
            "domain": [
                ("partner_invoice_id", "child_of", self.commercial_partner_id.id),
                ("company_id", "=", self.env.company.id),
                ("state", "=", "sale"),
                ("invoice_status", "!=", "invoiced"),
            ],
        }

    def action_view_credit_draft_invoices(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Draft Invoices"),
            "res_model": "account.move",
            "view_mode": "list,form",
            "domain": [
                ("commercial_partner_id", "=", self.commercial_partner_id.id),
                ("company_id", "=", self.env.company.id),
                ("state", "=", "draft"),
                ("move_type", "in", ("out_invoice", "out_refund")),
            ],
        }
