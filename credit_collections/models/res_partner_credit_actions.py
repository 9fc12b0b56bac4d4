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
        """What changed, one line each ("Credit Limit: $ 5,000.00 → $ 8,000.00"),
        naming the company when the user works in several (the settings are the
        company's), then the reason."""
        self.ensure_one()
        company = self.env.company
        several = len(self.env.user.company_ids) > 1
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
                old_text = format_amount(self.env, old, company.currency_id)
                new_text = format_amount(self.env, new, company.currency_id)
            if several:
                lines.append(
                    self.env._(
                        "%(field)s: %(old)s → %(new)s (%(company)s)",
                        field=label,
                        old=old_text,
                        new=new_text,
                        company=company.display_name,
                    )
                )
            else:
                lines.append(
                    self.env._(
                        "%(field)s: %(old)s → %(new)s", field=label, old=old_text, new=new_text
                    )
                )
        if not lines:
            return False
        reason = reason or (self.credit_hold_reason if "credit_hold" in old_values else "")
        body = "\n".join(lines)
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
        """The customer's open (or overdue) receivable items with what is left to
        pay on each (Amount Due, summed as the Credit tab's figure is), those the
        user may read: a salesperson reads the items of the invoices Sales lets
        them read, and is told how much of the figure is on the others."""
        self.ensure_one()
        Line = self.env["account.move.line"]
        partner = self.commercial_partner_id
        domain = self._credit_open_items_domain(overdue)
        title = self.env._("Overdue Items") if overdue else self.env._("Open Receivables")
        # sudo: the whole figure, as the tab shows it, to tell what the user cannot open.
        [[total]] = Line.sudo()._read_group(domain, [], ["amount_residual:sum"])
        # As the user: the record rules of Sales leave a salesperson their invoices.
        [[shown, count]] = Line._read_group(domain, [], ["amount_residual:sum", "__count"])
        currency = self.env.company.currency_id
        hidden = currency.round((total or 0.0) - (shown or 0.0))
        if not count and not currency.is_zero(total or 0.0):
            # An empty list would show sample rows under a figure that is not 0.
            return self._credit_items_notification(
                title,
                self.env._(
                    "The invoices of %(partner)s behind this figure are not yours to "
                    "open: ask a collector or a credit manager which ones they are.",
                    partner=partner.display_name,
                ),
            )
        action = {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": "account.move.line",
            "view_mode": "list",
            "views": [
                (self.env.ref("credit_collections.view_move_line_credit_items_list").id, "list")
            ],
            "domain": domain,
            "context": {"create": False},
        }
        if currency.is_zero(hidden):
            return action
        return self._credit_items_notification(
            title,
            self.env._(
                "%(hidden)s of this figure is on invoices of %(partner)s that are not yours "
                "to open: the list shows the others. Ask a collector or a credit manager "
                "about the rest.",
                hidden=format_amount(self.env, hidden, currency),
                partner=partner.display_name,
            ),
            next_action=action,
        )

    def _credit_items_notification(self, title, message, next_action=None):
        params = {"type": "warning", "title": title, "message": message, "sticky": False}
        if next_action:
            params["next"] = next_action
        return {"type": "ir.actions.client", "tag": "display_notification", "params": params}

    def _credit_open_items_domain(self, overdue):
        # The items the credit figures of the customer sum (see credit.exposure:
        # the companies its limit covers), disputed ones included.
        Line = self.env["account.move.line"]
        companies = self.env["credit.exposure"]._exposure_companies(self.env.company)
        domain = [
            *Line._open_receivable_domain(companies),
            ("partner_id.commercial_partner_id", "=", self.commercial_partner_id.id),
        ]
        if overdue:
            domain += Line._overdue_domain()
        return domain

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
