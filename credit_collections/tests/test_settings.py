from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestSettings(CreditCollectionsCommon):
    def test_credit_settings_save_and_reload(self):
        settings = Form(self.env["res.config.settings"])
        self.assertEqual(settings.credit_warning_percent, 90.0)
        self.assertEqual(settings.credit_hold_overdue_days, 30)
        settings.credit_warning_percent = 75.0
        settings.credit_hold_overdue_days = 45
        settings.save().execute()

        reloaded = self.env["res.config.settings"].create({})
        self.assertEqual(reloaded.credit_warning_percent, 75.0)
        self.assertEqual(reloaded.credit_hold_overdue_days, 45)
        company = self.env.company
        self.assertEqual(
            (company.credit_warning_percent, company.credit_hold_overdue_days), (75.0, 45)
        )

    def test_settings_belong_to_each_company(self):
        other_company = self.setup_other_company()["company"]
        self.env.company.credit_hold_overdue_days = 10
        self.assertEqual(other_company.credit_hold_overdue_days, 30)

    def test_settings_section_is_in_accounting_settings(self):
        arch = self.env["res.config.settings"].get_view(view_type="form")["arch"]
        self.assertIn('id="credit_collections_settings"', arch)
        self.assertIn('name="credit_warning_percent"', arch)

    def test_every_company_setting_of_the_addon_is_in_the_settings_screen(self):
        arch = self.env["res.config.settings"].get_view(view_type="form")["arch"]
        company_fields = self.env["res.company"]._fields
        settings_fields = self.env["res.config.settings"]._fields
        for name, field in company_fields.items():
            if field._module != "credit_collections" or field.groups == "base.group_system":
                continue
            with self.subTest(setting=name):
                self.assertIn(name, settings_fields)
                self.assertEqual(settings_fields[name].related, f"company_id.{name}")
                self.assertIn(f'name="{name}"', arch)

    def test_bad_settings_are_refused_naming_the_field(self):
        with self.assertRaisesRegex(ValidationError, "Credit Warning Threshold"):
            self.env.company.credit_warning_percent = 120
        with self.assertRaisesRegex(ValidationError, "Hold After Overdue Days"):
            self.env.company.credit_hold_overdue_days = -1
