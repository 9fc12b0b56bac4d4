from datetime import datetime, time, timedelta

from freezegun import freeze_time
from lxml import etree

from odoo import Command
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestInstallmentLabels(CreditCollectionsCommon):
    """What the customer's installments are called where people read them: the
    collector's Follow-up tab, the emails and letters ("Installment 2/3 of
    PLAN/..."), and the invoice they rescheduled ("Rescheduled into PLAN/...",
    not "Paid on").

    The customer owes 600.00 (due 40 days ago), of which it paid 100.00, and
    400.00 (due 20 days ago): 500.00 + 400.00 = 900.00 rescheduled into 3
    monthly installments of 300.00."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.debtor = cls._create_customer("Label Debtor")
        cls.older = cls._create_invoice(cls.debtor, 600.0, days_overdue=40)
        cls.newer = cls._create_invoice(cls.debtor, 400.0, days_overdue=20)
        cls._pay(cls.older, 100.0)
        cls.plan = cls.env["credit.installment.plan"].create(
            {
                "partner_id": cls.debtor.id,
                "source_line_ids": [
                    Command.set(
                        (cls.older | cls.newer)
                        .line_ids.filtered(lambda line: line.account_type == "asset_receivable")
                        .ids
                    )
                ],
                "installment_count": 3,
                "first_due_date": cls.today + timedelta(days=30),
            }
        )
        cls.plan.action_compute_schedule()
        cls.plan.action_activate()

    def test_followup_tab_names_each_installment_of_its_plan(self):
        self.assertEqual(self.plan.line_ids.mapped("amount"), [300.0, 300.0, 300.0])
        # Three items of one entry: by their document alone they read the same.
        items = self.plan.line_ids.move_line_id
        self.assertEqual(len(set(items.move_id.mapped("display_name"))), 1)
        invoice = self._create_invoice(self.debtor, 50.0, days_overdue=5)
        partner = self._credit(self.debtor).with_user(self.collector)
        form = etree.fromstring(partner.get_views([(False, "form")])["views"]["form"]["arch"])
        columns = form.xpath("//field[@name='credit_open_line_ids']/list/field/@name")
        self.assertEqual(columns[0], "credit_document_label", "the first column of the tab")
        # What the form reads for the tab's rows.
        [values] = partner.web_read(
            {
                "credit_open_line_ids": {
                    "fields": {"credit_document_label": {}, "amount_residual": {}}
                }
            }
        )
        rows = [
            (row["credit_document_label"], row["amount_residual"])
            for row in values["credit_open_line_ids"]
        ]
        name = self.plan.name
        self.assertEqual(
            sorted(rows),
            sorted(
                [
                    (f"Installment 1/3 of {name}", 300.0),
                    (f"Installment 2/3 of {name}", 300.0),
                    (f"Installment 3/3 of {name}", 300.0),
                    (invoice.name, 50.0),
                ]
            ),
        )

    def test_a_down_payment_is_named_as_such(self):
        newer = self._create_invoice(self.debtor, 300.0, days_overdue=10)
        plan = self.env["credit.installment.plan"].create(
            {
                "partner_id": self.debtor.id,
                "source_line_ids": [
                    Command.set(
                        newer.line_ids.filtered(
                            lambda line: line.account_type == "asset_receivable"
                        ).ids
                    )
                ],
                "installment_count": 2,
                "down_payment_amount": 100.0,
                "first_due_date": self.today + timedelta(days=30),
            }
        )
        plan.action_compute_schedule()
        plan.action_activate()
        labels = plan.line_ids.move_line_id.with_user(self.collector).mapped(
            "credit_document_label"
        )
        self.assertEqual(
            labels,
            [
                f"Down payment of {plan.name}",
                f"Installment 1/2 of {plan.name}",
                f"Installment 2/2 of {plan.name}",
            ],
        )
        # The item's own label, written at activation, says the same.
        self.assertEqual(plan.line_ids.move_line_id.mapped("name"), labels)

    def test_the_customers_letter_lists_installments_by_their_label(self):
        # 35 days on, installment 1 (due in 30 days) is 5 days overdue; the
        # others are not yet due and not listed.
        self.company._credit_create_default_followup_policy()
        with freeze_time(datetime.combine(self.today + timedelta(days=35), time(12))):
            html = (
                self.env["ir.actions.report"]
                .with_user(self.collector)
                ._render_qweb_html(
                    "credit_collections.action_report_followup_partner_letter", self.debtor.ids
                )[0]
                .decode()
            )
        self.assertIn(f"Installment 1/3 of {self.plan.name}", html)
        self.assertNotIn(f"Installment 2/3 of {self.plan.name}", html)

    def test_rescheduled_invoice_reads_rescheduled_into_its_plan_not_paid(self):
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("account.account_invoices", self.older.ids)[0]
            .decode()
        )
        text = " ".join(etree.fromstring(html, etree.HTMLParser()).xpath("string(//body)").split())
        # Paid 100.00, the other 500.00 rescheduled; 0.00 left.
        self.assertEqual(text.count("Paid on"), 1, "the payment only")
        self.assertIn(f"Rescheduled into {self.plan.name} on", text)
        self.assertIn("500.00", text)
        self.assertIn("Amount Due $ 0.00", text)
