from datetime import timedelta

from odoo import fields, models
from odoo.tools import SQL, float_compare, format_amount


class CreditExposure(models.AbstractModel):
    """Credit exposure and hold rules, for many customers at once.

    Every credit decision of the addon (sales order confirmation, invoice posting,
    partner status, searches) goes through this engine, so that the rules are
    defined once and another module changes one rule by overriding one method.
    A snapshot is a dict of the figures and settings of one commercial partner in
    one company, in company currency; rules read it and return their verdict.
    """

    _name = "credit.exposure"
    _description = "Credit Exposure and Hold Rules"

    def _candidate_partner_ids(self, company):
        rows = self.env.execute_query(
            SQL(
                """
                SELECT DISTINCT partner.commercial_partner_id
                       %(open_receivables)s
                 UNION
                SELECT partner.commercial_partner_id
                  FROM sale_order sale
                  JOIN res_partner partner ON partner.id = sale.partner_invoice_id
                 WHERE sale.company_id = %(company)s AND sale.state = 'sale'
                 UNION
                SELECT move.commercial_partner_id
                  FROM account_move move
                 WHERE move.company_id = %(company)s AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND move.commercial_partner_id IS NOT NULL
                 UNION
                SELECT partner.id
                  FROM res_partner partner
                 WHERE partner.credit_hold ->> %(company_key)s = 'true'
                    OR partner.credit_cash_only ->> %(company_key)s = 'true'
                """,
                company=company.id,
                company_key=str(company.id),
                open_receivables=self.env["account.move.line"]._open_receivable_sql(company),
            )
        )
        return [row[0] for row in rows]

    # ------------------------------------------------------------------
    # Exposure
    # ------------------------------------------------------------------

    def _rules_config(self, partners, company):
        """Effective hold-rule settings of each commercial partner for company."""
        # credit_limit is readable by accounting groups only, as in core sale,
        # which also reads it as superuser: salespeople are checked against it too.
        self_company = partners.sudo().with_company(company)
        # Only these: reading one company-dependent field would otherwise read all
        # of them (pricelists, payment terms, ...) and compute their fallbacks.
        self_company.fetch(
            [
                "credit_custom_rules",
                "credit_partner_check_over_limit",
                "credit_partner_limit_tolerance",
                "credit_partner_warning_percent",
                "credit_partner_check_overdue",
                "credit_partner_overdue_days",
                "credit_partner_overdue_threshold",
                "credit_partner_overdue_limit",
                "credit_limit",
                "credit_hold",
                "credit_hold_reason",
                "credit_cash_only",
            ]
        )
        config = {}
        for partner in self_company:
            if partner.credit_custom_rules:
                rules = {
                    "check_over_limit": partner.credit_partner_check_over_limit,
                    "tolerance": partner.credit_partner_limit_tolerance,
                    "warning_percent": partner.credit_partner_warning_percent,
                    "check_overdue": partner.credit_partner_check_overdue,
                    "overdue_days": partner.credit_partner_overdue_days,
                    "overdue_threshold": partner.credit_partner_overdue_threshold,
                    "overdue_limit": partner.credit_partner_overdue_limit,
                }
            else:
                rules = {
                    "check_over_limit": company.credit_check_over_limit,
                    "tolerance": company.credit_limit_tolerance,
                    "warning_percent": company.credit_warning_percent,
                    "check_overdue": company.credit_check_overdue,
                    "overdue_days": company.credit_hold_overdue_days,
                    "overdue_threshold": company.credit_overdue_threshold,
                    "overdue_limit": company.credit_overdue_limit,
                }
            # credit_limit falls back on the company's default limit by itself.
            limit = partner.credit_limit if company.account_use_credit_limit else 0.0
            rules.update(
                limit=limit,
                has_limit=bool(limit) or company.credit_zero_limit_policy == "no_credit",
                hold=partner.credit_hold,
                hold_reason=partner.credit_hold_reason,
                cash_only=partner.credit_cash_only,
            )
            config[partner.id] = rules
        return config

    def _receivable_figures(self, company, cutoffs):
        """Open receivable figures per commercial partner, in company currency.
        The overdue amounts the hold rules read are net of the open credits, as
        the exposure is (see account.move.line._netted_receivable_sql).

        :param cutoffs: {commercial partner id: due date before which an overdue item
            counts for the overdue hold rule}
        """
        today = fields.Date.context_today(self)
        partner_ids = list(cutoffs)
        self.env["account.move.line"].flush_model()
        self.env["credit.installment.plan"].flush_model(["state", "move_id", "company_id"])
        rows = self.env.execute_query(
            SQL(
                """
                WITH cutoff AS (
                    SELECT * FROM unnest(%(partner_ids)s::int[], %(cutoffs)s::date[])
                        AS c(partner_id, cutoff_date)
                ), plan_entry AS (
                    SELECT move_id, state = 'defaulted' AS defaulted
                      FROM credit_installment_plan
                     WHERE company_id = %(company)s AND state IN ('active', 'defaulted')
                       AND move_id IS NOT NULL
                )
                SELECT partner.commercial_partner_id,
                       SUM(line.amount_residual),
                       SUM(line.amount_residual) FILTER (
                           WHERE line.amount_residual > 0 AND line.date_maturity < %(today)s),
                       MIN(line.date_maturity) FILTER (
                           WHERE line.amount_residual > 0 AND line.date_maturity < %(today)s),
                       SUM(netting.net_residual) FILTER (
                           WHERE line.date_maturity < cutoff.cutoff_date),
                       SUM(netting.net_residual) FILTER (WHERE line.date_maturity < %(today)s),
                       SUM(line.amount_residual) FILTER (
                           WHERE line.date_maturity >= %(today)s
                             AND line.move_id IN (SELECT move_id FROM plan_entry)),
                       BOOL_OR(line.move_id IN (
                           SELECT move_id FROM plan_entry WHERE defaulted))
                       %(open_receivables)s
              GROUP BY partner.commercial_partner_id
                """,
                partner_ids=partner_ids,
                company=company.id,
                cutoffs=[cutoffs[pid] for pid in partner_ids],
                today=today,
                open_receivables=self.env["account.move.line"]._open_receivable_sql(
                    company,
                    joins=SQL(
                        """
                        JOIN cutoff ON cutoff.partner_id = partner.commercial_partner_id
                        LEFT JOIN (%s) netting ON netting.id = line.id
                        """,
                        self.env["account.move.line"]._netted_receivable_sql(
                            company, SQL("partner.commercial_partner_id = ANY(%s)", partner_ids)
                        ),
                    ),
                ),
            )
        )
        keys = (
            "receivable",
            "overdue",
            "oldest_due",
            "overdue_for_hold",
            "overdue_undisputed",
            "plan_not_due",
            "defaulted_plan",
        )
        return {
            row[0]: {
                key: value if key in ("oldest_due", "defaulted_plan") else value or 0.0
                for key, value in zip(keys, row[1:], strict=True)
            }
            for row in rows
        }

    def _orders_to_invoice(self, partners, company, exclude_orders=None):
        """Tax-included amount still to invoice on confirmed orders, per commercial
        partner, converted to company currency at today's rate."""
        self.env["sale.order.line"].flush_model(
            ["price_total", "price_subtotal", "untaxed_amount_invoiced", "is_downpayment"]
        )
        self.env["sale.order"].flush_model(
            ["state", "partner_invoice_id", "currency_id", "amount_total", "amount_untaxed"]
        )
        # Per order: what its lines have left to invoice, less its down payments
        # invoiced and not yet deducted by a final invoice (they are receivables
        # already), tax included at the order's own tax ratio.
        rows = self.env.execute_query(
            SQL(
                """
                SELECT commercial_partner_id, currency_id, SUM(GREATEST(to_invoice, 0))
                  FROM (
                    SELECT partner.commercial_partner_id, sale.currency_id,
                           %(to_invoice)s AS to_invoice
                      FROM sale_order_line line
                      JOIN sale_order sale ON sale.id = line.order_id
                      JOIN res_partner partner ON partner.id = sale.partner_invoice_id
                     WHERE sale.company_id = %(company)s
                       AND sale.state = 'sale'
                       AND partner.commercial_partner_id = ANY(%(partner_ids)s)
                       AND NOT (sale.id = ANY(%(exclude)s))
                  GROUP BY partner.commercial_partner_id, sale.currency_id, sale.id
                  ) AS per_order
              GROUP BY commercial_partner_id, currency_id
                """,
                company=company.id,
                partner_ids=partners.ids,
                exclude=list(exclude_orders or []),
                to_invoice=self._order_to_invoice_sql(),
            )
        )
        rates = self._currency_rates(company, {currency_id for _p, currency_id, _a in rows})
        amounts = dict.fromkeys(partners.ids, 0.0)
        for partner_id, currency_id, amount in rows:
            amounts[partner_id] += (amount or 0.0) * rates[currency_id]
        return amounts

    def _order_to_invoice_sql(self):
        """What an order (``sale``, its lines ``line``) has left to invoice, tax
        included, in its currency: its lines' totals less what they invoiced, less
        its down payments invoiced and not yet deducted by a final invoice (they are
        receivables already), at the order's own tax ratio."""
        return SQL(
            """
            SUM(CASE
                WHEN line.is_downpayment THEN
                    -line.untaxed_amount_invoiced * COALESCE(
                        sale.amount_total / NULLIF(sale.amount_untaxed, 0), 1)
                ELSE GREATEST(
                    line.price_total
                    - line.price_total * line.untaxed_amount_invoiced
                      / NULLIF(line.price_subtotal, 0),
                    0)
                END)
            """
        )

    def _orders_left_to_invoice(self, orders):
        """{order id: what each confirmed order in orders has left to invoice, tax
        included, in its own currency}: the part of it that is not a receivable yet."""
        if not orders:
            return {}
        self.env["sale.order.line"].flush_model(
            ["price_total", "price_subtotal", "untaxed_amount_invoiced", "is_downpayment"]
        )
        self.env["sale.order"].flush_model(["amount_total", "amount_untaxed"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT sale.id, GREATEST(%(to_invoice)s, 0)
                  FROM sale_order sale
                  JOIN sale_order_line line ON line.order_id = sale.id
                 WHERE sale.id = ANY(%(order_ids)s)
              GROUP BY sale.id
                """,
                order_ids=orders.ids,
                to_invoice=self._order_to_invoice_sql(),
            )
        )
        return dict.fromkeys(orders.ids, 0.0) | {
            order_id: amount or 0.0 for order_id, amount in rows
        }

    def _draft_invoices(self, partners, company, exclude_moves=None):
        """Draft customer invoices that do not stem from an order (those are counted
        as orders to invoice), per commercial partner, signed, in company currency."""
        self.env["account.move"].flush_model(
            ["state", "move_type", "amount_total_signed", "commercial_partner_id"]
        )
        rows = self.env.execute_query(
            SQL(
                """
                SELECT move.commercial_partner_id, SUM(move.amount_total_signed)
                  FROM account_move move
                 WHERE move.company_id = %(company)s
                   AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND move.commercial_partner_id = ANY(%(partner_ids)s)
                   AND NOT (move.id = ANY(%(exclude)s))
                   AND NOT EXISTS (
                       SELECT 1
                         FROM account_move_line line
                         JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = line.id
                        WHERE line.move_id = move.id)
              GROUP BY move.commercial_partner_id
                """,
                company=company.id,
                partner_ids=partners.ids,
                exclude=list(exclude_moves or []),
            )
        )
        return dict(rows)

    def _currency_rates(self, company, currency_ids):
        """Factor converting each currency to company currency at today's rate."""
        currencies = self.env["res.currency"].browse(currency_ids)
        today = fields.Date.context_today(self)
        rates = (currencies | company.currency_id)._get_rates(company, today)
        company_rate = rates[company.currency_id.id]
        return {currency.id: company_rate / rates[currency.id] for currency in currencies}

    def _get_snapshots(
        self, partners, company, orders_amounts=None, exclude_orders=None, exclude_moves=None
    ):
        """Everything the credit decision needs, for every commercial partner in self.

        A constant number of queries whatever the number of partners, invoices and
        orders.

        :param orders_amounts: {commercial partner id: amount in company currency of
            the orders being checked}, added to exposure
        :param exclude_orders: ids of orders not to count as orders to invoice (the
            orders being checked, counted through orders_amounts instead)
        :param exclude_moves: ids of draft invoices not to count, likewise
        :return: {commercial partner id: snapshot dict}
        """
        partners = partners.commercial_partner_id
        if not partners:
            return {}
        orders_amounts = orders_amounts or {}
        today = fields.Date.context_today(self)
        config = self._rules_config(partners, company)
        cutoffs = {
            pid: today - timedelta(days=rules["overdue_days"]) for pid, rules in config.items()
        }
        receivables = self._receivable_figures(company, cutoffs)
        orders = (
            self._orders_to_invoice(partners, company, exclude_orders)
            if company.credit_include_orders
            else {}
        )
        drafts = (
            self._draft_invoices(partners, company, exclude_moves)
            if company.credit_include_draft_invoices
            else {}
        )
        snapshots = {}
        for partner in partners:
            snapshot = self._prepare_snapshot(
                partner,
                company,
                config[partner.id],
                receivables.get(partner.id, {}),
                orders.get(partner.id, 0.0),
                drafts.get(partner.id) or 0.0,
                orders_amounts.get(partner.id, 0.0),
            )
            snapshot.update(self._evaluate(snapshot))
            snapshots[partner.id] = snapshot
        return snapshots

    def _prepare_snapshot(self, partner, company, config, figures, orders, drafts, order_amount):
        """The figures and settings of one commercial partner the rules read."""
        today = fields.Date.context_today(self)
        receivable = figures.get("receivable", 0.0)
        overdue = figures.get("overdue", 0.0)
        not_due = receivable - overdue
        # Installments not yet due of a running plan: out of the exposure when the
        # company says so.
        plan_not_due = (
            0.0 if company.credit_plan_count_in_exposure else figures.get("plan_not_due", 0.0)
        )
        exposure = (
            (not_due - plan_not_due if company.credit_include_not_due else 0.0)
            + (overdue if company.credit_include_overdue else 0.0)
            + orders
            + drafts
        )
        oldest_due = figures.get("oldest_due")
        return dict(
            config,
            partner=partner,
            company=company,
            currency=company.currency_id,
            receivable=receivable,
            overdue=overdue,
            not_due=not_due,
            overdue_for_hold=figures.get("overdue_for_hold", 0.0),
            overdue_undisputed=figures.get("overdue_undisputed", 0.0),
            oldest_overdue_days=(today - oldest_due).days if oldest_due else 0,
            orders=orders,
            draft_invoices=drafts,
            exposure_before_order=exposure,
            order_amount=order_amount,
            other_orders_amount=0.0,
            exposure=exposure + order_amount,
            paid_in_advance=False,
            defaulted_plan=bool(figures.get("defaulted_plan")),
        )

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

    def _get_blocking_advice(self, blocking_rules):
        """What to do about the rules that block, in one sentence: the advice of
        each rule, then an approval, which lifts any of them."""
        advice_of = self._get_rule_advice()
        actions = []
        for rule_name in blocking_rules:
            action = advice_of.get(rule_name)
            if action and action not in actions:
                actions.append(action)
        approval = self.env._(
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
        if self.env.context.get("credit_reasons_without_amounts"):
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

    def init(self):
        result = super().init()
        # One row per customer whose credit decisions must not run side by side
        # (see _lock_partners). A table of its own, not the customer's row: the
        # follow-ups, a credit manager's edit or a portal visit that write the
        # customer never wait for, nor conflict with, an order's confirmation.
        self.env.cr.execute(
            SQL(
                """
                CREATE TABLE IF NOT EXISTS credit_collections_partner_lock (
                    partner_id integer PRIMARY KEY
                )
                """
            )
        )
        # No foreign key to res_partner: Odoo's partner merge rewrites every column
        # referring to a partner and expects another column beside it (a table of
        # the key alone made Contacts > Merge crash). A row left by a deleted
        # customer only costs its few bytes.
        self.env.cr.execute(
            SQL(
                "ALTER TABLE credit_collections_partner_lock "
                "DROP CONSTRAINT IF EXISTS credit_collections_partner_lock_partner_id_fkey"
            )
        )
        return result

    def _lock_partners(self, partners):
        """Serialize credit decisions per commercial partner (the lock is
        credit.batch.mixin's, see _credit_lock_customers)."""
        self.env["credit.batch.mixin"]._credit_lock_customers(partners)
