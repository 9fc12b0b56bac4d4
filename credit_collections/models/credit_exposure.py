from datetime import timedelta

from odoo import api, fields, models, tools
from odoo.tools import SQL


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
                 WHERE sale.company_id = ANY(%(companies)s) AND sale.state = 'sale'
                 UNION
                SELECT move.commercial_partner_id
                  FROM account_move move
                 WHERE move.company_id = ANY(%(companies)s) AND move.state = 'draft'
                   AND move.move_type IN ('out_invoice', 'out_refund')
                   AND move.commercial_partner_id IS NOT NULL
                 UNION
                SELECT partner.id
                  FROM res_partner partner
                 WHERE partner.credit_hold ->> %(company_key)s = 'true'
                    OR partner.credit_cash_only ->> %(company_key)s = 'true'
                """,
                companies=self._exposure_companies(company).ids,
                company_key=str(company.id),
                open_receivables=self.env["account.move.line"]._open_receivable_sql(
                    self._exposure_companies(company)
                ),
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

    # ------------------------------------------------------------------
    # Figures: a list that features extend
    #
    # A snapshot's figures come from the providers of _get_figure_providers(),
    # each computing its figures for all the customers at once (one query). The
    # open-item figures are one query whose columns _get_receivable_columns()
    # lists: a feature adds a figure of the open items (installment plans do) by
    # adding a column, not a query. A figure it adds is read by its own hold rule
    # (see _get_rules) and defaults to its column's default.
    # ------------------------------------------------------------------

    def _get_figure_providers(self):
        """Methods computing figures of the snapshots, each for all partners in
        one query: ``provider(partners, company, options)`` returning
        {commercial partner id: {figure: value}}. ``options`` holds the cutoffs of
        the overdue rule ({partner id: date}) and the orders and draft invoices
        not to count (``exclude_orders``, ``exclude_moves``). Override to add one."""
        return [self._figures_receivable, self._figures_orders, self._figures_draft_invoices]

    def _get_receivable_columns(self, company):
        """Columns of the one open-item query, as (figure, SQL aggregate, default).
        The aggregates read the open items as ``line`` (see
        account.move.line._open_receivable_sql), what open credits leave of each
        as ``netting.net_residual`` and the overdue rule's cutoff as
        ``cutoff.cutoff_date``. Override to add a figure of the open items."""
        Line = self.env["account.move.line"]
        today = fields.Date.context_today(self)
        overdue = Line._overdue_sql(today)
        return [
            ("receivable", SQL("SUM(line.amount_residual)"), 0.0),
            ("overdue", SQL("SUM(line.amount_residual) FILTER (WHERE %s)", overdue), 0.0),
            ("oldest_due", SQL("MIN(line.date_maturity) FILTER (WHERE %s)", overdue), None),
            # Net of the open credits, as the exposure is: only chased items have
            # a net residual, all of them positive.
            (
                "overdue_for_hold",
                SQL(
                    "SUM(netting.net_residual) FILTER (WHERE %s)",
                    Line._overdue_sql(SQL("cutoff.cutoff_date")),
                ),
                0.0,
            ),
            (
                "overdue_undisputed",
                SQL("SUM(netting.net_residual) FILTER (WHERE %s)", overdue),
                0.0,
            ),
            *self._receivable_columns_plans(company),
        ]

    def _receivable_columns_plans(self, company):
        """Installment plans' figures: what the running plans' entries have not yet
        due (out of the exposure when the company says so, see
        _get_exposure_exclusions) and whether a plan defaulted."""
        self.env["credit.installment.plan"].flush_model(["state", "move_id", "company_id"])
        entries = SQL(
            """
            SELECT move_id FROM credit_installment_plan
             WHERE company_id = ANY(%s) AND state IN %s AND move_id IS NOT NULL
            """,
            self._exposure_companies(company).ids,
            ("active", "defaulted"),
        )
        defaulted = SQL(
            "SELECT move_id FROM credit_installment_plan "
            "WHERE company_id = ANY(%s) AND state = 'defaulted' AND move_id IS NOT NULL",
            self._exposure_companies(company).ids,
        )
        return [
            (
                "plan_not_due",
                SQL(
                    "SUM(line.amount_residual) FILTER (WHERE line.date_maturity >= %s "
                    "AND line.move_id IN (%s))",
                    fields.Date.context_today(self),
                    entries,
                ),
                0.0,
            ),
            ("defaulted_plan", SQL("BOOL_OR(line.move_id IN (%s))", defaulted), False),
        ]

    def _get_exposure_exclusions(self, company):
        """Figures of the open items not yet due that the exposure leaves out."""
        return [] if company.credit_plan_count_in_exposure else ["plan_not_due"]

    def _exposure_companies(self, company):
        """The companies whose receivables, orders and draft invoices a customer's
        limit in company covers: the whole company, its parent and every branch,
        as Odoo's ``credit`` (res.partner._credit_debit_get) sums them. Branches
        share the currency of their root company: their amounts add up in
        company currency."""
        # Companies the user may not select still hold what the customer owes.
        return self.env["res.company"].sudo().browse(self._exposure_company_ids(company.id))

    @api.model
    @tools.ormcache("company_id")
    def _exposure_company_ids(self, company_id):
        # Cached: creating or deleting a company clears the registry's caches,
        # and a company's parent never changes.
        Company = self.env["res.company"].sudo()
        root = Company.browse(company_id).root_id
        return tuple(Company.search([("id", "child_of", root.id)]).ids)

    def _figures_receivable(self, partners, company, options):
        """The figures of _get_receivable_columns, per commercial partner, in one
        query, in company currency."""
        cutoffs = options["cutoffs"]
        partner_ids = partners.ids
        columns = self._get_receivable_columns(company)
        self.env["account.move.line"].flush_model()
        Line = self.env["account.move.line"]
        companies = self._exposure_companies(company)
        rows = self.env.execute_query(
            SQL(
                """
                WITH cutoff AS (
                    SELECT * FROM unnest(%(partner_ids)s::int[], %(cutoffs)s::date[])
                        AS c(partner_id, cutoff_date)
                )
                SELECT partner.commercial_partner_id, %(columns)s
                       %(open_receivables)s
              GROUP BY partner.commercial_partner_id
                """,
                partner_ids=partner_ids,
                cutoffs=[cutoffs[pid] for pid in partner_ids],
                columns=SQL(", ").join(column for _key, column, _default in columns),
                open_receivables=Line._open_receivable_sql(
                    companies,
                    joins=SQL(
                        """
                        JOIN cutoff ON cutoff.partner_id = partner.commercial_partner_id
                        LEFT JOIN (%s) netting ON netting.id = line.id
                        """,
                        Line._netted_receivable_sql(
                            companies, SQL("partner.commercial_partner_id = ANY(%s)", partner_ids)
                        ),
                    ),
                ),
            )
        )
        return {
            row[0]: {
                key: default if value is None else value
                for (key, _column, default), value in zip(columns, row[1:], strict=True)
            }
            for row in rows
        }

    def _figures_orders(self, partners, company, options):
        if not company.credit_include_orders:
            return {}
        amounts = self._orders_to_invoice(partners, company, options.get("exclude_orders"))
        return {pid: {"orders": amount} for pid, amount in amounts.items()}

    def _figures_draft_invoices(self, partners, company, options):
        if not company.credit_include_draft_invoices:
            return {}
        amounts = self._draft_invoices(partners, company, options.get("exclude_moves"))
        return {pid: {"draft_invoices": amount or 0.0} for pid, amount in amounts.items()}

    def _get_figure_defaults(self, company):
        """Each figure's value for a customer a provider has no row for."""
        defaults = {"orders": 0.0, "draft_invoices": 0.0}
        defaults.update(
            (key, default) for key, _column, default in self._get_receivable_columns(company)
        )
        return defaults

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
                     WHERE sale.company_id = ANY(%(companies)s)
                       AND sale.state = 'sale'
                       AND partner.commercial_partner_id = ANY(%(partner_ids)s)
                       AND NOT (sale.id = ANY(%(exclude)s))
                  GROUP BY partner.commercial_partner_id, sale.currency_id, sale.id
                  ) AS per_order
              GROUP BY commercial_partner_id, currency_id
                """,
                companies=self._exposure_companies(company).ids,
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
                 WHERE move.company_id = ANY(%(companies)s)
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
                companies=self._exposure_companies(company).ids,
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
        self,
        partners,
        company,
        orders_amounts=None,
        exclude_orders=None,
        exclude_moves=None,
        reasons_without_amounts=False,
    ):
        """Everything the credit decision needs, for every commercial partner in self.

        A constant number of queries whatever the number of partners, invoices and
        orders: one per figure provider (see _get_figure_providers).

        :param orders_amounts: {commercial partner id: amount in company currency of
            the orders being checked}, added to exposure
        :param exclude_orders: ids of orders not to count as orders to invoice (the
            orders being checked, counted through orders_amounts instead)
        :param exclude_moves: ids of draft invoices not to count, likewise
        :param reasons_without_amounts: the reasons leave the amounts out (lists
            that show statuses and figures, not the reasons: formatting an amount
            costs more than the rest of a customer's evaluation)
        :return: {commercial partner id: snapshot dict}
        """
        partners = partners.commercial_partner_id
        if not partners:
            return {}
        orders_amounts = orders_amounts or {}
        today = fields.Date.context_today(self)
        config = self._rules_config(partners, company)
        options = {
            "cutoffs": {
                pid: today - timedelta(days=rules["overdue_days"]) for pid, rules in config.items()
            },
            "exclude_orders": exclude_orders,
            "exclude_moves": exclude_moves,
        }
        figures = {pid: self._get_figure_defaults(company) for pid in partners.ids}
        for provider in self._get_figure_providers():
            for pid, values in provider(partners, company, options).items():
                figures[pid].update(values)
        snapshots = {}
        for partner in partners:
            snapshot = self._prepare_snapshot(
                partner,
                company,
                config[partner.id],
                figures[partner.id],
                orders_amounts.get(partner.id, 0.0),
            )
            snapshot["reasons_without_amounts"] = reasons_without_amounts
            snapshot.update(self._evaluate(snapshot))
            snapshots[partner.id] = snapshot
        return snapshots

    def _prepare_snapshot(self, partner, company, config, figures, order_amount):
        """The figures and settings of one commercial partner the rules read: its
        settings, every figure of the providers, and the exposure."""
        today = fields.Date.context_today(self)
        receivable = figures["receivable"]
        overdue = figures["overdue"]
        not_due = receivable - overdue
        # Open items not yet due that the company leaves out (a running plan's).
        left_out = sum(figures.get(key) or 0.0 for key in self._get_exposure_exclusions(company))
        exposure = (
            (not_due - left_out if company.credit_include_not_due else 0.0)
            + (overdue if company.credit_include_overdue else 0.0)
            + figures["orders"]
            + figures["draft_invoices"]
        )
        oldest_due = figures["oldest_due"]
        snapshot = dict(config, **figures)
        snapshot.update(
            defaulted_plan=bool(figures.get("defaulted_plan")),
            partner=partner,
            company=company,
            currency=company.currency_id,
            not_due=not_due,
            oldest_overdue_days=(today - oldest_due).days if oldest_due else 0,
            exposure_before_order=exposure,
            order_amount=order_amount,
            other_orders_amount=0.0,
            exposure=exposure + order_amount,
            paid_in_advance=False,
        )
        return snapshot

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
