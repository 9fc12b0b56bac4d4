from datetime import timedelta
from unittest.mock import patch

from freezegun import freeze_time

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCustomerState(CreditCollectionsCommon):
    """The stored state of each customer (credit.customer.state) answers the
    searches on its statuses in SQL, and the events keep it current."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._credit_create_default_followup_policy()
        cls.company.credit_followup_start_mode = "oldest_item"
        cls.State = cls.env["credit.customer.state"]
        cls.other_company = cls.setup_other_company(name="State Company B")["company"]

    def _state(self, partner, company=None):
        self.State._credit_refresh(company or self.company)
        return self.State.search(
            [("partner_id", "=", partner.id), ("company_id", "=", (company or self.company).id)]
        )

    def _found(self, domain, partners):
        Partner = self.env["res.partner"].with_company(self.company)
        return Partner.search([*domain, ("id", "in", partners.ids)])

    def test_timeline_of_a_customer_is_searchable_at_each_step(self):
        customer = self.customer  # limit 1,000.00
        blocked = [("credit_status", "=", "blocked")]
        self.assertFalse(self._found(blocked, customer))
        self.assertEqual(self._found([("credit_status", "=", "ok")], customer), customer)
        # 1,500.00 due 30 days ago: over the limit (1,500 > 1,000) and overdue.
        invoice = self._create_invoice(customer, 1500.0, days_overdue=30)
        self.assertEqual(self._found(blocked, customer), customer)
        self.assertEqual(self._found([("credit_over_limit", "=", True)], customer), customer)
        self.assertEqual(
            self._found([("followup_status", "=", "action_needed")], customer), customer
        )
        self.assertEqual(
            self._found([("credit_oldest_overdue_days", ">=", 30)], customer), customer
        )
        self.assertFalse(self._found([("credit_oldest_overdue_days", ">", 30)], customer))
        state = self._state(customer)
        self.assertEqual(state.overdue_amount, 1500.0)
        self.assertEqual(state.oldest_overdue_date, self.today - timedelta(days=30))
        # Paid 1,000.00: 500.00 left, under the limit, still overdue (the company
        # holds overdue customers).
        self._pay(invoice, 1000.0)
        self.assertFalse(self._found([("credit_over_limit", "=", True)], customer))
        self.assertEqual(self._state(customer).overdue_amount, 500.0)
        # A promise to pay: follow-ups wait for it.
        self.env["credit.promise"].create(
            {
                "partner_id": customer.id,
                "company_id": self.company.id,
                "amount": 500.0,
                "promised_date": self.today + timedelta(days=10),
            }
        )
        self.assertEqual(self._found([("followup_status", "=", "promised")], customer), customer)
        # Paid in full: nothing to do, and not blocked.
        self._pay(invoice, 500.0)
        self.assertFalse(self._found(blocked, customer))
        live = customer.with_company(self.company).followup_status
        self.assertNotEqual(live, "action_needed")
        self.assertEqual(self._found([("followup_status", "=", live)], customer), customer)
        self.assertEqual(self._found([("credit_oldest_overdue_days", "=", 0)], customer), customer)

    def test_manual_hold_and_limit_change_update_the_state(self):
        customer = self.customer.with_user(self.credit_manager).with_company(self.company)
        self._create_invoice(self.customer, 800.0, days_overdue=-10)
        blocked = [("credit_status", "=", "blocked")]
        self.assertFalse(self._found(blocked, self.customer))
        customer.write({"credit_hold": True, "credit_hold_reason": "Disputed deliveries"})
        self.assertEqual(self._found(blocked, self.customer), self.customer)
        customer.write({"credit_hold": False})
        self.assertFalse(self._found(blocked, self.customer))
        # 800.00 open against a new limit of 500.00.
        customer._credit_set_limit(500.0, "Lower risk appetite")
        self.assertEqual(self._found(blocked, self.customer), self.customer)
        self.assertIn("Lower risk appetite", self.customer.message_ids[0].body)

    def test_company_settings_change_every_state_of_the_company(self):
        self._create_invoice(self.customer, 1500.0, days_overdue=-10)
        blocked = [("credit_status", "=", "blocked")]
        self.assertEqual(self._found(blocked, self.customer), self.customer)
        self.company.credit_check_over_limit = False
        self.assertFalse(self._found(blocked, self.customer))

    def test_a_new_day_recomputes_the_states(self):
        # Due in 5 days: nothing overdue today, 10 days overdue in 15 days.
        self._create_invoice(self.customer, 100.0, days_overdue=-5)
        overdue = [("credit_oldest_overdue_days", ">=", 10)]
        self.assertFalse(self._found(overdue, self.customer))
        with freeze_time(self.today + timedelta(days=15)):
            self.assertEqual(self._found(overdue, self.customer), self.customer)

    def test_followup_bookkeeping_is_kept_on_the_state(self):
        self._create_invoice(self.customer, 300.0, days_overdue=20)
        self._run_followup_cron()
        partner = self.customer.with_company(self.company)
        state = self._state(self.customer)
        self.assertTrue(state.followup_level_id)
        self.assertEqual(partner.followup_level_id, state.followup_level_id)
        self.assertEqual(partner.followup_last_date, self.today)
        self.assertEqual(state.followup_status, "waiting")
        # Every contact of the customer shows it.
        contact = self.env["res.partner"].create({"name": "Bookkeeper", "parent_id": partner.id})
        self.assertEqual(
            contact.with_company(self.company).followup_level_id, state.followup_level_id
        )
        # The other company has its own (none).
        other = self.other_company
        self.assertFalse(self.customer.with_company(other).followup_level_id)

    def test_nobody_sets_the_state_by_hand(self):
        self._create_invoice(self.customer, 1500.0, days_overdue=30)
        state = self._state(self.customer)
        level = self.env["credit.followup.policy"]._get_company_default(self.company).level_ids[:1]
        for user in (self.collector, self.credit_manager, self.accountant):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    state.with_user(user).write({"credit_status": "ok"})
                with self.assertRaises(AccessError):
                    self.customer.with_user(user).with_company(self.company).write(
                        {"followup_level_id": level.id}
                    )
        self.assertEqual(state.credit_status, "blocked")

    def test_states_of_another_company_are_not_visible(self):
        other = self.other_company
        self._create_invoice(self.customer, 100.0, days_overdue=10, company=other)
        self._create_invoice(self.customer, 100.0, days_overdue=10)
        self.assertTrue(self._state(self.customer, other))
        states = self.State.with_user(self.collector).search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(states.company_id, self.company)

    def test_a_fact_provider_plugs_a_status_in_without_editing_the_engine(self):
        self._create_invoice(self.customer, 300.0, days_overdue=20)
        engine = self.env["credit.followup.engine"]
        providers = engine._get_fact_providers()

        def disputed(partners, company, facts_of):
            for facts in facts_of.values():
                facts["promised"] = True  # a dispute, say, waits like a promise

        with patch.object(type(engine), "_get_fact_providers", lambda self: [*providers, disputed]):
            state = engine._get_states(self.customer, self.company)[self.customer.id]
        self.assertEqual(state["status"], "promised")

    # ------------------------------------------------------------------
    # Constant queries
    # ------------------------------------------------------------------

    def _post_invoices_of_customers(self, count):
        """count customers with one invoice of 1,500.00 each, due 30 days ago,
        over their limit of 1,000.00: all posted at once."""
        partners = self.env["res.partner"].create(
            [{"name": f"Bulk {count} {index}", "is_company": True} for index in range(count)]
        )
        partners.with_company(self.company).write(
            {"credit_limit": 1000.0, "use_partner_credit_limit": True}
        )
        due = self.today - timedelta(days=30)
        invoices = self.env["account.move"].create(
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": due,
                    "invoice_date_due": due,
                    "invoice_payment_term_id": False,
                    "invoice_line_ids": [
                        Command.create(
                            {"name": "Goods", "quantity": 1, "price_unit": 1500.0, "tax_ids": []}
                        )
                    ],
                }
                for partner in partners
            ]
        )
        self.env.flush_all()
        self.State._credit_persist_stale()
        invoices.action_post()
        self.env.flush_all()
        return partners

    def _queries(self, fn):
        self.env.flush_all()
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        fn()
        self.env.flush_all()
        return self.env.cr.sql_log_count - before

    def _search_statuses(self):
        Partner = self.env["res.partner"].with_company(self.company)
        return (
            Partner.search([("credit_status", "=", "blocked")]),
            Partner.search([("followup_status", "=", "action_needed")]),
        )

    def test_search_by_status_takes_the_same_queries_for_10_and_200_customers(self):
        self._search_statuses()  # warm the access-rule caches
        counts = {}
        for count in (10, 200):
            partners = self._post_invoices_of_customers(count)
            # Marking stale what posting changed: one query, whatever the count.
            persist = self._queries(self.State._credit_persist_stale)
            # The first search recomputes the stale states, together.
            refresh = self._queries(self._search_statuses)
            blocked, needed = self._search_statuses()
            self.assertEqual(blocked & partners, partners)
            self.assertEqual(needed & partners, partners)
            counts[count] = (persist, refresh)
            if count == 200:
                self.assertEqual(counts[10], counts[200])
                # States fresh: the searches alone.
                self.env.invalidate_all()
                with self.assertQueryCount(counts["fresh"]):
                    self._search_statuses()
            else:
                counts["fresh"] = self._queries(self._search_statuses)
        self.assertEqual(counts[200][0], 1)
