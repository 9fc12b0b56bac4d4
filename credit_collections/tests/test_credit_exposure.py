from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditExposure(CreditCollectionsCommon):
    def test_exposure_adds_receivables_orders_drafts(self):
        self._create_invoice(self.customer, 100.0, days_overdue=-10)  # not yet due
        self._create_invoice(self.customer, 200.0, days_overdue=20)  # overdue
        order = self._create_order(self.customer, 300.0)
        order.action_confirm()
        self._create_invoice(self.customer, 50.0, post=False)  # draft, not from an order

        partner = self._credit(self.customer)
        self.assertEqual(partner.credit_not_due_amount, 100.0)
        self.assertEqual(partner.credit_overdue_amount, 200.0)
        self.assertEqual(partner.credit_oldest_overdue_days, 20)
        self.assertEqual(partner.credit_orders_amount, 300.0)
        self.assertEqual(partner.credit_draft_invoices_amount, 50.0)
        self.assertEqual(partner.credit_exposure, 650.0)
        self.assertEqual(partner.credit_available, 350.0)

    def test_contacts_count_for_their_company(self):
        contact = self.env["res.partner"].create(
            {"name": "Accounts payable", "parent_id": self.customer.id, "type": "invoice"}
        )
        self._create_invoice(contact, 400.0)
        self.assertEqual(self._credit(self.customer).credit_exposure, 400.0)
        self.assertEqual(self._credit(contact).credit_exposure, 400.0)

    def test_partial_payment_and_credit_note_reduce_exposure(self):
        invoice = self._create_invoice(self.customer, 1000.0, days_overdue=5)
        self._pay(invoice, 300.0)
        self.assertEqual(self._credit(self.customer).credit_exposure, 700.0)
        self.assertEqual(self._credit(self.customer).credit_overdue_amount, 700.0)
        self._create_invoice(self.customer, 200.0, move_type="out_refund")
        partner = self._credit(self.customer)
        self.assertEqual(partner.credit_exposure, 500.0)
        # An open credit note lowers the exposure, not the overdue items.
        self.assertEqual(partner.credit_overdue_amount, 700.0)

    def test_invoiced_order_part_is_not_counted_twice(self):
        order = self._create_order(self.customer, 400.0)
        order.action_confirm()
        invoice = order._create_invoices()
        invoice.action_post()
        partner = self._credit(self.customer)
        self.assertEqual(partner.credit_orders_amount, 0.0)
        self.assertEqual(partner.credit_exposure, 400.0)

    def test_down_payment_is_not_counted_twice(self):
        tax = self.env["account.tax"].create(
            {
                "name": "Credit test 10 %",
                "amount": 10.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "company_id": self.company.id,
            }
        )
        order = self._create_order(self.customer, 500.0)
        order.order_line.tax_id = tax
        order.action_confirm()
        self.env["sale.advance.payment.inv"].with_context(
            active_model="sale.order", active_ids=order.ids
        ).create({"advance_payment_method": "percentage", "amount": 30}).create_invoices()
        down_payment = order.invoice_ids
        down_payment.action_post()
        self.assertEqual(down_payment.amount_total, 165.0)
        partner = self._credit(self.customer)
        # The down payment is a receivable now: the order has 385 left to invoice.
        self.assertEqual(partner.credit_receivable_amount, 165.0)
        self.assertEqual(partner.credit_orders_amount, 385.0)
        self.assertEqual(partner.credit_exposure, 550.0)
        final = order._create_invoices(final=True)
        final.action_post()
        self.assertEqual(final.amount_total, 385.0)
        partner = self._credit(self.customer)
        self.assertEqual(partner.credit_orders_amount, 0.0)
        self.assertEqual(partner.credit_exposure, 550.0)

    def test_draft_invoice_from_order_counts_once(self):
        order = self._create_order(self.customer, 400.0)
        order.action_confirm()
        order._create_invoices()  # draft
        partner = self._credit(self.customer)
        self.assertEqual(partner.credit_draft_invoices_amount, 0.0)
        self.assertEqual(partner.credit_exposure, 400.0)

    def test_foreign_currency_order_and_invoice_in_company_currency(self):
        eur = self.setup_other_currency("EUR")  # 2 EUR for 1 company currency unit today
        self._create_invoice(self.customer, 400.0, currency=eur)
        order = self._create_order(self.customer, 600.0, currency=eur)
        order.action_confirm()
        partner = self._credit(self.customer)
        self.assertEqual(partner.credit_receivable_amount, 200.0)
        self.assertEqual(partner.credit_orders_amount, 300.0)
        self.assertEqual(partner.credit_exposure, 500.0)

    def test_company_switches_leave_parts_out(self):
        self._create_invoice(self.customer, 100.0, days_overdue=-10)
        self._create_invoice(self.customer, 200.0, days_overdue=20)
        self._create_order(self.customer, 300.0).action_confirm()
        self._create_invoice(self.customer, 50.0, post=False)
        self.company.write(
            {
                "credit_include_draft_invoices": False,
                "credit_include_orders": False,
            }
        )
        self.assertEqual(self._credit(self.customer).credit_exposure, 300.0)
        self.company.credit_include_not_due = False
        self.assertEqual(self._credit(self.customer).credit_exposure, 200.0)
        self.company.write({"credit_include_not_due": True, "credit_include_overdue": False})
        self.assertEqual(self._credit(self.customer).credit_exposure, 100.0)

    def test_other_company_figures_are_separate(self):
        company_b = self.setup_other_company(name="Company B")["company"]
        company_b.account_use_credit_limit = True
        self.customer.with_company(company_b).write(
            {"credit_limit": 5000.0, "use_partner_credit_limit": True}
        )
        self._create_invoice(self.customer, 900.0)
        self._create_invoice(self.customer, 3000.0, company=company_b)
        partner_a = self._credit(self.customer)
        partner_b = self._credit(self.customer, company_b)
        self.assertEqual(partner_a.credit_exposure, 900.0)
        self.assertEqual(partner_a.credit_limit, 1000.0)
        self.assertEqual(partner_b.credit_exposure, 3000.0)
        self.assertEqual(partner_b.credit_available, 2000.0)

    def test_branch_invoice_counts_in_the_parent_company_exposure(self):
        """A customer's limit covers what it owes to the company and its branches,
        as Odoo's credit sums them."""
        self.company.write({"child_ids": [Command.create({"name": "Branch North"})]})
        self.env.cr.precommit.run()  # the branch's chart of accounts
        branch = self.company.child_ids
        self._create_invoice(self.customer, 400.0)
        self._create_invoice(self.customer, 123.45, days_overdue=10, company=branch)
        partner = self._credit(self.customer)
        # 400.00 owed to the company + 123.45 to its branch (overdue) = 523.45.
        self.assertEqual(partner.credit_overdue_amount, 123.45)
        self.assertEqual(partner.credit_not_due_amount, 400.0)
        self.assertEqual(partner.credit_exposure, 523.45)
        self.assertEqual(partner.credit_exposure, partner.credit)
        # The branch sees the same receivables, as Odoo's credit does.
        self.assertEqual(self._credit(self.customer, branch).credit_exposure, 523.45)
        # 523.45 + an order of 500.00 = 1,023.45 over the limit of 1,000.00: the
        # branch's invoice is what refuses the order in the parent company.
        order = self._create_order(self.customer, 500.0)
        with self.assertRaisesRegex(UserError, "Over credit limit"):
            order.action_confirm()
        self.assertEqual(order.state, "draft")

    def test_salesperson_reads_credit_figures(self):
        self._create_invoice(self.customer, 1200.0)
        partner = self.customer.with_user(self.salesperson)
        self.assertEqual(partner.credit_exposure, 1200.0)
        self.assertEqual(partner.credit_status, "blocked")
        self.assertIn("Over credit limit", partner.credit_status_reasons)

    def _queries_to_compute_exposure(self, partners):
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        # The live figures (credit_status is read from the stored state).
        partners.mapped("credit_exposure")
        return self.env.cr.sql_log_count - before

    def test_exposure_of_many_partners_in_constant_queries(self):
        partners = self.customer
        for index in range(6):
            partner = self._create_customer(f"Bulk {index}", limit=5000.0)
            for _invoice in range(index + 1):
                self._create_invoice(partner, 100.0)
            self._create_order(partner, 50.0).action_confirm()
            partners |= partner
        self.env.flush_all()
        self._queries_to_compute_exposure(self.customer)  # warm the access-rule caches
        one = self._queries_to_compute_exposure(self.customer)
        many = self._queries_to_compute_exposure(partners)
        self.assertEqual(one, many)
        self.env.invalidate_all()
        with self.assertQueryCount(10):
            partners.mapped("credit_exposure")
