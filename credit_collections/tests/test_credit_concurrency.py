import threading

from odoo import SUPERUSER_ID, Command, api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.service.model import retrying
from odoo.tests import BaseCase, get_db_name, tagged


@tagged("post_install", "-at_install")
class TestCreditConcurrency(BaseCase):
    """Two salespeople confirm orders of one customer at the same moment.

    Runs on committed data in separate database connections, as two requests
    would, and removes what it created.
    """

    def setUp(self):
        super().setUp()
        self.registry = Registry(get_db_name())
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            company = env.ref("base.main_company")
            company.write({"account_use_credit_limit": True, "credit_check_over_limit": True})
            partner = env["res.partner"].create({"name": "Race customer", "is_company": True})
            partner.with_company(company).write(
                {"credit_limit": 1000.0, "use_partner_credit_limit": True}
            )
            product = env["product.product"].create({"name": "Race product", "taxes_id": []})
            orders = env["sale.order"].create(
                [
                    {
                        "partner_id": partner.id,
                        "company_id": company.id,
                        "order_line": [
                            Command.create(
                                {
                                    "product_id": product.id,
                                    "price_unit": 600.0,
                                    "tax_id": [Command.clear()],
                                }
                            )
                        ],
                    }
                    for _index in range(2)
                ]
            )
            self.partner_id, self.product_id, self.order_ids = partner.id, product.id, orders.ids
        self.addCleanup(self._remove_data)

    def _remove_data(self):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].browse(self.order_ids)
            orders.filtered(lambda order: order.state == "sale")._action_cancel()
            orders.unlink()
            env["product.product"].browse(self.product_id).unlink()
            env["res.partner"].browse(self.partner_id).unlink()

    def test_two_orders_confirmed_at_once_cannot_both_pass_the_limit(self):
        barrier = threading.Barrier(2)
        outcomes = {}

        def confirm(order_id):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                # Both transactions take their snapshot before either confirms.
                env["sale.order"].browse(order_id).read(["state"])
                barrier.wait(timeout=30)

                def attempt():
                    env["sale.order"].browse(order_id).action_confirm()

                try:
                    retrying(attempt, env)
                    outcomes[order_id] = "confirmed"
                except UserError as error:
                    outcomes[order_id] = str(error)

        threads = [threading.Thread(target=confirm, args=(oid,)) for oid in self.order_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertEqual(len(outcomes), 2, outcomes)
        confirmed = [oid for oid, outcome in outcomes.items() if outcome == "confirmed"]
        self.assertEqual(len(confirmed), 1, outcomes)
        refused = next(outcome for outcome in outcomes.values() if outcome != "confirmed")
        self.assertIn("Over credit limit", refused)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            states = env["sale.order"].browse(self.order_ids).mapped("state")
            self.assertEqual(sorted(states), ["draft", "sale"])

    def test_two_confirmed_orders_raised_at_once_cannot_both_pass_the_limit(self):
        # Both confirmed at 100.00 (200.00 of a 1,000.00 limit); each salesperson
        # raises one to 600.00: 600.00 + 100.00 = 700.00 passes alone, both together
        # would be 1,200.00. The second one waits for the first and is refused.
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            orders = env["sale.order"].browse(self.order_ids)
            orders.order_line.write({"price_unit": 100.0})
            orders.action_confirm()
        barrier = threading.Barrier(2)
        outcomes = {}

        def raise_order(order_id):
            with self.registry.cursor() as cr:
                env = api.Environment(cr, SUPERUSER_ID, {})
                env["sale.order"].browse(order_id).read(["amount_total"])
                barrier.wait(timeout=30)

                def attempt():
                    env["sale.order"].browse(order_id).order_line.write({"price_unit": 600.0})

                try:
                    retrying(attempt, env)
                    outcomes[order_id] = "raised"
                except UserError as error:
                    # As the RPC call would: the refused change is rolled back.
                    cr.rollback()
                    outcomes[order_id] = str(error)

        threads = [threading.Thread(target=raise_order, args=(oid,)) for oid in self.order_ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        self.assertEqual(len(outcomes), 2, outcomes)
        raised = [oid for oid, outcome in outcomes.items() if outcome == "raised"]
        self.assertEqual(len(raised), 1, outcomes)
        refused = next(outcome for outcome in outcomes.values() if outcome != "raised")
        self.assertIn("cannot be changed", refused)
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            totals = env["sale.order"].browse(self.order_ids).mapped("amount_total")
            self.assertEqual(sorted(totals), [100.0, 600.0])
