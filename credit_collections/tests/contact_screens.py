"""Opening a contact as the web client does, as any user: shared by the tests of
credit_collections and of its bridges (an Inventory user needs stock installed)."""

from lxml import etree

from odoo.tests import Form

# What the addon adds to a contact: a field or a button of it in a screen a user
# gets means the user sees it.
ADDON_PREFIXES = ("credit_", "followup_", "action_credit", "action_followup", "action_view_credit")
ADDON_ACTIONS_PREFIX = "credit_collections."


class ContactScreensMixin:
    """get_views, then the reads the web client makes to show them, as the user."""

    def _web_client_spec(self, spec, model, models_info):
        """The spec as the web client sends it: many2one fields read with their
        display name, x2many fields with the fields of their list."""
        fields_info = models_info.get(model, {}).get("fields", {})
        result = {}
        for name, sub_spec in spec.items():
            info = fields_info.get(name, {})
            if info.get("type") in ("many2one", "reference"):
                result[name] = dict(sub_spec, fields={"display_name": {}})
            elif info.get("type") in ("one2many", "many2many"):
                sub_fields = sub_spec.get("fields") or {"display_name": {}}
                result[name] = dict(
                    sub_spec,
                    fields=self._web_client_spec(sub_fields, info["relation"], models_info),
                )
            else:
                result[name] = sub_spec
        return result

    def _arch_spec(self, arch, model, models_info):
        tree = etree.fromstring(arch)
        names = {node.get("name") for node in tree.xpath("//field[not(ancestor::field)]")}
        return self._web_client_spec({name: {} for name in names}, model, models_info)

    def _open_contact(self, partner, user):
        """Open the partner's list, kanban and form as the user, reading every field
        each shows; returns {view type: arch} and the toolbar of the list."""
        partners = self.env["res.partner"].with_user(user)
        views = partners.get_views(
            [(False, "list"), (False, "kanban"), (False, "form"), (False, "search")],
            {"toolbar": True},
        )
        for view_type in ("list", "kanban"):
            spec = self._arch_spec(
                views["views"][view_type]["arch"], "res.partner", views["models"]
            )
            found = partners.web_search_read([("id", "=", partner.id)], spec)
            self.assertEqual(found["length"], 1, f"{user.login}: {view_type} of {partner.name}")
        # Form reads the record with the spec of the form view, as the web client.
        form = Form(partner.with_user(user))
        spec = self._web_client_spec(form._view["fields_spec"], "res.partner", form._models_info)
        [values] = partner.with_user(user).web_read(spec)
        self.assertEqual(values["id"], partner.id)
        # Every field of the addon the user may read, as an export or a script over
        # RPC reads them.
        partner.with_user(user).read(self._addon_fields_readable(partner.with_user(user)))
        arches = {view_type: views["views"][view_type]["arch"] for view_type in views["views"]}
        return arches, views["views"]["list"]["toolbar"]

    def _addon_fields_readable(self, records):
        return [
            name
            for name, field in records._fields.items()
            if field._module
            and field._module.startswith("credit_collections")
            and field.is_accessible(records.env)
        ]

    def _addon_names_in(self, arch):
        """Names of the fields and buttons of the addon in the arch."""
        tree = etree.fromstring(arch)
        names = {node.get("name") for node in tree.xpath("//field | //button") if node.get("name")}
        return {name for name in names if name.startswith(ADDON_PREFIXES)}

    def _addon_toolbar_actions(self, toolbar):
        return [
            action
            for actions in toolbar.values()
            for action in actions
            if (action.get("xml_id") or "").startswith(ADDON_ACTIONS_PREFIX)
        ]
