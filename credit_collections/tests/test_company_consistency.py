from odoo.tests import TransactionCase, tagged

from odoo.addons.credit_collections.models.credit_guarded_mixin import GUARDED_MODULES

# Not company-owned records: a user's company_id is the company they work in by
# default, not an owner (Odoo puts no check_company on its own user fields).
NOT_COMPANY_OWNED = {"res.users"}


@tagged("post_install", "-at_install")
class TestCompanyConsistency(TransactionCase):
    def test_relations_to_company_records_are_checked(self):
        """Every stored relation the addon adds to a model that checks companies
        (_check_company_auto), towards records that belong to a company, has
        check_company=True: a record of one company never points to another
        company's customer, item, invoice, level, plan, journal or product. A
        new field without it fails here."""
        missing = []
        for name in sorted(self.env.registry):
            model = self.env[name]
            if not model._check_company_auto:
                continue
            for field_name, field in model._fields.items():
                if (
                    field.type in ("many2one", "many2many")
                    and getattr(field, "_module", None) in GUARDED_MODULES
                    and field.store
                    and not field.related
                    and not field.automatic
                    and field_name not in ("create_uid", "write_uid")
                    and field.comodel_name not in NOT_COMPANY_OWNED
                    and "company_id" in self.env[field.comodel_name]._fields
                    and not field.check_company
                ):
                    missing.append(f"{name}.{field_name}")
        self.assertEqual(missing, [], "add check_company=True to these fields")

    def test_the_walk_finds_fields_of_the_addon(self):
        """The walk above is not empty-handed: the promise's items are one of the
        relations it judges."""
        field = self.env["credit.promise"]._fields["move_line_ids"]
        self.assertIn(field._module, GUARDED_MODULES)
        self.assertTrue(self.env["credit.promise"]._check_company_auto)
        self.assertTrue(field.check_company)
