import logging

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, format_amount

from .account_move_line import FOLLOWUP_EXCLUSION_FIELDS
from .credit_guarded_mixin import SYSTEM

_logger = logging.getLogger(__name__)

# Invoices the addon issues itself for its charges. Each charge is decided by a
# rule the customer agreed to (a follow-up level's fee, late interest, a plan's
# fee): the credit check on posting lets them through, whoever runs it.
CHARGE_TYPES = [
    ("fee", "Dunning Fee"),
    ("interest", "Late Interest"),
    ("plan", "Installment Plan Charge"),
]


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "credit.guarded.mixin"]

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

    credit_charge_type = fields.Selection(
        selection=CHARGE_TYPES,
        string="Charge",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="Set on the invoices Credit & Collections issues for its charges.",
    )

    credit_installment_plan_id = fields.Many2one(
        "credit.installment.plan",
        string="Installment Plan Entry Of",
        readonly=True,
        copy=False,
        index="btree_not_null",
        groups="base.group_user",
        check_company=True,
    )
    credit_rescheduled_plan_id = fields.Many2one(
        "credit.installment.plan",
        string="Rescheduled Into",
        compute="_compute_credit_rescheduled_plan_id",
        groups="credit_collections.group_credit_user,account.group_account_invoice",
        help="The installment plan whose entry settled this invoice: not a payment.",
    )

    def _compute_credit_rescheduled_plan_id(self):
        plans = self.env["credit.installment.plan"].search(
            [
                ("source_line_ids", "in", self.line_ids.ids),
                ("state", "in", ("active", "done", "defaulted", "cancelled")),
            ],
            order="id desc",
        )
        for move in self:
            move.credit_rescheduled_plan_id = plans.filtered(
                lambda plan, move=move: plan.source_line_ids.move_id & move
            )[:1]

    def action_credit_installment_plan(self):
        """A new installment plan rescheduling these invoices' open amounts."""
        return self.env["credit.installment.plan"]._action_new_for_items(
            self.line_ids.filtered(lambda line: line.account_id.account_type == "asset_receivable")
        )

    # An interest invoice refers to the invoices it charges for (with Odoo's
    # debit-note module, also by its "Original Invoice Debited" when there is one).
    credit_interest_source_ids = fields.Many2many(
        "account.move",
        "credit_interest_invoice_source_rel",
        "interest_move_id",
        "source_move_id",
        string="Late Interest For",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="The invoices whose late payment this invoice charges.",
        check_company=True,
    )
    credit_interest_invoice_ids = fields.Many2many(
        "account.move",
        "credit_interest_invoice_source_rel",
        "source_move_id",
        "interest_move_id",
        string="Late Interest Invoices",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="The invoices that charged late interest or compensation on this one.",
        check_company=True,
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

    def _credit_guarded_fields(self):
        """The charge mark lets an invoice past the credit check, and the links to
        a plan and to the invoices charged for are its bookkeeping: only
        Credit & Collections sets them (a plan whose entry lost its link cannot be
        cancelled)."""
        return {
            **super()._credit_guarded_fields(),
            "credit_charge_type": SYSTEM,
            "credit_installment_plan_id": SYSTEM,
            "credit_interest_source_ids": SYSTEM,
            "credit_interest_invoice_ids": SYSTEM,
        }

    def write(self, vals):
        if not self.env.su and vals and set(vals) <= FOLLOWUP_EXCLUSION_FIELDS:
            # Typed on the invoice, carried by its receivable items: what a
            # collector, who may not edit invoices, decides (see
            # account.move.line._followup_write_exclusion).
            self.check_access("read")
            for move in self:
                excluded = bool(vals.get("followup_excluded", move.followup_excluded))
                reason = vals.get("followup_exclusion_reason", move.followup_exclusion_reason)
                move.line_ids.filtered(
                    lambda line: line.account_type == "asset_receivable"
                )._followup_write_exclusion(
                    {
                        "followup_excluded": excluded,
                        "followup_exclusion_reason": excluded and reason,
                    }
                )
            return True
        return super().write(vals)

    def _credit_guard_hint(self):
        return self.env._(
            "Credit & Collections marks the invoices it issues for its charges (fees, "
            "interest, installment plans) and links them itself."
        )

    @api.model
    def _credit_create_charge_invoices(self, charge_type, vals_list, post=True):
        """Issue customer invoices for the addon's charges: the one way fees,
        interest and plan charges are invoiced.

        :param charge_type: a key of CHARGE_TYPES
        :param vals_list: account.move values of each invoice
        :param post: post them (else left in draft for review)
        :return: the invoices, as superuser
        """
        # Charges are issued by the follow-ups, the interest run or a plan, for
        # whoever triggers them: a collector may not create invoices otherwise.
        invoices = self.sudo().create(
            [
                dict(vals, move_type="out_invoice", credit_charge_type=charge_type)
                for vals in vals_list
            ]
        )
        if post:
            invoices.action_post()
        return invoices

    def _credit_ensure_portal_tokens(self):
        """Give the moves their portal token ("Pay now" links), as
        ``_portal_ensure_token`` does, but in one query for the batch: that method
        writes each move through ``account.move.write`` (its balance and
        synchronisation checks, and ``is_manually_modified``): 256 queries for 50
        invoices, against 1 here."""
        self.flush_recordset(["access_token"])
        self.env.cr.execute(
            SQL(
                "UPDATE account_move SET access_token = gen_random_uuid()::text "
                "WHERE id = ANY(%s) AND access_token IS NULL",
                self.ids,
            )
        )
        self.invalidate_recordset(["access_token"])

    def _credit_ensure_pdf_reports(self):
        """Give the posted customer invoices that have none yet their PDF, the way
        Send & Print makes and keeps it (``account.move.send``): the partner's
        invoice layout, the electronic invoice of their format embedded or
        attached, the PDF kept as the invoice's main attachment. A follow-up then
        sends the very document Odoo would send, and Send & Print later reuses it
        rather than printing a second one.

        The invoices of a company are printed together, as Send & Print does; when
        that fails (wkhtmltopdf cannot tell them apart), one by one.

        :raise UserError: an invoice could not be printed (which one, and why);
            nothing is kept then
        """
        to_print = self.filtered(
            lambda move: (
                move.state == "posted"
                and move.is_sale_document()
                and not move.invoice_pdf_report_id
            )
        )
        together = self.env["ir.actions.report"]._credit_prints_together()
        for invoices in to_print.grouped("company_id").values():
            if together and len(invoices) > 1:
                try:
                    with self.env.cr.savepoint():
                        invoices._credit_generate_invoice_documents()
                    continue
                except psycopg2.Error:
                    raise
                except Exception:
                    _logger.info(
                        "Printing %s invoices in one run failed, printing them one by one",
                        len(invoices),
                        exc_info=True,
                    )
            for invoice in invoices:
                invoice._credit_generate_invoice_documents()

    def _credit_generate_invoice_documents(self):
        """Send & Print's documents of these invoices of one company, without
        sending them: the follow-up that asks for them sends them."""
        sender = self.env["account.move.send"].with_company(self.company_id)
        try:
            # Send & Print's own entry point ("Download": documents, no email).
            sender._generate_and_send_invoices(self, allow_raising=True, sending_methods={"manual"})
        except psycopg2.Error:
            raise
        except Exception as error:
            raise UserError(
                self.env._(
                    "The PDF of %(invoices)s could not be made: %(error)s\n"
                    "Print it from the invoice (Send & Print) to see the problem, then "
                    "try again.",
                    invoices=", ".join(self.mapped("display_name")),
                    error=str(error),
                )
            ) from error

    def _credit_late_payment_terms(self):
        """What a late payment of this customer invoice costs, as printed on it
        when the company says so: "" when nothing is charged."""
        self.ensure_one()
        company = self.company_id
        rate, compensation = self._credit_late_payment_charges()
        amount = format_amount(
            self.env,
            compensation,
            company.credit_interest_compensation_currency_id or company.currency_id,
        )
        # Formatted outside the translated calls: the terms extractor reads their
        # arguments as literals.
        rate_text = f"{rate:g}"
        if rate and compensation:
            terms = self.env._(
                "Late payments bear interest at %(rate)s %% a year and a fixed compensation "
                "of %(amount)s per late invoice.",
                rate=rate_text,
                amount=amount,
            )
        elif rate:
            terms = self.env._("Late payments bear interest at %(rate)s %% a year.", rate=rate_text)
        elif compensation:
            terms = self.env._(
                "Late payments bear a fixed compensation of %(amount)s per late invoice.",
                amount=amount,
            )
        else:
            return ""
        if rate and company.credit_interest_grace_days:
            terms += " " + self.env._(
                "Interest runs from %(days)s days after the due date.",
                days=company.credit_interest_grace_days,
            )
        return terms

    def _credit_late_payment_charges(self):
        """(yearly rate, compensation in the compensation currency) a late payment
        of this customer invoice would cost, as its terms print them: (0.0, 0.0)
        when the company prints no terms or charges nothing for it."""
        self.ensure_one()
        company = self.company_id
        partner = self.commercial_partner_id.with_company(company)
        term = self.invoice_payment_term_id
        if (
            self.move_type != "out_invoice"
            or self.credit_charge_type
            or not company.credit_interest_enabled
            or not company.credit_interest_print_terms
            or partner.credit_interest_exempt
            or term.credit_interest_rule == "none"
        ):
            return 0.0, 0.0
        day = self.invoice_date or fields.Date.context_today(self)
        # Whoever prints the invoice (a salesperson, the portal customer) is told
        # the rate, though only credit users read the rate table.
        rate = self.env["credit.interest.rate"].sudo()._get_rate_today(company, partner, term, day)
        compensation_currency = company.credit_interest_compensation_currency_id or (
            company.currency_id
        )
        # The band of this invoice's size (UK Act), else the single amount.
        compensation = (
            self.env["credit.interest.compensation"]
            .sudo()
            ._get_amount(
                company,
                self.currency_id._convert(self.amount_total, compensation_currency, company, day),
            )
        )
        if company.credit_interest_compensation_companies_only and not partner.is_company:
            compensation = 0.0
        return rate, compensation

    def _post(self, soft=True):
        self._credit_check_invoices_before_posting()
        return super()._post(soft=soft)

    def button_draft(self):
        cancelled_interest = self.filtered(
            lambda move: move.credit_charge_type == "interest" and move.state == "cancel"
        )
        if cancelled_interest:
            self.env["credit.interest.accrual"]._check_reinstate(cancelled_interest)
        return super().button_draft()

    def _credit_check_invoices_before_posting(self):
        """Apply the credit rules to customer invoices that no sales order checked."""
        invoices = self.filtered(
            lambda move: (
                move.move_type == "out_invoice"
                and move.state == "draft"
                and not move.credit_charge_type
                and move.company_id.credit_check_invoices
                and not move.line_ids.sale_line_ids
            )
        )
        if not invoices:
            return
        engine = self.env["credit.exposure"]
        engine._lock_partners(invoices.commercial_partner_id)
        # Invoices posted together stand or fall together: each is checked with
        # all those of its customer.
        verdicts = engine._check_documents(invoices, together=True)
        blocked = invoices.filtered(lambda invoice: verdicts[invoice]["status"] == "blocked")
        if not blocked:
            return
        if self.env["credit.decision.mixin"]._credit_is_manager():
            for invoice in blocked:
                invoice.message_post(
                    body=self.env._(
                        "Posted by credit manager %(user)s despite the credit hold:\n%(reasons)s",
                        user=self.env.user.name,
                        reasons=engine._blocking_reasons_text(verdicts[invoice]),
                    )
                )
            return
        raise UserError(
            "\n\n".join(invoice._credit_block_message(verdicts[invoice]) for invoice in blocked)
            + "\n\n"
            + self.env._("What to do: ask a credit manager to post it or to lift the hold.")
        )

    def _credit_block_message(self, snapshot):
        self.ensure_one()
        return self.env._(
            "Invoice for %(partner)s (%(amount)s) cannot be posted: the customer "
            "is blocked for credit.\n%(reasons)s",
            partner=snapshot["partner"].display_name,
            amount=format_amount(self.env, self.amount_total, self.currency_id),
            reasons=self.env["credit.exposure"]._blocking_reasons_text(snapshot),
        )

    # ------------------------------------------------------------------
    # Hooks of the document credit check (see credit.exposure._check_documents)
    # ------------------------------------------------------------------

    def _credit_check_partners(self):
        return self.commercial_partner_id

    def _credit_check_amounts(self):
        # Draft invoices count in exposure: these ones count as the amount checked.
        return {move.id: (move.amount_total_signed, move.company_currency_id) for move in self}

    def _credit_check_exclusions(self):
        return {"exclude_moves": self.ids}

    def _credit_check_paid_in_advance(self):
        return False

    def _credit_check_approvals(self):
        return {}

    def _credit_check_advice(self):
        return {}, self.env._("ask a credit manager to post it or to lift the hold")
