from lxml import etree

from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from .common import CreditCollectionsCommon

SPECIFICATION = {
    "display_name": {},
    "credit_overdue_amount": {},
    "credit_oldest_overdue_days": {},
    "credit_status": {},
    "followup_status": {},
}


@tagged("post_install", "-at_install")
class TestCustomerWorklist(CreditCollectionsCommon):
    """Issue 20 point 14: after the first run every customer reads "Waiting";
    the customer lists tell the collector where to start: largest overdue
    first, then the oldest overdue, and their own customers ("My Customers")."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._credit_create_default_followup_policy()
        cls.other_collector = cls._create_user(
            "cc_other_collector", "credit_collections.group_credit_user"
        )
        # Overdue: Big 2,500.00 (10 days), Old 400.00 (120 days) and Mid
        # 400.00 (30 days), the same amount as Old: the oldest comes first.
        # Prompt owes 900.00 not yet due: 0.00 overdue, last.
        cls.big = cls._create_customer("Worklist Big", followup_responsible_id=cls.collector.id)
        cls.old = cls._create_customer(
            "Worklist Old", followup_responsible_id=cls.other_collector.id
        )
        # No collector: its salesperson, the collector, gets its follow-ups.
        cls.mid = cls._create_customer("Worklist Mid", user_id=cls.collector.id)
        cls.prompt = cls._create_customer(
            "Worklist Prompt", followup_responsible_id=cls.collector.id
        )
        cls._create_invoice(cls.big, 2500.0, days_overdue=10)
        cls._create_invoice(cls.old, 400.0, days_overdue=120)
        cls._create_invoice(cls.mid, 400.0, days_overdue=30)
        cls._create_invoice(cls.prompt, 900.0, days_overdue=-20)
        cls.ours = cls.big | cls.old | cls.mid | cls.prompt

    def _action(self, xmlid):
        return self.env["ir.actions.act_window"]._for_xml_id(xmlid)

    def _list_order(self, action):
        list_view = {mode: view for view, mode in action["views"]}["list"]
        arch = self.env["res.partner"].with_user(self.collector).get_views([(list_view, "list")])
        return etree.fromstring(arch["views"]["list"]["arch"]).get("default_order")

    def _filter_domain(self, name, user):
        arch = self.env["res.partner"].with_user(user).get_views([(False, "search")])
        node = etree.fromstring(arch["views"]["search"]["arch"]).xpath(f"//filter[@name='{name}']")
        self.assertTrue(node, f"{user.login} has no filter {name}")
        return safe_eval(node[0].get("domain"), {"uid": user.id})

    def _page(self, user, domain, order):
        Partner = self.env["res.partner"].with_user(user).with_company(self.company)
        return Partner.web_search_read(domain, SPECIFICATION, order=order, limit=80)["records"]

    def test_customers_list_starts_with_the_largest_overdue_then_the_oldest(self):
        action = self._action("credit_collections.action_credit_customers")
        order = self._list_order(action)
        self.assertEqual(order, "credit_overdue_amount desc, credit_oldest_overdue_days desc, id")
        domain = [*safe_eval(action["domain"]), ("id", "in", self.ours.ids)]
        rows = self._page(self.collector, domain, order)
        self.assertEqual(
            [(row["display_name"], row["credit_overdue_amount"]) for row in rows],
            [
                ("Worklist Big", 2500.0),
                ("Worklist Old", 400.0),
                ("Worklist Mid", 400.0),
                ("Worklist Prompt", 0.0),
            ],
        )
        self.assertEqual([row["credit_oldest_overdue_days"] for row in rows], [10, 120, 30, 0])
        # The columns the collector clicks sort the same way, ascending too.
        fields = (
            self.env["res.partner"]
            .with_user(self.collector)
            .fields_get(
                ["credit_overdue_amount", "credit_oldest_overdue_days", "followup_status"],
                ["sortable"],
            )
        )
        self.assertTrue(all(field["sortable"] for field in fields.values()), fields)
        oldest_last = self._page(self.collector, domain, "credit_oldest_overdue_days asc, id")
        self.assertEqual(
            [row["display_name"] for row in oldest_last],
            ["Worklist Prompt", "Worklist Big", "Worklist Mid", "Worklist Old"],
        )

    def test_sorted_list_follows_a_payment_at_once(self):
        # Big pays 2,200.00 of its 2,500.00: 300.00 overdue, now below Old and Mid.
        invoice = self.env["account.move"].search([("partner_id", "=", self.big.id)])
        self._pay(invoice, 2200.0)
        rows = self._page(
            self.collector,
            [("id", "in", self.ours.ids)],
            "credit_overdue_amount desc, credit_oldest_overdue_days desc, id",
        )
        self.assertEqual(
            [(row["display_name"], row["credit_overdue_amount"]) for row in rows],
            [
                ("Worklist Old", 400.0),
                ("Worklist Mid", 400.0),
                ("Worklist Big", 300.0),
                ("Worklist Prompt", 0.0),
            ],
        )

    def test_my_customers_are_the_collectors_own_largest_overdue_first(self):
        action = self._action("credit_collections.action_credit_my_customers")
        self.assertEqual(action["name"], "My Customers")
        self.assertEqual(safe_eval(action["context"])["search_default_followup_my_customers"], 1)
        order = self._list_order(action)
        domain = [
            *safe_eval(action["domain"]),
            *self._filter_domain("followup_my_customers", self.collector),
            ("id", "in", self.ours.ids),
        ]
        rows = self._page(self.collector, domain, order)
        # Old is the other collector's; Mid has no collector and is the
        # collector's as salesperson.
        self.assertEqual(
            [row["display_name"] for row in rows],
            ["Worklist Big", "Worklist Mid", "Worklist Prompt"],
        )
        other = self._filter_domain("followup_my_customers", self.other_collector)
        found = (
            self.env["res.partner"]
            .with_user(self.other_collector)
            .search([*other, ("id", "in", self.ours.ids)])
        )
        self.assertEqual(found, self.old)

    def test_my_customers_filter_on_the_customer_states(self):
        arch = (
            self.env["credit.customer.state"]
            .with_user(self.collector)
            .get_views([(False, "list"), (False, "search")])
        )
        list_arch = etree.fromstring(arch["views"]["list"]["arch"])
        self.assertEqual(
            list_arch.get("default_order"), "overdue_amount desc, oldest_overdue_date, partner_id"
        )
        node = etree.fromstring(arch["views"]["search"]["arch"]).xpath(
            "//filter[@name='my_customers']"
        )
        self.assertEqual(node[0].get("string"), "My Customers")
        domain = safe_eval(node[0].get("domain"), {"uid": self.collector.id})
        States = self.env["credit.customer.state"].with_user(self.collector)
        states = States.search(
            [*domain, ("partner_id", "in", self.ours.ids), ("company_id", "=", self.company.id)],
            order=list_arch.get("default_order"),
        )
        self.assertEqual(states.partner_id, self.big | self.mid | self.prompt)
        self.assertEqual(states.mapped("partner_id.name")[0], "Worklist Big")

    def test_sorting_by_overdue_takes_the_same_queries_for_more_customers(self):
        order = "credit_overdue_amount desc, credit_oldest_overdue_days desc, id"
        Partner = self.env["res.partner"].with_user(self.collector).with_company(self.company)

        def queries(customers):
            # The states are fresh, as after the day's first look at the list.
            Partner.web_search_read([("id", "in", customers.ids)], SPECIFICATION, order=order)
            self.env.invalidate_all()
            before = self.env.cr.sql_log_count
            rows = Partner.web_search_read(
                [("id", "in", customers.ids)], SPECIFICATION, order=order
            )["records"]
            self.assertEqual(len(rows), len(customers))
            return self.env.cr.sql_log_count - before

        def add(count):
            customers = self.env["res.partner"]
            for index in range(count):
                customer = self._create_customer(f"Worklist More {index}")
                self._create_invoice(customer, 100.0 + index, days_overdue=5 + index)
                customers |= customer
            return customers

        few = self.ours | add(4)
        many = few | add(12)
        # Once each first: the registry's caches (record rules) filled for both.
        queries(few)
        queries(many)
        counts = (queries(few), queries(many))
        self.assertEqual(counts[1], counts[0], f"a query per customer: {counts}")
