from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestAppsTour(HttpCase):
    def test_admin_sees_credit_collections_installed_in_apps(self):
        module = self.env["ir.module.module"].search([("name", "=", "credit_collections")])
        self.assertEqual(module.state, "installed")
        self.assertTrue(module.application)
        self.start_tour("/odoo/apps", "credit_collections_apps_tour", login="admin")
