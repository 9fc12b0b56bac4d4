import threading
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.tests import BaseCase, get_db_name, tagged


@tagged("post_install", "-at_install")
class TestInstallmentPlanConcurrency(BaseCase):
    """One plan activated from two browser tabs at the same moment, in two
    connections, on committed data: one entry, the other tab refused."""

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            partner = env["res.partner"].create({"name": "Two Tabs Debtor", "is_company": True})
            today = fields.Date.context_today(env.user)
            invoice = env["account.move"].create(
                {
                    "move_type": "out_invoice",
                    "partner_id": partner.id,
                    "invoice_date": today - timedelta(days=30),
                    "invoice_date_due": today - timedelta(days=30),
                    "invoice_payment_term_id": False,
                    "invoice_line_ids": [
                        Command.create({"name": "Goods", "price_unit": 600.0, "tax_ids": []})
                    ],
                }
            )
            invoice.action_post()
            plan = env["credit.installment.plan"].create(
                {
                    "partner_id": partner.id,
                    "source_line_ids": [
                        Command.set(
                            invoice.line_ids.filtered(
                                lambda line: line.account_type == "asset_receivable"
                            ).ids
                        )
                    ],
                    "installment_count": 2,
                    "first_due_date": today + timedelta(days=30),
                }
            )
            plan.action_compute_schedule()
            self.partner_id, self.invoice_id, self.plan_id = partner.id, invoice.id, plan.id
        self.addCleanup(self._remove_data)

    def _remove_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            plan = env["credit.installment.plan"].browse(self.plan_id)
            moves = env["account.move"].search([("credit_installment_plan_id", "=", plan.id)])
            moves |= env["account.move"].browse(self.invoice_id)
            for move in moves:
                move.button_draft()
            moves.with_context(force_delete=True).unlink()
            cr.execute("DELETE FROM credit_installment_plan WHERE id = %s", [plan.id])
            env["mail.message"].search(
                [("model", "=", "res.partner"), ("res_id", "=", self.partner_id)]
            ).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def test_activating_from_two_tabs_at_once_posts_one_entry(self):
        barrier = threading.Barrier(2)
        outcomes = []

        def activate():
            try:
                with self.registry.cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    plan = env["credit.installment.plan"].browse(self.plan_id)
                    # Read before the other tab activates it.
                    plan.fetch(["state"])
                    barrier.wait(timeout=30)
                    plan.action_activate()
                outcomes.append("activated")
            except UserError as error:
                outcomes.append(str(error))

        threads = [threading.Thread(target=activate) for _index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertIn("activated", outcomes)
        self.assertEqual(len(outcomes), 2)
        refused = [outcome for outcome in outcomes if outcome != "activated"]
        self.assertEqual(len(refused), 1, outcomes)
        self.assertTrue(
            "being activated" in refused[0] or "already activated" in refused[0], refused
        )
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            plan = env["credit.installment.plan"].browse(self.plan_id)
            self.assertEqual(plan.state, "active")
            entries = env["account.move"].search(
                [("credit_installment_plan_id", "=", plan.id), ("state", "=", "posted")]
            )
            self.assertEqual(entries, plan.move_id)
