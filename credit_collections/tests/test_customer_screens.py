from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCustomerScreens(CreditCollectionsCommon):
    """What credit controllers, collectors and salespeople see of a customer: the
    customer lists and their filters, the Credit and Follow-up tabs."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._credit_create_default_followup_policy()
        # A company with two contacts, and an individual without a company.
        cls.contacts = cls.env["res.partner"].create(
            [
                {"name": "Accounts Payable", "parent_id": cls.customer.id, "type": "invoice"},
                {"name": "Buyer", "parent_id": cls.customer.id},
            ]
        )
        cls.individual = cls._create_customer("Private Buyer", limit=100.0, is_company=False)
        cls._create_invoice(cls.customer, 1500.0, days_overdue=40)
        cls._create_invoice(cls.individual, 300.0, days_overdue=20)

    # ------------------------------------------------------------------
    # Helpers: the screens as a user gets them
    # ------------------------------------------------------------------

    def _arch(self, model, view_type, user, view=False):
        views = self.env[model].with_user(user).get_views([(view, view_type)])
        return etree.fromstring(views["views"][view_type]["arch"])

    def _filter_domain(self, name, user):
        node = self._arch("res.partner", "search", user).xpath(f"//filter[@name='{name}']")
        self.assertTrue(node, f"{user.login} has no filter {name}")
        return safe_eval(node[0].get("domain"), {"uid": user.id})

    def _visible_labels(self, nodes, values):
        """The labels of the field nodes visible for a record with these values."""
        return [
            node.get("string")
            for node in nodes
            if not safe_eval(node.get("invisible") or "False", values)
        ]

    def _ours(self, partners):
        return partners & (self.customer | self.contacts | self.individual)

    # ------------------------------------------------------------------
    # Customer lists (issue 13, points 12 and 13)
    # ------------------------------------------------------------------

    def test_credit_blocked_filter_lists_each_customer_once(self):
        domain = self._filter_domain("credit_blocked", self.credit_manager)
        Partner = self.env["res.partner"].with_user(self.credit_manager).with_company(self.company)
        listed = self._ours(Partner.search(domain))
        self.assertEqual(listed, self.customer | self.individual)
        # Contacts are still blocked through their company, e.g. on orders.
        self.assertEqual(self._credit(self.contacts[0]).credit_status, "blocked")

    def test_followup_needed_filter_lists_each_customer_once(self):
        domain = self._filter_domain("followup_action_needed", self.collector)
        Partner = self.env["res.partner"].with_user(self.collector).with_company(self.company)
        listed = self._ours(Partner.search(domain))
        self.assertEqual(listed, self.customer | self.individual)

    def test_customer_list_shows_limit_oldest_overdue_and_totals(self):
        columns = {
            node.get("name"): node
            for node in self._arch("res.partner", "list", self.credit_manager).iter("field")
        }
        for name in ("credit_limit", "credit_oldest_overdue_days", "credit_exposure"):
            self.assertEqual(columns[name].get("optional"), "hide", name)
        # Amounts owed add up; limits, available credit and days do not.
        self.assertEqual(columns["credit_exposure"].get("sum"), "Total Exposure")
        self.assertEqual(columns["credit_overdue_amount"].get("sum"), "Total Overdue")
        for name in ("credit_limit", "credit_available", "credit_oldest_overdue_days"):
            self.assertFalse(columns[name].get("sum"), name)
        self.assertIn("currency_id", columns)
        customer = self._credit(self.customer.with_user(self.credit_manager))
        self.assertRecordValues(
            customer,
            [
                {
                    "credit_limit": 1000.0,
                    "credit_oldest_overdue_days": 40,
                    "credit_overdue_amount": 1500.0,
                }
            ],
        )
        # Salespeople do not read credit limits (core's rule): no such column.
        salesperson_columns = {
            node.get("name") for node in self._arch("res.partner", "list", self.salesperson).iter()
        }
        self.assertNotIn("credit_limit", salesperson_columns)
        self.assertIn("credit_oldest_overdue_days", salesperson_columns)

    def test_overdue_over_90_days_filter_finds_the_oldest_debts(self):
        ancient = self._create_customer("Ancient Debtor")
        self._create_invoice(ancient, 100.0, days_overdue=120)
        self._create_invoice(ancient, 100.0, days_overdue=5)
        domain = self._filter_domain("credit_overdue_90", self.collector)
        Partner = self.env["res.partner"].with_user(self.collector).with_company(self.company)
        mine = self.customer | self.contacts | self.individual | ancient
        self.assertEqual(Partner.search(domain) & mine, ancient)
        self.assertEqual(self._credit(ancient).credit_oldest_overdue_days, 120)
        # Nothing overdue is 0 days overdue; contacts count as their company.
        prompt = self._create_customer("Prompt Payer")
        self._create_invoice(prompt, 100.0, days_overdue=-5)
        on_time = Partner.search([("credit_oldest_overdue_days", "<", 30)]) & (mine | prompt)
        self.assertEqual(on_time, self.individual | prompt)

    def test_credit_customers_action_lists_customers_with_credit_columns(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "credit_collections.action_credit_customers"
        )
        domain = safe_eval(action["domain"]) + self._filter_domain("credit_blocked", self.collector)
        Partner = self.env["res.partner"].with_user(self.collector).with_company(self.company)
        self.assertEqual(self._ours(Partner.search(domain)), self.customer | self.individual)
        self.assertEqual(
            self._ours(Partner.search(safe_eval(action["domain"]))),
            self.customer | self.individual,
        )
        list_view = {mode: view for view, mode in action["views"]}["list"]
        shown = [
            node.get("name")
            for node in self._arch("res.partner", "list", self.collector, list_view).iter("field")
            if node.get("optional") == "show"
        ]
        self.assertEqual(
            shown,
            [
                "user_id",
                "credit_limit",
                "credit_exposure",
                "credit_available",
                "credit_overdue_amount",
                "credit_oldest_overdue_days",
                "credit_status",
                "followup_status",
            ],
        )

    # ------------------------------------------------------------------
    # Credit tab: the overdue arrow of a salesperson (point 14)
    # ------------------------------------------------------------------

    def test_salesperson_overdue_arrow_opens_their_overdue_invoices_read_only(self):
        customer = self._create_customer("Salesperson's Customer", user_id=self.salesperson.id)
        own = self._create_invoice(customer, 3900.0, days_overdue=15)
        own.invoice_user_id = self.salesperson
        others = self._create_invoice(customer, 700.0, days_overdue=15)
        others.invoice_user_id = self.credit_manager
        not_due = self._create_invoice(customer, 200.0, days_overdue=-10)
        not_due.invoice_user_id = self.salesperson
        form = self._arch("res.partner", "form", self.salesperson)
        self.assertTrue(form.xpath("//button[@name='action_view_credit_overdue']"))

        partner = self._credit(customer.with_user(self.salesperson))
        self.assertEqual(partner.credit_overdue_amount, 4600.0)
        # 700.00 of the 4,600.00 is another salesperson's invoice: they are told so,
        # then see the overdue items of theirs (issue 20 point 12).
        notification = partner.action_view_credit_overdue()
        self.assertIn("700.00 of this figure", notification["params"]["message"])
        action = notification["params"]["next"]
        self.assertEqual(action["res_model"], "account.move.line")
        lines = self.env["account.move.line"].with_user(self.salesperson).search(action["domain"])
        # Their own overdue invoice; not the one of another salesperson, which Sales
        # does not let them read, nor the one not yet due.
        self.assertEqual(lines.move_id, own)
        self.assertNotIn(others, lines.move_id)
        # The open receivables arrow likewise: their invoices due or not.
        action_open = partner.action_view_credit_receivables()["params"]["next"]
        self.assertEqual(
            self.env["account.move.line"]
            .with_user(self.salesperson)
            .search(action_open["domain"])
            .move_id,
            own | not_due,
        )
        list_view = (
            self.env["account.move.line"]
            .with_user(self.salesperson)
            .get_views([(action["views"][0][0], "list")])
        )
        root = etree.fromstring(list_view["views"]["list"]["arch"])
        self.assertEqual(
            (root.get("create"), root.get("edit"), root.get("delete")),
            ("false", "false", "false"),
        )

    def test_salesperson_told_when_no_overdue_invoice_is_theirs(self):
        customer = self._create_customer("Another Salesperson's Customer")
        invoice = self._create_invoice(customer, 700.0, days_overdue=15)
        invoice.invoice_user_id = self.credit_manager
        action = customer.with_user(self.salesperson).action_view_credit_overdue()
        self.assertEqual(action["tag"], "display_notification")
        self.assertIn("ask a collector", action["params"]["message"])

    def test_collector_overdue_arrow_still_lists_overdue_items(self):
        action = self.customer.with_user(self.collector).action_view_credit_overdue()
        self.assertEqual(action["res_model"], "account.move.line")
        lines = self.env["account.move.line"].with_user(self.collector).search(action["domain"])
        self.assertEqual(sum(lines.mapped("amount_residual")), 1500.0)

    # ------------------------------------------------------------------
    # Follow-up tab: the whole open position (point 16)
    # ------------------------------------------------------------------

    def test_followup_tab_shows_whole_open_position_by_age(self):
        customer = self._create_customer("Aged Customer")
        invoices = {
            days: self._create_invoice(customer, amount, days_overdue=days)
            for days, amount in ((-10, 100.0), (10, 200.0), (45, 300.0), (75, 400.0), (130, 500.0))
        }
        refund = self._create_invoice(customer, 50.0, move_type="out_refund", days_overdue=-5)
        partner = self._credit(customer.with_user(self.collector))
        self.assertRecordValues(
            partner,
            [
                {
                    "credit_aging_not_due": 50.0,
                    "credit_aging_1_30": 200.0,
                    "credit_aging_31_60": 300.0,
                    "credit_aging_61_90": 400.0,
                    "credit_aging_90_plus": 500.0,
                    "credit_receivable_amount": 1450.0,
                    "credit_overdue_amount": 1400.0,
                }
            ],
        )
        self.assertEqual(
            partner.credit_open_line_ids.move_id,
            invoices[130] | invoices[75] | invoices[45] | invoices[10] | refund | invoices[-10],
        )
        # Follow-ups themselves still chase overdue items only.
        self.assertEqual(len(partner.followup_line_ids), 4)

        page = self._arch("res.partner", "form", self.collector).xpath(
            "//page[@name='credit_followup']"
        )[0]
        statement = page.xpath(".//field[@name='credit_open_line_ids']/list")[0]
        due = statement.xpath("./field[@name='date_maturity']")
        self.assertEqual(
            [(node.get("string"), node.get("widget")) for node in due],
            [("Due Date", None)],
        )
        # A count of days, whatever the age (Odoo's remaining_days widget shows
        # a date beyond 99 days).
        self.assertTrue(statement.xpath("./field[@name='credit_days_overdue']"))
        oldest = partner.credit_open_line_ids.sorted("date_maturity")[:1]
        self.assertEqual(oldest.credit_days_overdue, (self.today - oldest.date_maturity).days)
        self.assertEqual(statement.xpath("./field[@name='amount_residual']")[0].get("sum"), "Total")
        aging = [node.get("name") for node in page.xpath(".//group[@name='credit_aging']//field")]
        self.assertEqual(
            aging,
            [
                "credit_aging_not_due",
                "credit_aging_1_30",
                "credit_aging_31_60",
                "credit_aging_61_90",
                "credit_aging_90_plus",
            ],
        )

    def test_aging_of_many_customers_is_one_query(self):
        customers = self.customer | self.individual
        for index in range(3):
            customer = self._create_customer(f"Aging Customer {index}")
            self._create_invoice(customer, 100.0, days_overdue=40 * index)
            customers |= customer
        Partner = self.env["res.partner"].with_company(self.company)
        Partner._credit_aging_figures(customers[:1], self.company)
        queries = self.env.cr.sql_log_count
        figures = Partner._credit_aging_figures(customers, self.company)
        self.assertEqual(self.env.cr.sql_log_count - queries, 1)
        self.assertEqual(figures[self.customer.id]["credit_aging_31_60"], 1500.0)
        self.assertEqual(figures[self.individual.id]["credit_aging_1_30"], 300.0)

    # ------------------------------------------------------------------
    # Wording (point 17)
    # ------------------------------------------------------------------

    def test_available_credit_says_no_limit_and_shows_excess_in_red(self):
        self.company.credit_zero_limit_policy = "no_limit"
        unlimited = self._create_customer("Unlimited Customer")
        self._create_invoice(unlimited, 400.0, days_overdue=-10)
        page = self._arch("res.partner", "form", self.salesperson).xpath(
            "//page[@name='credit_collections']"
        )[0]
        block = page.xpath(".//div[@name='credit_available']")[0]
        field = block.xpath("./field[@name='credit_available']")[0]
        no_limit = block.xpath("./span")[0]
        self.assertEqual(field.get("decoration-danger"), "credit_available < 0")

        def shown(partner):
            values = {"credit_has_limit": partner.credit_has_limit}
            if safe_eval(field.get("invisible"), values):
                return no_limit.text
            return partner.credit_available

        self.assertEqual(shown(self._credit(unlimited.with_user(self.salesperson))), "No limit")
        # 1,500 overdue against a limit of 1,000: 500 over, in red.
        over = self._credit(self.customer.with_user(self.salesperson))
        self.assertEqual(shown(over), -500.0)

    def test_pending_request_shows_requested_amount_approved_one_approved_amount(self):
        self.company.credit_approver_id = self.credit_manager
        order = self._create_order(self.customer, 500.0, user=self.salesperson)
        order.with_user(self.salesperson).action_request_credit_approval()
        request = order.credit_approval_ids
        form = self._arch("credit.approval.request", "form", self.credit_manager)
        amounts = form.xpath("//field[@name='amount']")
        self.assertEqual(self._visible_labels(amounts, {"state": "pending"}), ["Requested Amount"])
        columns = self._arch("credit.approval.request", "list", self.salesperson)
        self.assertEqual(
            columns.xpath("//field[@name='amount']")[0].get("string"), "Requested Amount"
        )
        request.with_user(self.credit_manager).action_approve()
        self.assertEqual(
            self._visible_labels(amounts, {"state": request.state}), ["Approved Amount"]
        )

    def test_overdue_only_refusal_advises_collecting_not_reducing_the_order(self):
        self.company.credit_zero_limit_policy = "no_limit"
        late = self._create_customer("Late Payer")
        self._create_invoice(late, 800.0, days_overdue=40)
        engine = self.env["credit.exposure"]
        snapshot = engine._get_snapshots(late, self.company)[late.id]
        self.assertEqual(snapshot["blocking_rules"], ["_rule_overdue"])
        self.assertEqual(
            engine._get_blocking_advice(snapshot["blocking_rules"]),
            "What to do: collect the overdue invoices, or ask a credit manager for an "
            'exception with "Request Credit Approval".',
        )
        over = engine._get_snapshots(self.customer, self.company)[self.customer.id]
        self.assertEqual(over["blocking_rules"], ["_rule_over_limit", "_rule_overdue"])
        self.assertIn("reduce the order", engine._get_blocking_advice(over["blocking_rules"]))

    def test_salesperson_refused_for_overdue_only_is_told_to_collect_not_to_reduce(self):
        self.company.credit_zero_limit_policy = "no_limit"
        late = self._create_customer("Late Orderer")
        self._create_invoice(late, 800.0, days_overdue=40)
        order = self._create_order(late, 100.0, user=self.salesperson)
        with self.assertRaises(UserError) as refusal:
            order.with_user(self.salesperson).action_confirm()
        message = str(refusal.exception)
        self.assertIn("What to do: collect the overdue invoices, or ask a credit manager", message)
        self.assertNotIn("reduce the order", message)
        self.assertEqual(order.state, "draft")
