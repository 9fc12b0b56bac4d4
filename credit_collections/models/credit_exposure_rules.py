# Split from credit_exposure.py by responsibility: the hold rules.
# pylint: disable=consider-merging-classes-inherited
from odoo import models
from odoo.tools import float_compare, format_amount


class CreditExposure(models.AbstractModel):
    """The hold rules: one method per rule, listed by _get_rules(), each reading a
    snapshot (see credit_exposure.py) and returning its verdict and reason."""

    _inherit = "credit.exposure"

    # ------------------------------------------------------------------
    # Hold rules
    # ------------------------------------------------------------------

    def _get_rules(self):
        """Hold rules, in the order their reasons are listed. Each takes a snapshot
        and returns None or a (status, reason) tuple; override to add rules."""
        return [
            self._rule_manual_hold,
            self._rule_cash_only,
            self._rule_over_limit,
            self._rule_overdue,
            self._rule_overdue_limit,
            self._rule_defaulted_plan,
            self._rule_warning,
        ]

    def _evaluate(self, snapshot):
        """Status and reasons of a snapshot: every reason for display, the blocking
        ones apart for the refusal message."""
        reasons = []
        blocking_reasons = []
        blocking_rules = []
        for rule in self._get_rules():
            verdict = rule(snapshot)
            if not verdict:
                continue
            rule_status, reason = verdict
            reasons.append(reason)
            if rule_status == "blocked":
                blocking_reasons.append(reason)
                blocking_rules.append(rule.__name__)
        if blocking_reasons:
            status = "blocked"
        else:
            status = "warning" if reasons else "ok"
        return {
            "status": status,
            "reasons": reasons,
            "blocking_reasons": blocking_reasons,
            "blocking_rules": blocking_rules,
            "over_limit": self._is_over_limit(snapshot),
        }

    def _get_rule_advice(self):
        """What a salesperson can do about each hold rule that blocks, by rule
        method name; override to add the advice of a new rule."""
        return {
            "_rule_manual_hold": self.env._("ask a credit manager to lift the credit hold"),
            "_rule_cash_only": self.env._("get the order paid before confirming it"),
            "_rule_over_limit": self.env._(
                "reduce the order, or get open invoices paid to free credit"
            ),
            "_rule_overdue": self.env._("collect the overdue invoices"),
            "_rule_overdue_limit": self.env._("collect the overdue invoices"),
            "_rule_defaulted_plan": self.env._(
                "get the customer's installment plan back on schedule"
            ),
        }

    def _get_blocking_advice(self, blocking_rules, way_out=None, rule_advice=None):
        """What to do about the rules that block, in one sentence: the advice of
        each rule, then the way out a credit manager gives, which lifts any of them.

        :param way_out: that way out (default: an order's "Request Credit Approval")
        :param rule_advice: {rule method name: advice} replacing the order's advice
            of those rules, for documents that are not orders
        """
        advice_of = {**self._get_rule_advice(), **(rule_advice or {})}
        actions = []
        for rule_name in blocking_rules:
            action = advice_of.get(rule_name)
            if action and action not in actions:
                actions.append(action)
        approval = way_out or self.env._(
            'ask a credit manager for an exception with "Request Credit Approval"'
        )
        if not actions:
            return self.env._("What to do: %(approval)s.", approval=approval)
        return self.env._(
            "What to do: %(actions)s, or %(approval)s.",
            actions="; ".join(actions),
            approval=approval,
        )

    def _format_amount(self, snapshot, amount):
        # Formatting an amount costs more than the rest of a customer's evaluation:
        # lists that show statuses and figures, not the reasons, skip it.
        if snapshot.get("reasons_without_amounts"):
            return ""
        return format_amount(self.env, amount, snapshot["currency"])

    def _is_over_limit(self, snapshot):
        if not snapshot["has_limit"]:
            return False
        allowed = snapshot["limit"] * (1 + snapshot["tolerance"] / 100.0)
        return (
            float_compare(
                snapshot["exposure"], allowed, precision_rounding=snapshot["currency"].rounding
            )
            > 0
        )

    def _rule_manual_hold(self, snapshot):
        if not snapshot["hold"]:
            return None
        if snapshot["hold_reason"]:
            return "blocked", self.env._(
                "On credit hold: %(reason)s", reason=snapshot["hold_reason"]
            )
        return "blocked", self.env._("On credit hold.")

    def _rule_cash_only(self, snapshot):
        if not snapshot["cash_only"] or not snapshot["order_amount"] or snapshot["paid_in_advance"]:
            return None
        return "blocked", self.env._(
            "Cash-only customer: the order (%(amount)s) must be paid before it is confirmed.",
            amount=self._format_amount(snapshot, snapshot["order_amount"]),
        )

    def _rule_over_limit(self, snapshot):
        if snapshot["paid_in_advance"] or not self._is_over_limit(snapshot):
            return None
        status = "blocked" if snapshot["check_over_limit"] else "warning"
        if not snapshot["limit"]:
            return status, self.env._(
                "No credit granted: exposure %(exposure)s while the credit limit is 0.",
                exposure=self._format_amount(snapshot, snapshot["exposure"]),
            )
        tolerance = f"{snapshot['tolerance']:g}"
        return status, self.env._(
            "Over credit limit: exposure %(exposure)s exceeds the limit of %(limit)s "
            "(tolerance %(tolerance)s%%) by %(excess)s.",
            exposure=self._format_amount(snapshot, snapshot["exposure"]),
            limit=self._format_amount(snapshot, snapshot["limit"]),
            tolerance=tolerance,
            excess=self._format_amount(snapshot, snapshot["exposure"] - snapshot["limit"]),
        )

    def _rule_overdue(self, snapshot):
        if snapshot["paid_in_advance"]:
            return None
        amount = snapshot["overdue_for_hold"]
        if (
            float_compare(
                amount,
                snapshot["overdue_threshold"],
                precision_rounding=snapshot["currency"].rounding,
            )
            <= 0
            or amount <= 0
        ):
            return None
        status = "blocked" if snapshot["check_overdue"] else "warning"
        return status, self.env._(
            "Overdue: %(amount)s overdue for more than %(days)s days (oldest %(oldest)s days).",
            amount=self._format_amount(snapshot, amount),
            days=snapshot["overdue_days"],
            oldest=snapshot["oldest_overdue_days"],
        )

    def _rule_overdue_limit(self, snapshot):
        limit = snapshot["overdue_limit"]
        if not limit or snapshot["paid_in_advance"]:
            return None
        if (
            float_compare(
                snapshot["overdue_undisputed"],
                limit,
                precision_rounding=snapshot["currency"].rounding,
            )
            <= 0
        ):
            return None
        return "blocked", self.env._(
            "Overdue sub-limit: %(amount)s overdue exceeds the overdue limit of %(limit)s.",
            amount=self._format_amount(snapshot, snapshot["overdue_undisputed"]),
            limit=self._format_amount(snapshot, limit),
        )

    def _rule_defaulted_plan(self, snapshot):
        if not snapshot["defaulted_plan"] or snapshot["paid_in_advance"]:
            return None
        return "blocked", self.env._(
            "Defaulted installment plan: no new order until the customer is back on schedule "
            "or the plan is cancelled."
        )

    def _rule_warning(self, snapshot):
        if (
            not snapshot["has_limit"]
            or not snapshot["limit"]
            or snapshot["paid_in_advance"]
            or self._is_over_limit(snapshot)
        ):
            return None
        used = snapshot["exposure"] / snapshot["limit"] * 100.0
        if used < snapshot["warning_percent"]:
            return None
        percent = f"{used:.0f}"
        return "warning", self.env._(
            "Close to the credit limit: exposure %(exposure)s is %(percent)s%% of the limit "
            "of %(limit)s.",
            exposure=self._format_amount(snapshot, snapshot["exposure"]),
            percent=percent,
            limit=self._format_amount(snapshot, snapshot["limit"]),
        )
