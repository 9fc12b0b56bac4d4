from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from odoo.addons.credit_collections.tests.common import CreditCollectionsCommon
from odoo.addons.credit_collections.tests.guarded_fields import GuardedFieldsAttacks


@tagged("post_install", "-at_install")
class TestDeliveryGuardedFields(GuardedFieldsAttacks, CreditCollectionsCommon):
    """The deliveries' override fields, attacked from the registry like those of
    credit_collections, by the roles that touch deliveries."""

    guard_modules = ("credit_collections_stock",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.guard_roles = {
            "inventory_user": cls._create_user("g_stock", "stock.group_stock_user"),
            "salesperson": cls._create_user("g_sales", "sales_team.group_sale_salesman"),
            "credit_manager": cls._create_user(
                "g_manager", "stock.group_stock_user,credit_collections.group_credit_manager"
            ),
            "portal": cls._create_user("g_portal", "base.group_portal"),
        }
        order = cls._create_order(cls.customer, 500.0)
        order.action_confirm()
        cls.picking = order.picking_ids
        # On hold: over the limit and overdue for more than 30 days.
        cls._create_invoice(cls.customer, 800.0, days_overdue=40)
        cls.guard_samples = {"stock.picking": cls.picking}

    def test_every_field_of_the_bridge_is_guarded_or_declared_free(self):
        self._assert_every_field_classified()

    def test_override_fields_resist_every_path_as_every_role(self):
        self.assertGreater(self._attack_model("stock.picking"), 0)

    def test_copy_of_a_held_delivery_cannot_claim_an_override(self):
        user = self.guard_roles["inventory_user"]
        forged = {
            "credit_override_user_id": self.credit_manager.id,
            "credit_override_reason": "Approved on the phone",
        }
        with self.assertRaises(AccessError) as caught:
            self.picking.with_user(user).copy(default=forged)
        self.assertIn("Credit Hold Overridden By", str(caught.exception))
        with self.assertRaises(AccessError):
            self.picking.with_user(user).with_context(
                default_credit_override_user_id=self.credit_manager.id
            ).copy()
        with self.assertRaises(AccessError):
            self.picking.with_user(user).write(forged)
        self.assertFalse(self.picking.credit_override_user_id)
        with self.assertRaises(UserError):
            self.picking.with_user(user).button_validate()
