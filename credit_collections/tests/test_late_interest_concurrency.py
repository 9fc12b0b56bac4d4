import threading
from datetime import timedelta
from unittest.mock import patch

from psycopg2 import errors

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged
from odoo.tools import mute_logger

from odoo.addons.credit_collections.models.credit_interest_run import INTEREST_LOCK_KEY


@tagged("post_install", "-at_install")
class TestLateInterestConcurrency(BaseCase):
    """Two interest runs charging the same customer at the same moment, in two
    connections, on committed data: each day is charged once, one invoice."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            self.grace = env.ref("base.main_company").credit_interest_grace_days
            self.partner_ids, self.invoice_ids = [], []
            self.partner_id = self._create_late_payer(env, "Parallel late payer")
        self.run_ids = []
        self.addCleanup(self._remove_data)

    def _create_late_payer(self, env, name):
        """A customer with its own table, 1.5 % a month whatever the company's
        settings, and 10,000.00 due 60 days ago. :return: its id"""
        company = env.ref("base.main_company")
        partner = env["res.partner"].create(
            {"name": name, "is_company": True, "email": "lp@example.com"}
        )
        env["credit.interest.rate"].create(
            {
                "name": "1.5 % a month",
                "company_id": company.id,
                "partner_id": partner.id,
                "date_from": "2000-01-01",
                "rate": 18.0,
            }
        )
        due = fields.Date.context_today(env.user) - timedelta(days=60)
        invoice = env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "company_id": company.id,
                "invoice_date": due,
                "invoice_date_due": due,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Goods", "price_unit": 10000.0, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        self.partner_ids.append(partner.id)
        self.invoice_ids.append(invoice.id)
        return partner.id

    def _remove_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            runs = env["credit.interest.run"].browse(self.run_ids).exists()
            charged = runs.invoice_ids
            # Invoiced runs are kept by the addon: removed by hand with their data.
            cr.execute("DELETE FROM credit_interest_accrual WHERE run_id = ANY(%s)", [runs.ids])
            cr.execute("DELETE FROM credit_interest_run WHERE id = ANY(%s)", [runs.ids])
            invoices = env["account.move"].browse(self.invoice_ids)
            for move in charged | invoices:
                move.button_draft()
            (charged | invoices).with_context(force_delete=True).unlink()
            partners = env["res.partner"].browse(self.partner_ids)
            env["credit.interest.rate"].search([("partner_id", "in", partners.ids)]).unlink()
            env["mail.message"].search(
                [("model", "=", "res.partner"), ("res_id", "in", partners.ids)]
            ).unlink()
            partners.unlink()

    def _manual_run(self, env):
        # Manual runs: a company has one scheduled run a month (see
        # TestScheduledInterestRunConcurrency), several manual ones.
        interest_run = env["credit.interest.run"].create(
            {"company_id": env.ref("base.main_company").id}
        )
        self.run_ids.append(interest_run.id)
        return interest_run

    def _in_threads(self, *targets):
        failures = []

        def run(target):
            try:
                target()
            except Exception as error:
                failures.append(error)

        threads = [threading.Thread(target=run, args=(target,)) for target in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        return failures

    def _assert_charged_once(self, partner_ids):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            for partner in env["res.partner"].browse(partner_ids):
                accruals = env["credit.interest.accrual"].search(
                    [
                        ("partner_id", "=", partner.id),
                        ("state", "=", "invoiced"),
                        ("kind", "=", "interest"),
                    ]
                )
                # 1.5 % a month, without grace days: 10,000.00 x 18 % x 60 / 365 =
                # 295.890... -> 295.89, once (the demo company may have grace days).
                days = 60 - self.grace
                self.assertRecordValues(
                    accruals, [{"days": days, "amount": round(10000 * 0.18 * days / 365, 2)}]
                )
                invoices = env["account.move"].search(
                    [("partner_id", "=", partner.id), ("credit_charge_type", "=", "interest")]
                )
                self.assertEqual(len(invoices), 1)
                self.assertEqual(accruals.invoice_line_id.move_id, invoices)
                self.assertFalse(
                    partner.message_ids.filtered(
                        lambda message: "could not" in (message.body or "")
                    )
                )

    def test_two_runs_at_once_charge_each_day_once(self):
        barrier = threading.Barrier(2)

        def charge():
            retry = False
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                partner = env["res.partner"].browse(self.partner_id)
                interest_run = self._manual_run(env)
                # Both have read the customer's items before either charges them.
                interest_run._prepare_accrual_vals_list(partner)
                barrier.wait(timeout=30)
                # What the scheduled action does for each batch of customers.
                try:
                    interest_run._credit_batch_dispatch(partner)
                except errors.SerializationFailure:
                    # The batch runner gives the call up; the scheduler calls again.
                    retry = True
            if retry:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    partner = env["res.partner"].browse(self.partner_id)
                    self._manual_run(env)._credit_batch_dispatch(partner)

        # The second run either finds the customer locked by the first and leaves
        # it to it, or, locking it once the first committed but working on what it
        # read before, is refused by the accruals' unique index (Odoo's SQL layer
        # logs the refused query) or by a serialization failure, then called again
        # on fresh data: nothing posted on the customer, one invoice.
        with mute_logger("odoo.sql_db"):
            self.assertFalse(self._in_threads(charge, charge))
        self._assert_charged_once([self.partner_id])

    def test_a_customer_held_by_another_worker_is_left_to_it(self):
        # Two workers meet on a customer: the one that holds it charges it, the
        # other charges the rest of its batch meanwhile, without waiting (the lock
        # is per customer, not per company).
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            other = self._create_late_payer(env, "Parallel other late payer")
        held, done = threading.Barrier(2), threading.Barrier(2)

        def holder():
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                partner = env["res.partner"].browse(self.partner_id)
                locked = env["credit.batch.mixin"]._credit_try_lock_customers(
                    partner, key=INTEREST_LOCK_KEY
                )
                self.assertEqual(locked, partner)
                held.wait(timeout=30)
                done.wait(timeout=60)
                self._manual_run(env)._credit_batch_dispatch(partner)

        def batch():
            held.wait(timeout=30)
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    partners = env["res.partner"].browse([self.partner_id, other])
                    self._manual_run(env)._credit_batch_dispatch(partners)
                    accruals = env["credit.interest.accrual"].search(
                        [("partner_id", "in", partners.ids), ("state", "=", "invoiced")]
                    )
                    self.assertEqual(accruals.partner_id.ids, [other], "the held one left")
            finally:
                done.wait(timeout=60)

        self.assertFalse(self._in_threads(holder, batch))
        self._assert_charged_once([self.partner_id, other])


@tagged("post_install", "-at_install")
class TestScheduledInterestRunConcurrency(BaseCase):
    """Two scheduled actions starting the month's interest run of a company at
    the same moment, in two connections: one scheduled run, the second start
    refused by the database and left to the first."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            self.company_id = company.id
            companies = env["res.company"].search([])
            # Committed settings of every company, put back afterwards.
            self.settings = {
                company.id: {
                    "credit_interest_enabled": company.credit_interest_enabled,
                    "credit_interest_run_day": company.credit_interest_run_day,
                }
                for company in companies
            }
            (companies - company).write({"credit_interest_enabled": False})
            company.write({"credit_interest_enabled": True, "credit_interest_run_day": 1})
            today = fields.Date.context_today(env.user)
            self.assertFalse(
                env["credit.interest.run"].search(
                    [
                        ("company_id", "=", company.id),
                        ("scheduled", "=", True),
                        ("date", ">=", today.replace(day=1)),
                    ]
                ),
                "no scheduled run of this month yet",
            )
            self.before = env["credit.interest.run"].search([]).ids
        self.addCleanup(self._restore)

    def _restore(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            runs = env["credit.interest.run"].search([("id", "not in", self.before)])
            charged = runs.invoice_ids
            for move in charged:
                move.button_draft()
            charged.with_context(force_delete=True).unlink()
            env["mail.activity"].search(
                [("res_model", "=", "credit.interest.run"), ("res_id", "in", runs.ids)]
            ).unlink()
            env["mail.message"].search(
                [("model", "=", "credit.interest.run"), ("res_id", "in", runs.ids)]
            ).unlink()
            # Invoiced runs are kept by the addon: removed by hand with their data.
            cr.execute("DELETE FROM credit_interest_accrual WHERE run_id = ANY(%s)", [runs.ids])
            cr.execute("DELETE FROM credit_interest_run WHERE id = ANY(%s)", [runs.ids])
            for company_id, vals in self.settings.items():
                env["res.company"].browse(company_id).write(vals)

    def test_two_scheduled_starts_create_one_run(self):
        barrier = threading.Barrier(2)
        errors = []
        run_class = self.registry["credit.interest.run"]
        create = run_class.create

        def create_together(records, vals_list):
            # Both have looked for this month's run, and found none.
            barrier.wait(timeout=30)
            return create(records, vals_list)

        def start():
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    env["credit.interest.run"]._cron_accrue_late_interest()
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=start) for _index in range(2)]
        with patch.object(run_class, "create", create_together):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=180)
        self.assertFalse(errors)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            today = fields.Date.context_today(env.user)
            runs = env["credit.interest.run"].search(
                [
                    ("company_id", "=", self.company_id),
                    ("scheduled", "=", True),
                    ("date", ">=", today.replace(day=1)),
                ]
            )
            self.assertEqual(len(runs), 1)
