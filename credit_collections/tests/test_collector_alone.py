from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.mail.tools.discuss import Store

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCollectorAlone(CreditCollectionsCommon):
    """A user with only the Collector group, as the demo collector is, does the
    collector's job: excludes and disputes items, and posts notes and messages on
    the customers they chase; nothing else of the items or the customers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls._create_invoice(cls.customer, 400.0, days_overdue=20)
        cls.item = cls.invoice.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        cls.billing = cls._create_user("cc_billing_only", "account.group_account_invoice")
        cls.vendor = cls.env["res.partner"].create({"name": "Only a vendor", "is_company": True})

    def _notes(self, record):
        return record.message_ids.filtered(
            lambda message: message.author_id == self.collector.partner_id
        )

    def test_collector_has_only_the_shipped_group(self):
        groups = self.collector.groups_id
        self.assertFalse(groups & self.env.ref("account.group_account_invoice"))
        self.assertFalse(groups & self.env.ref("base.group_partner_manager"))
        self.assertFalse(self.invoice.with_user(self.collector).has_access("write"))

    def test_collector_excludes_an_item_with_the_wizard(self):
        wizard = (
            self.env["credit.followup.exclude.wizard"]
            .with_user(self.collector)
            .create({"move_line_ids": [(6, 0, self.item.ids)], "reason": "Quantity disputed"})
        )
        wizard.action_exclude()
        self.assertTrue(self.item.followup_excluded)
        self.assertEqual(self.item.followup_exclusion_reason, "Quantity disputed")
        self.assertIn("Quantity disputed", self._notes(self.invoice)[:1].body)
        self.assertIn("Quantity disputed", self._notes(self.customer)[:1].body)

    def test_collector_writes_the_exclusion_of_an_item_and_of_an_invoice(self):
        item = self.item.with_user(self.collector)
        item.write({"followup_excluded": True, "followup_exclusion_reason": "Litigation"})
        self.assertTrue(self.item.followup_excluded)
        item.write({"followup_excluded": False})
        self.assertFalse(self.item.followup_excluded)
        self.assertIn("Followed up again", self._notes(self.invoice)[:1].body)
        # On the invoice's form: carried by its receivable items.
        self.invoice.with_user(self.collector).write(
            {"followup_excluded": True, "followup_exclusion_reason": "Credit note to come"}
        )
        self.assertEqual(
            (self.item.followup_excluded, self.item.followup_exclusion_reason),
            (True, "Credit note to come"),
        )

    def test_collector_writes_nothing_else_of_items_and_invoices(self):
        item = self.item.with_user(self.collector)
        for vals in (
            {"name": "Changed"},
            {"followup_excluded": True, "name": "Changed"},
            {"followup_excluded": True, "date_maturity": self.today},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                item.write(vals)
        with self.assertRaises(AccessError):
            self.invoice.with_user(self.collector).write({"ref": "Changed"})
        income = self.invoice.line_ids - self.item
        with self.assertRaises(ValidationError):
            income.with_user(self.collector).write({"followup_excluded": True})
        self.assertFalse((self.invoice.line_ids).mapped("followup_excluded").count(True))
        self.assertNotEqual(self.item.name, "Changed")

    def test_billing_user_without_collector_group_cannot_exclude(self):
        with self.assertRaises(AccessError):
            self.item.with_user(self.billing).write({"followup_excluded": True})
        with self.assertRaises(AccessError):
            self.invoice.with_user(self.billing).write(
                {"followup_excluded": True, "followup_exclusion_reason": "No"}
            )
        self.assertFalse(self.item.followup_excluded)

    def test_collector_logs_a_disputed_call(self):
        wizard = (
            self.env["credit.followup.call.wizard"]
            .with_user(self.collector)
            .with_context(active_model="res.partner", active_id=self.customer.id)
            .create(
                {
                    "outcome": "disputed",
                    "move_line_ids": [(6, 0, self.item.ids)],
                    "exclusion_reason": "Goods damaged",
                }
            )
        )
        wizard.action_log()
        self.assertEqual(
            (self.item.followup_excluded, self.item.followup_exclusion_reason),
            (True, "Goods damaged"),
        )

    def test_collector_posts_notes_and_messages_on_customers_they_chase(self):
        customer = self.customer.with_user(self.collector)
        self.assertFalse(customer.has_access("write"))
        note = customer.message_post(body="Called, will pay Friday", subtype_xmlid="mail.mt_note")
        message = customer.message_post(body="Your statement", message_type="comment")
        self.assertEqual((note | message).author_id, self.collector.partner_id)
        self.assertEqual(set((note | message).mapped("model")), {"res.partner"})
        # What the chatter's controllers ask before posting or attaching.
        Partner = self.env["res.partner"].with_user(self.collector)
        self.assertEqual(
            Partner._get_thread_with_access(self.customer.id, Partner._mail_post_access),
            self.customer,
        )
        # The chatter shows Send Message and Log Note.
        store = Store()
        customer._thread_to_store(store, request_list=["followers"])
        threads = store.get_result()["mail.thread"]
        self.assertTrue(threads[0]["canPostOnReadonly"])
        # The customer itself is not editable for all that.
        with self.assertRaises(AccessError):
            customer.write({"name": "Renamed"})

    def test_posting_stays_closed_on_other_partners_and_for_other_roles(self):
        vendor = self.vendor.with_user(self.collector)
        with self.assertRaises(AccessError):
            vendor.message_post(body="Not a customer", subtype_xmlid="mail.mt_note")
        Partner = self.env["res.partner"].with_user(self.collector)
        self.assertFalse(Partner._get_thread_with_access(self.vendor.id, "write"))
        with self.assertRaises(AccessError):
            self.customer.with_user(self.salesperson).message_post(
                body="Not a collector", subtype_xmlid="mail.mt_note"
            )
        Partner = self.env["res.partner"].with_user(self.salesperson)
        self.assertFalse(Partner._get_thread_with_access(self.customer.id, "write"))
