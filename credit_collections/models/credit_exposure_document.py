# Split from credit_exposure.py by responsibility: the credit check of documents.
# pylint: disable=consider-merging-classes-inherited
from collections import defaultdict

from odoo import models
from odoo.tools import format_amount


class CreditExposure(models.AbstractModel):
    """The credit check of documents (sales orders, invoices on posting, deliveries
    of the stock bridge): one company loop, one merge of the customers a document
    engages, one way of letting paid-online documents through, one summary and
    one advice. A document model takes part by answering a few hooks:

    - ``_credit_check_partners()`` (one record): the commercial partners whose
      credit the document engages, the main one (invoiced) first;
    - ``_credit_check_amounts()``: {document id: (amount, currency)} of what each
      document engages that the exposure does not count yet (none for a delivery,
      whose order is counted already);
    - ``_credit_check_exclusions()``: {"exclude_orders": ids, "exclude_moves":
      ids} the exposure must not count (the documents themselves);
    - ``_credit_check_paid_in_advance()`` (one record): paid online in full, the
      amount rules do not hold it;
    - ``_credit_check_approvals()`` (the blocked documents): {document: reason}
      of those a decision lets through;
    - ``_credit_check_advice()``: (advice per rule that differs for this kind of
      document, the way out only a credit manager gives, e.g. "Request Credit
      Approval" for an order), so that each refusal names only actions the
      document has.
    """

    _inherit = "credit.exposure"

    def _check_documents(self, documents, cumulative=True, together=False):
        """Credit verdict of each document, as if it went through now.

        :param cumulative: documents of one customer are added up in id order, as
            when they are confirmed together
        :param together: each document is checked with all the documents of its
            customers in the batch (invoices posted together stand or fall
            together)
        :return: {document: snapshot}, with the merged "status", "reasons",
            "blocking_reasons", "blocking_rules" and "blocking_partners"
        """
        result = {}
        if not documents:
            return result
        amounts = documents._credit_check_amounts()
        for company, docs in documents.grouped("company_id").items():
            checked = {doc: doc._credit_check_partners() for doc in docs}
            partners = self.env["res.partner"].union(*checked.values())
            rates = self._currency_rates(
                company, {currency.id for _amount, currency in amounts.values()}
            )
            engaged = {
                doc: amounts[doc.id][0] * rates[amounts[doc.id][1].id] if doc.id in amounts else 0.0
                for doc in docs
            }
            base = self._get_snapshots(partners, company, **docs._credit_check_exclusions())
            running = defaultdict(float)
            if together:
                for doc in docs:
                    for partner in checked[doc]:
                        running[partner.id] += engaged[doc]
            for doc in docs.sorted("id"):
                others = {
                    partner.id: running[partner.id] - (engaged[doc] if together else 0.0)
                    for partner in checked[doc]
                }
                snapshot = self._document_verdict(base, checked[doc], others, engaged[doc])
                paid = snapshot["status"] == "blocked" and doc._credit_check_paid_in_advance()
                if paid:
                    snapshot = self._document_verdict(
                        base, checked[doc], others, engaged[doc], paid=True
                    )
                if cumulative and not together and not paid:
                    for partner in checked[doc]:
                        running[partner.id] += engaged[doc]
                result[doc] = snapshot
        blocked = documents.browse(
            [doc.id for doc, snapshot in result.items() if snapshot["status"] == "blocked"]
        )
        if blocked:
            for doc, reason in blocked._credit_check_approvals().items():
                result[doc]["status"] = "warning"
                result[doc]["reasons"].append(reason)
        return result

    def _document_verdict(self, base, partners, others, amount, paid=False):
        """One verdict for a document engaging amount (company currency) of the
        credit of partners, after the other documents checked with it
        ({partner id: amount})."""
        return self._merge_snapshots(
            [
                self._document_snapshot(base[partner.id], others[partner.id], amount, paid)
                for partner in partners
            ]
        )

    def _document_snapshot(self, base, other_amount, amount, paid=False):
        """Snapshot of one customer as if a document engaging amount went through
        now, after documents worth other_amount. Paid in advance, it engages
        nothing and only the rules that do not depend on amounts hold it."""
        order_amount = 0.0 if paid else amount
        snapshot = dict(
            base,
            order_amount=order_amount,
            other_orders_amount=other_amount,
            exposure=base["exposure_before_order"] + other_amount + order_amount,
            paid_in_advance=paid,
        )
        snapshot.update(self._evaluate(snapshot))
        return snapshot

    def _merge_snapshots(self, snapshots):
        """One verdict for the document: the main customer's snapshot, blocked or
        warned by the other customers' as well, their reasons named after them."""
        main = snapshots[0]
        main["blocking_partners"] = [
            snapshot["partner"] for snapshot in snapshots if snapshot["status"] == "blocked"
        ]
        for other in snapshots[1:]:
            if other["status"] == "ok":
                continue

            def named(reason, partner=other["partner"]):
                return self.env._(
                    "Ordering customer %(partner)s: %(reason)s",
                    partner=partner.display_name,
                    reason=reason,
                )

            main["reasons"] = main["reasons"] + [named(reason) for reason in other["reasons"]]
            main["blocking_reasons"] = main["blocking_reasons"] + [
                named(reason) for reason in other["blocking_reasons"]
            ]
            main["blocking_rules"] = main["blocking_rules"] + other["blocking_rules"]
            if other["status"] == "blocked" or main["status"] == "ok":
                main["status"] = other["status"]
        return main

    # ------------------------------------------------------------------
    # What a refusal says
    # ------------------------------------------------------------------

    def _blocking_reasons_text(self, snapshot):
        return "\n".join(f"- {reason}" for reason in snapshot["blocking_reasons"])

    def _exposure_summary(self, snapshot, with_document=False):
        """The exposure breakdown of a snapshot in one sentence.

        :param with_document: the exposure includes the document being checked
            (an order), whose amount is named
        """

        def amount(value):
            return format_amount(self.env, value, snapshot["currency"])

        limit = amount(snapshot["limit"]) if snapshot["has_limit"] else self.env._("no limit")
        if with_document:
            return self.env._(
                "Credit limit %(limit)s; exposure %(exposure)s including this order "
                "(%(order)s): open not yet due %(not_due)s, overdue %(overdue)s, orders to "
                "invoice %(orders)s, draft invoices %(drafts)s.",
                limit=limit,
                exposure=amount(snapshot["exposure"]),
                order=amount(snapshot["order_amount"]),
                not_due=amount(snapshot["not_due"]),
                overdue=amount(snapshot["overdue"]),
                orders=amount(snapshot["orders"] + snapshot["other_orders_amount"]),
                drafts=amount(snapshot["draft_invoices"]),
            )
        return self.env._(
            "Credit limit %(limit)s; exposure %(exposure)s: open not yet due %(not_due)s, "
            "overdue %(overdue)s, orders to invoice %(orders)s, draft invoices %(drafts)s.",
            limit=limit,
            exposure=amount(snapshot["exposure"]),
            not_due=amount(snapshot["not_due"]),
            overdue=amount(snapshot["overdue"]),
            orders=amount(snapshot["orders"]),
            drafts=amount(snapshot["draft_invoices"]),
        )

    def _get_document_advice(self, documents, blocking_rules):
        """What to do about the rules that block documents of one kind, naming
        only the actions that kind of document has (see _credit_check_advice)."""
        rule_advice, way_out = documents._credit_check_advice()
        return self._get_blocking_advice(blocking_rules, way_out=way_out, rule_advice=rule_advice)
