from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import Form, HttpCase, new_test_user, tagged

from .common import CreditCollectionsCommon
from .contact_screens import ContactScreensMixin

# What only those who may read the records behind it see on a contact: credit
# approvals, follow-ups, promises, open items, and the buttons opening them.
RESTRICTED = {
    "credit_approval_ids",
    "action_view_credit_approvals",
    "action_view_credit_receivables",
    "action_view_credit_overdue",
    "action_view_credit_orders",
    "action_view_credit_draft_invoices",
    "action_view_followup_history",
    "followup_history_ids",
    "credit_promise_ids",
    "credit_open_line_ids",
    "followup_line_ids",
}


@tagged("post_install", "-at_install")
class TestContactAccess(ContactScreensMixin, CreditCollectionsCommon):
    """Odoo's contacts keep working for every internal user, whatever their apps:
    each sees of the addon what they may read, and nothing else."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._credit_create_default_followup_policy()
        cls.employee = cls._create_user("cc_employee", "base.group_user")
        cls.contact_creator = cls._create_user(
            "cc_contact_creator", "base.group_user,base.group_partner_manager"
        )
        cls.portal_user = cls._create_user("cc_portal", "base.group_portal")
        cls.portal_user.partner_id.parent_id = cls.customer
        # Everything the Credit tab lists: an approval request, a follow-up, a promise.
        cls._create_invoice(cls.customer, 1500.0, days_overdue=40)
        order = cls._create_order(cls.customer, 500.0, user=cls.salesperson)
        order.with_user(cls.salesperson).action_request_credit_approval()
        # As the follow-up run writes it (nobody creates a history by hand).
        cls.env["credit.followup.history"].sudo().create(
            {"partner_id": cls.customer.id, "company_id": cls.company.id, "overdue_amount": 1500.0}
        )
        cls.env["credit.promise"].create(
            {"partner_id": cls.customer.id, "amount": 100.0, "promised_date": cls.today}
        )

    def _assert_contact_opens_without_credit_records(self, user):
        arches, toolbar = self._open_contact(self.customer, user)
        for partner in (self.customer, self.portal_user.partner_id):
            self._open_contact(partner, user)
        form = self._addon_names_in(arches["form"])
        self.assertFalse(form & RESTRICTED, f"{user.login} sees {form & RESTRICTED}")
        # What the delivery and the order show them already: the customer's status.
        self.assertIn("credit_status", form)
        for view_type in ("list", "kanban"):
            self.assertFalse(self._addon_names_in(arches[view_type]) & RESTRICTED)
        self.assertFalse(self._addon_toolbar_actions(toolbar), "no follow-up action to click")
        return form

    def test_plain_employee_opens_a_contact(self):
        self.assertTrue(self.customer.credit_approval_ids, "there is an approval to hide")
        self.assertTrue(self.customer.followup_history_ids, "and a follow-up")
        self._assert_contact_opens_without_credit_records(self.employee)
        with self.assertRaises(AccessError):
            self.customer.with_user(self.employee).credit_approval_ids  # noqa: B018

    def test_contact_creation_user_opens_creates_and_edits_contacts(self):
        self._assert_contact_opens_without_credit_records(self.contact_creator)
        with Form(self.env["res.partner"].with_user(self.contact_creator)) as new_contact:
            new_contact.name = "New Contact Ltd"
            new_contact.company_type = "company"
        self.assertEqual(new_contact.record.name, "New Contact Ltd")
        with Form(self.customer.with_user(self.contact_creator)) as contact:
            contact.phone = "+1 555 0100"
        self.assertEqual(self.customer.phone, "+1 555 0100")

    def test_portal_user_gets_nothing_of_the_addon(self):
        partner = self.portal_user.partner_id.with_user(self.portal_user)
        views = partner.get_views([(False, "form")])
        self.assertFalse(self._addon_names_in(views["views"]["form"]["arch"]))
        self.assertFalse(
            self._addon_fields_readable(partner),
            "no credit field in what a customer may read of itself",
        )
        with self.assertRaises(AccessError):
            partner.read(["credit_status"])

    def test_roles_that_may_read_credit_records_still_see_them(self):
        # The restriction is by what each may read, not a blanket one.
        form = self._addon_names_in(self._open_contact(self.customer, self.salesperson)[0]["form"])
        self.assertTrue(
            {"credit_approval_ids", "action_view_credit_approvals", "action_view_credit_overdue"}
            <= form
        )
        form = self._addon_names_in(self._open_contact(self.customer, self.collector)[0]["form"])
        self.assertTrue(
            {"credit_approval_ids", "followup_history_ids", "credit_promise_ids"} <= form
        )


@tagged("post_install", "-at_install")
class TestContactAccessTour(HttpCase):
    def test_plain_employee_opens_a_contact_and_its_credit_tab(self):
        new_test_user(self.env, login="tour_employee", groups="base.group_user")
        company = self.env.ref("base.main_company")
        company.write({"account_use_credit_limit": True, "credit_check_over_limit": True})
        customer = self.env["res.partner"].create({"name": "Tour Contact Co", "is_company": True})
        customer.write({"credit_limit": 1000.0, "use_partner_credit_limit": True})
        product = self.env["product.product"].create({"name": "Tour product", "taxes_id": []})
        order = self.env["sale.order"].create(
            {
                "partner_id": customer.id,
                "order_line": [
                    Command.create({"product_id": product.id, "price_unit": 1500.0, "tax_id": []})
                ],
            }
        )
        order.action_request_credit_approval()
        self.assertTrue(customer.credit_approval_ids)
        self.start_tour(
            f"/odoo/res.partner/{customer.id}",
            "credit_collections_employee_contact_tour",
            login="tour_employee",
        )
