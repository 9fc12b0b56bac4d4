from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestSecurity(CreditCollectionsCommon):
    def test_credit_manager_is_also_collector(self):
        manager_group = self.env.ref("credit_collections.group_credit_manager")
        user_group = self.env.ref("credit_collections.group_credit_user")
        self.assertIn(user_group, manager_group.implied_ids)
        self.assertTrue(self.credit_manager.has_group("credit_collections.group_credit_user"))

    def test_accounting_administrator_is_credit_manager(self):
        self.assertTrue(self.accountant.has_group("credit_collections.group_credit_manager"))
        self.assertTrue(
            self.env.ref("base.user_admin").has_group("credit_collections.group_credit_manager")
        )

    def test_collector_is_not_credit_manager(self):
        self.assertTrue(self.collector.has_group("credit_collections.group_credit_user"))
        self.assertFalse(self.collector.has_group("credit_collections.group_credit_manager"))

    def test_salesperson_has_no_collections_group(self):
        self.assertFalse(self.salesperson.has_group("credit_collections.group_credit_user"))
        self.assertFalse(self.salesperson.has_group("credit_collections.group_credit_manager"))

    def test_groups_share_the_credit_collections_category(self):
        category = self.env.ref("credit_collections.module_category_credit_collections")
        self.assertEqual(category.name, "Credit & Collections")
        groups = self.env["res.groups"].search([("category_id", "=", category.id)])
        self.assertEqual(set(groups.mapped("name")), {"Collector", "Credit Manager"})

    def test_salesperson_cannot_edit_credit_configuration(self):
        company = self.company_data["company"].with_user(self.salesperson)
        with self.assertRaises(AccessError):
            company.write({"credit_hold_overdue_days": 5})
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.salesperson).create(
                {"credit_hold_overdue_days": 5}
            )
        self.assertEqual(self.company_data["company"].credit_hold_overdue_days, 30)

    def test_collector_cannot_edit_credit_configuration(self):
        with self.assertRaises(AccessError):
            self.env["res.config.settings"].with_user(self.collector).create(
                {"credit_warning_percent": 50}
            )

    def test_collections_menus_are_restricted_to_their_groups(self):
        root = self.env.ref("credit_collections.menu_credit_collections_root")
        configuration = self.env.ref("credit_collections.menu_credit_collections_configuration")
        self.assertEqual(root.groups_id, self.env.ref("credit_collections.group_credit_user"))
        self.assertEqual(
            configuration.groups_id, self.env.ref("credit_collections.group_credit_manager")
        )
        admin_menus = (
            self.env["ir.ui.menu"].with_user(self.env.ref("base.user_admin"))._visible_menu_ids()
        )
        self.assertTrue({root.id, configuration.id} <= admin_menus)
        salesperson_menus = self.env["ir.ui.menu"].with_user(self.salesperson)._visible_menu_ids()
        self.assertFalse({root.id, configuration.id} & salesperson_menus)
