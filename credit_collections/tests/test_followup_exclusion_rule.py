from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestFollowupExclusionRule(CreditCollectionsCommon):
    """One rule for leaving an item out of follow-ups, whatever the way in: only a
    collector, only a receivable item, never without a reason. The forms ask
    for the reason; these calls are what an RPC client sends instead."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.invoice = cls._create_invoice(cls.customer, 400.0, days_overdue=20)
        cls.item = cls.invoice.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )

    def _assert_not_excluded(self):
        self.item.invalidate_recordset()
        self.assertFalse(self.item.followup_excluded)
        self.assertFalse(self.item.followup_exclusion_reason)

    def test_rpc_write_on_the_item_without_a_reason_is_refused(self):
        item = self.item.with_user(self.collector)
        for vals in (
            {"followup_excluded": True},
            {"followup_excluded": True, "followup_exclusion_reason": ""},
            {"followup_excluded": True, "followup_exclusion_reason": "   "},
            {"followup_excluded": True, "followup_exclusion_reason": False},
        ):
            with self.subTest(vals=vals), self.assertRaisesRegex(ValidationError, "say why"):
                item.write(vals)
        self._assert_not_excluded()

    def test_rpc_write_on_the_invoice_without_a_reason_is_refused(self):
        invoice = self.invoice.with_user(self.collector)
        with self.assertRaisesRegex(ValidationError, "say why"):
            invoice.write({"followup_excluded": True})
        with self.assertRaisesRegex(ValidationError, "say why"):
            invoice.write({"followup_excluded": True, "followup_exclusion_reason": " "})
        self._assert_not_excluded()

    def test_wizard_without_a_reason_is_refused(self):
        wizard = (
            self.env["credit.followup.exclude.wizard"]
            .with_user(self.collector)
            .create({"move_line_ids": [(6, 0, self.item.ids)], "reason": "  "})
        )
        with self.assertRaisesRegex(ValidationError, "say why"):
            wizard.action_exclude()
        self._assert_not_excluded()

    def test_call_log_never_excludes_without_a_reason(self):
        partner = self.customer.with_user(self.collector).with_company(self.company)
        partner._followup_log_call("disputed", lines=self.item)
        self.assertTrue(self.item.followup_excluded)
        self.assertEqual(self.item.followup_exclusion_reason, "Disputed by the customer")

    def test_reason_is_kept_when_only_the_flag_is_sent_again(self):
        item = self.item.with_user(self.collector)
        item.write({"followup_excluded": True, "followup_exclusion_reason": "Litigation"})
        # A second exclusion without a new reason keeps the reason it has.
        item.write({"followup_excluded": True})
        self.assertEqual(self.item.followup_exclusion_reason, "Litigation")
        # Followed up again: the reason goes with the exclusion.
        item.write({"followup_excluded": False})
        self.assertFalse(self.item.followup_exclusion_reason)
        # Clearing the reason of an excluded item is excluding it without one.
        item.write({"followup_excluded": True, "followup_exclusion_reason": "Litigation"})
        with self.assertRaisesRegex(ValidationError, "say why"):
            item.write({"followup_exclusion_reason": ""})

    def test_accountant_who_may_edit_items_still_needs_the_collector_group(self):
        """The rule is one owner: write rights on journal items give no way
        around it, alone or mixed with other fields."""
        # Billing (account.group_account_invoice) edits journal items but is no
        # collector (Accounting administrators are: they imply Credit Manager).
        billing = self._create_user("cc_billing_exclusion", "account.group_account_invoice")
        item = self.item.with_user(billing)
        self.assertTrue(item.has_access("write"))
        for vals in (
            {"followup_excluded": True, "followup_exclusion_reason": "Mine"},
            {"followup_excluded": True, "followup_exclusion_reason": "Mine", "name": "Renamed"},
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                item.write(vals)
        self._assert_not_excluded()

    def test_nobody_creates_an_item_already_excluded(self):
        """Create, copy and import are guarded too (Credit & Collections' guard):
        the exclusion is only ever recorded by the rule."""
        moves = self.env["account.move"].with_user(self.accountant)
        with self.assertRaises(AccessError):
            moves.with_context(default_followup_excluded=True).create(
                {
                    "move_type": "entry",
                    "line_ids": [
                        (
                            0,
                            0,
                            {
                                "account_id": self.item.account_id.id,
                                "partner_id": self.customer.id,
                                "debit": 10.0,
                                "followup_excluded": True,
                                "followup_exclusion_reason": "Forged",
                            },
                        ),
                        (
                            0,
                            0,
                            {
                                "account_id": self.company_data["default_account_revenue"].id,
                                "credit": 10.0,
                            },
                        ),
                    ],
                }
            )
