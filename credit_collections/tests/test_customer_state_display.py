import json
from datetime import timedelta
from unittest.mock import patch

from odoo import Command
from odoo.modules.migration import load_script
from odoo.tests import tagged
from odoo.tools import SQL

from .common import CreditCollectionsCommon

MIGRATION = "credit_collections/migrations/18.0.1.4.0/post-migrate.py"


@tagged("post_install", "-at_install")
class TestCustomerStateDisplay(CreditCollectionsCommon):
    """The partner's status fields are shown, sorted and grouped from the
    customer's stored state (credit.customer.state) in the current company:
    what a list shows is what its filters, sorts and groupings find."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._credit_create_default_followup_policy()
        cls.company.credit_followup_start_mode = "oldest_item"
        cls.State = cls.env["credit.customer.state"]
        # Limit 1,000.00 each. Blocked: 1,500.00 due 30 days ago (over the
        # limit, overdue). Warning: 950.00 not yet due (95 % of the limit, over
        # the 90 % threshold). OK: 100.00 not yet due.
        cls.blocked = cls.customer
        cls.warning = cls._create_customer("Warning Customer", limit=1000.0)
        cls.fine = cls._create_customer("Fine Customer", limit=1000.0)
        cls._create_invoice(cls.blocked, 1500.0, days_overdue=30)
        cls._create_invoice(cls.warning, 950.0, days_overdue=-10)
        cls._create_invoice(cls.fine, 100.0, days_overdue=-10)
        cls.customers = cls.blocked | cls.warning | cls.fine

    def _partners(self, user=None):
        Partner = self.env["res.partner"].with_company(self.company)
        return Partner.with_user(user) if user else Partner

    def _state(self, partner):
        return self.State.search(
            [("partner_id", "=", partner.id), ("company_id", "=", self.company.id)]
        )

    # ------------------------------------------------------------------
    # Sorting and grouping
    # ------------------------------------------------------------------

    def test_customer_list_sorts_on_the_credit_status_by_severity(self):
        Partner = self._partners(self.collector)
        domain = [("id", "in", self.customers.ids)]
        self.assertEqual(
            Partner.search(domain, order="credit_status desc, id").ids,
            [self.blocked.id, self.warning.id, self.fine.id],
        )
        self.assertEqual(
            Partner.search(domain, order="credit_status, id").ids,
            [self.fine.id, self.warning.id, self.blocked.id],
        )
        # Over the limit first: only the blocked customer is (1,500 > 1,000).
        self.assertEqual(
            Partner.search(domain, order="credit_over_limit desc, id").ids[:1], self.blocked.ids
        )
        # Follow-ups: the overdue customer needs an action, the others wait
        # (no_action < waiting < action_needed in the selection's order).
        ordered = Partner.search(domain, order="followup_status desc, id")
        self.assertEqual(ordered[:1], self.blocked)
        self.assertEqual(ordered[0].followup_status, "action_needed")

    def test_customer_list_groups_on_the_statuses(self):
        Partner = self._partners(self.collector)
        domain = [("id", "in", self.customers.ids)]
        groups = dict(Partner._read_group(domain, ["credit_status"], ["__count"]))
        self.assertEqual(groups, {"blocked": 1, "warning": 1, "ok": 1})
        groups = dict(Partner._read_group(domain, ["credit_over_limit"], ["__count"]))
        self.assertEqual(groups, {True: 1, False: 2})
        groups = dict(Partner._read_group(domain, ["followup_status"], ["__count"]))
        self.assertEqual(groups["action_needed"], 1)
        self.assertEqual(sum(groups.values()), 3)
        # What the list's web client sees: sortable and groupable columns.
        described = Partner.fields_get(
            ["credit_status", "credit_over_limit", "followup_status"], ["sortable", "groupable"]
        )
        for name, description in described.items():
            with self.subTest(field=name):
                self.assertTrue(description["sortable"])
                self.assertTrue(description["groupable"])

    def test_contacts_sort_and_group_with_their_company(self):
        contact = self.env["res.partner"].create(
            {"name": "Blocked's bookkeeper", "parent_id": self.blocked.id}
        )
        Partner = self._partners()
        domain = [("id", "in", (contact | self.fine).ids)]
        self.assertEqual(Partner.search(domain, order="credit_status desc").ids[0], contact.id)
        groups = dict(Partner._read_group(domain, ["credit_status"], ["__count"]))
        self.assertEqual(groups, {"blocked": 1, "ok": 1})

    def test_sorting_follows_the_state_of_the_current_company(self):
        other = self.setup_other_company(name="Display Company B")["company"]
        # In company B the fine customer owes 1,500.00 for 30 days; the blocked
        # customer owes nothing there.
        self.fine.with_company(other).write(
            {"credit_limit": 1000.0, "use_partner_credit_limit": True}
        )
        other.write(
            {
                "account_use_credit_limit": True,
                "credit_check_over_limit": True,
                "credit_check_overdue": True,
            }
        )
        self._create_invoice(self.fine, 1500.0, days_overdue=30, company=other)
        domain = [("id", "in", (self.blocked | self.fine).ids)]
        order = "credit_status desc, id"
        in_a = self.env["res.partner"].with_company(self.company).search(domain, order=order)
        in_b = self.env["res.partner"].with_company(other).search(domain, order=order)
        self.assertEqual(in_a.ids, [self.blocked.id, self.fine.id])
        self.assertEqual(in_b.ids, [self.fine.id, self.blocked.id])
        self.assertEqual(in_b[0].credit_status, "blocked")
        self.assertEqual(in_b[1].credit_status, "ok")

    def test_sorting_recomputes_stale_states_first(self):
        domain = [("id", "in", (self.fine | self.warning).ids)]
        order = "credit_status desc, id"
        self.assertEqual(self._partners().search(domain, order=order)[:1], self.warning)
        # The fine customer is now 2,000.00 overdue: blocked, though its state
        # was fresh a moment ago.
        self._create_invoice(self.fine, 2000.0, days_overdue=40)
        self.assertEqual(self._partners().search(domain, order=order)[:1], self.fine)

    # ------------------------------------------------------------------
    # Display
    # ------------------------------------------------------------------

    def test_statuses_shown_are_the_stored_state(self):
        for partner in self.customers:
            shown = partner.with_company(self.company)
            state = self._state(partner)
            with self.subTest(customer=partner.name):
                self.assertEqual(shown.credit_status, state.credit_status)
                self.assertEqual(shown.credit_over_limit, state.over_limit)
                self.assertEqual(shown.followup_status, state.followup_status)
                self.assertEqual(shown.followup_next_action_date, state.followup_next_action_date)
        self.assertEqual(
            [p.with_company(self.company).credit_status for p in self.customers],
            ["blocked", "warning", "ok"],
        )
        # A customer without any state: nothing owed, nothing to do.
        newcomer = self._create_customer("Newcomer", limit=1000.0)
        self.env["credit.customer.state"].search([("partner_id", "=", newcomer.id)]).sudo().unlink()
        self.assertEqual(newcomer.with_company(self.company).credit_status, "ok")
        self.assertEqual(newcomer.with_company(self.company).followup_status, "no_action")
        self.assertFalse(newcomer.with_company(self.company).credit_over_limit)

    def test_a_change_shows_at_once_and_agrees_with_the_filter(self):
        partner = self.fine.with_company(self.company)
        self.assertEqual(partner.credit_status, "ok")
        # 1,200.00 more, not yet due: 1,300.00 against a limit of 1,000.00.
        self._create_invoice(self.fine, 1200.0, days_overdue=-5)
        self.assertEqual(partner.credit_status, "blocked")
        self.assertTrue(partner.credit_over_limit)
        found = self._partners().search(
            [("credit_status", "=", "blocked"), ("id", "in", self.customers.ids)]
        )
        self.assertIn(self.fine, found)

    def _bulk_customers(self, count):
        """count customers, one in ten with a state (an invoice of 1,500.00 due 30
        days ago, over its limit of 1,000.00), the others without."""
        partners = self.env["res.partner"].create(
            [{"name": f"List {count} {index}", "is_company": True} for index in range(count)]
        )
        owing = partners[::10]
        owing.with_company(self.company).write(
            {"credit_limit": 1000.0, "use_partner_credit_limit": True}
        )
        due = self.today - timedelta(days=30)
        self.env["account.move"].create(
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
                for partner in owing
            ]
        ).action_post()
        # Fresh, as after the daily refresh (twice: flushing what the first
        # computed may mark some stale again).
        for _pass in range(2):
            self.env.flush_all()
            self.State._credit_refresh(self.company)
        self.env.flush_all()
        return partners, owing

    def _read_statuses(self, partners):
        rows = (
            partners.with_user(self.collector)
            .with_company(self.company)
            .read(
                [
                    "credit_status",
                    "credit_over_limit",
                    "followup_status",
                    "followup_next_action_date",
                ]
            )
        )
        return {row["id"]: row for row in rows}

    def _read_queries(self, partners):
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        self._read_statuses(partners)
        return self.env.cr.sql_log_count - before

    def test_a_list_of_80_customers_reads_their_statuses_in_constant_queries(self):
        small, _small_owing = self._bulk_customers(8)
        self._read_statuses(small)  # warm the access-rule caches
        # The partners, then their states in one query: as many for 8 as for 80.
        queries = self._read_queries(small)
        # The partners, the company, the user and its partner (for today in its
        # time zone), the states.
        self.assertLessEqual(queries, 5)
        large, owing = self._bulk_customers(80)
        self.env.invalidate_all()
        with self.assertQueryCount(queries):
            rows = self._read_statuses(large)
        # What is shown is each one's state: the owing blocked and over their
        # limit, the others without a state OK.
        states = {
            state.partner_id.id: state
            for state in self.State.search([("partner_id", "in", large.ids)])
        }
        self.assertEqual(set(states), set(owing.ids))
        for partner in large:
            row = rows[partner.id]
            state = states.get(partner.id)
            self.assertEqual(row["credit_status"], state.credit_status if state else "ok")
            self.assertEqual(row["credit_over_limit"], bool(state and state.over_limit))
            self.assertEqual(
                row["followup_status"], state.followup_status if state else "no_action"
            )
        self.assertEqual({rows[partner.id]["credit_status"] for partner in owing}, {"blocked"})
        self.assertTrue(all(rows[partner.id]["credit_over_limit"] for partner in owing))

    def _stale_ids(self, partners):
        # Noted stale or computed for another day. In SQL: a search would
        # refresh the company's states first.
        self.env.cr.execute(
            SQL(
                "SELECT partner_id FROM credit_customer_state "
                "WHERE company_id = %(company)s AND partner_id = ANY(%(ids)s) "
                "AND state_date IS DISTINCT FROM %(today)s "
                "UNION SELECT partner_id FROM credit_customer_state_stale "
                "WHERE company_id = %(company)s AND partner_id = ANY(%(ids)s) "
                "ORDER BY partner_id",
                company=self.company.id,
                ids=partners.ids,
                today=self.today,
            )
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def test_a_stale_page_recomputes_its_stale_states_only(self):
        partners, owing = self._bulk_customers(20)
        self.assertEqual(len(owing), 2)
        # One of the owing customers pays everything: its state goes stale.
        invoice = self.env["account.move"].search(
            [("partner_id", "=", owing[0].id), ("move_type", "=", "out_invoice")]
        )
        self._pay(invoice, 1500.0)
        self.env.flush_all()
        self.State._credit_persist_stale()
        stale = self._stale_ids(partners)
        self.assertIn(owing[0].id, stale)
        self.assertNotIn(owing[1].id, stale)
        recomputed = []
        original = type(self.State)._credit_recompute

        def spy(model, partners, company, today):
            recomputed.append(sorted(partners.ids))
            return original(model, partners, company, today)

        with patch.object(type(self.State), "_credit_recompute", spy):
            rows = self._read_statuses(partners)
        self.assertEqual(recomputed, [stale])
        self.assertEqual(rows[owing[0].id]["credit_status"], "ok")
        self.assertEqual(rows[owing[1].id]["credit_status"], "blocked")
        self.assertFalse(self._stale_ids(partners))

    # ------------------------------------------------------------------
    # Migration 18.0.1.4.0: the bookkeeping moved from res.partner
    # ------------------------------------------------------------------

    def test_migration_moves_the_followup_bookkeeping_to_the_states(self):
        """Rows as 18.0.1.3.0 left them: the bookkeeping on res.partner in
        company-dependent jsonb columns {company id: value}."""
        other = self.setup_other_company(name="Migration Company B")["company"]
        level_a = self.env["credit.followup.policy"]._get_company_default(self.company).level_ids
        level_b = self.env["credit.followup.policy"]._get_company_default(other).level_ids
        contact = self.env["res.partner"].create({"name": "Contact", "parent_id": self.fine.id})
        # The warning customer had no bookkeeping; the fine one, only in company B.
        self.State.search([]).sudo().unlink()
        self.env.flush_all()
        cr = self.env.cr
        for column, column_type in (
            ("followup_level_id", "jsonb"),
            ("followup_episode", "jsonb"),
            ("followup_last_date", "jsonb"),
        ):
            cr.execute(
                SQL(
                    "ALTER TABLE res_partner ADD COLUMN %s %s",
                    SQL.identifier(column),
                    SQL(column_type),
                )
            )
        a, b = str(self.company.id), str(other.id)
        old_rows = {
            # blocked: level 2 of A in its 3rd episode, followed up on 2026-03-02;
            # level 1 of B, episode 1, 2026-01-15.
            self.blocked: (
                {a: level_a[2].id, b: level_b[1].id},
                {a: 3, b: 1},
                {a: "2026-03-02", b: "2026-01-15"},
            ),
            self.fine: ({b: level_b[0].id}, {b: 1}, {b: "2026-02-20"}),
            # A contact's own values were never used: the customer's are.
            contact: ({a: level_a[4].id}, {a: 9}, {a: "2025-12-31"}),
        }
        for partner, (levels, episodes, dates) in old_rows.items():
            cr.execute(
                SQL(
                    "UPDATE res_partner SET followup_level_id = %s::jsonb, "
                    "followup_episode = %s::jsonb, followup_last_date = %s::jsonb WHERE id = %s",
                    json.dumps(levels),
                    json.dumps(episodes),
                    json.dumps(dates),
                    partner.id,
                )
            )
        load_script(MIGRATION, "credit_collections_migration_18_0_1_4_0").migrate(cr, "18.0.1.3.0")
        self.env.invalidate_all()
        cr.execute(
            SQL(
                "SELECT partner_id, company_id, followup_level_id, followup_episode, "
                "followup_last_date::text FROM credit_customer_state "
                "WHERE partner_id = ANY(%s) AND followup_level_id IS NOT NULL",
                (self.customers | contact).ids,
            )
        )
        moved = {(row[0], row[1]): row[2:] for row in cr.fetchall()}
        self.assertEqual(
            moved,
            {
                (self.blocked.id, self.company.id): (level_a[2].id, 3, "2026-03-02"),
                (self.blocked.id, other.id): (level_b[1].id, 1, "2026-01-15"),
                (self.fine.id, other.id): (level_b[0].id, 1, "2026-02-20"),
            },
        )
        # The old columns are gone; the partners show the moved values.
        cr.execute(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'res_partner' "
            "AND column_name IN ('followup_level_id', 'followup_episode', 'followup_last_date')"
        )
        self.assertEqual(cr.fetchone()[0], 0)
        shown = self.blocked.with_company(self.company)
        self.assertEqual(shown.followup_level_id, level_a[2])
        self.assertEqual(shown.followup_episode, 3)
        self.assertEqual(str(shown.followup_last_date), "2026-03-02")
        self.assertEqual(contact.with_company(other).followup_level_id, level_b[0])
        # Every customer with credit activity has its state again, to compute.
        self.assertTrue(self._state(self.warning))
