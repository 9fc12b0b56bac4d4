import os
import subprocess
import tempfile
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


class CreditCollectionsCommon(AccountTestInvoicingCommon):
    """Company with a chart of accounts, one user per role, and builders for the
    receivables and orders that credit decisions are made of."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.company_data["company"]
        cls.company.write(
            {
                "account_use_credit_limit": True,
                "credit_check_over_limit": True,
                "credit_check_overdue": True,
            }
        )
        # Every user the code runs as (the scheduler's, the test's, the roles')
        # reads the same day as the test, also in the hour before midnight.
        cls.test_tz = cls.env.user.tz or "UTC"
        (cls.env.ref("base.user_root") | cls.env.ref("base.user_admin") | cls.env.user).write(
            {"tz": cls.test_tz}
        )
        cls.today = fields.Date.context_today(cls.env.user)
        # wkhtmltopdf would ask the test server (running when tours are in the
        # run) for style sheets and wait on the test's transaction: a closed
        # port gives an unstyled PDF with the same text, at once.
        cls.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        cls.salesperson = cls._create_user("cc_salesperson", "sales_team.group_sale_salesman")
        # Each role with only the groups the addon ships for it, as the demo users
        # are: another role's setup is done as that role, or with sudo.
        cls.collector = cls._create_user("cc_collector", "credit_collections.group_credit_user")
        cls.credit_manager = cls._create_user(
            "cc_credit_manager", "credit_collections.group_credit_manager"
        )
        cls.accountant = cls._create_user("cc_accountant", "account.group_account_manager")
        cls.product = cls._create_product(name="Credit test product", lst_price=100.0, taxes_id=[])
        cls.customer = cls._create_customer("Credit Customer", limit=1000.0)

    def _run_followup_cron(self):
        """The follow-up scheduled action run to its end as Odoo's scheduler runs
        it: called again while it reports customers left."""
        cron = self.env.ref("credit_collections.ir_cron_run_followups")
        for _call in range(50):
            cron.method_direct_trigger()
            progress = self.env["ir.cron.progress"].search(
                [("cron_id", "=", cron.id)], order="id desc", limit=1
            )
            if not progress.remaining:
                return
        self.fail("The follow-up run never reported its end.")

    @classmethod
    def _create_user(cls, login, groups, company=None):
        company = company or cls.company
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            email=f"{login}@example.com",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
            # The test's day (see setUpClass).
            tz=cls.test_tz,
        )

    @classmethod
    def _create_customer(cls, name, limit=0.0, company=None, **vals):
        partner = cls.env["res.partner"].create(
            {
                "name": name,
                "is_company": True,
                "email": f"{name.lower().replace(' ', '.')}@example.com",
            }
            | vals
        )
        partner.with_company(company or cls.company).write(
            {"credit_limit": limit, "use_partner_credit_limit": bool(limit)}
        )
        # create() caches every x2many of a new record as empty, computed ones too:
        # the open items are read from the database once invoices exist.
        partner.invalidate_recordset(["followup_line_ids", "credit_open_line_ids"])
        return partner

    @classmethod
    def _create_invoice(
        cls,
        partner,
        amount,
        days_overdue=-30,
        move_type="out_invoice",
        currency=None,
        company=None,
        post=True,
    ):
        """A customer invoice of `amount` (tax excluded, no tax) due `days_overdue`
        days ago (negative: due in the future)."""
        company = company or cls.company
        due_date = cls.today - timedelta(days=days_overdue)
        invoice = (
            cls.env["account.move"]
            .with_company(company)
            .create(
                {
                    "move_type": move_type,
                    "partner_id": partner.id,
                    "company_id": company.id,
                    "invoice_date": min(due_date, cls.today),
                    "invoice_date_due": due_date,
                    "invoice_payment_term_id": False,
                    "currency_id": (currency or company.currency_id).id,
                    "invoice_line_ids": [
                        Command.create(
                            {"name": "Goods", "quantity": 1, "price_unit": amount, "tax_ids": []}
                        )
                    ],
                }
            )
        )
        if post:
            invoice.action_post()
        return invoice

    @classmethod
    def _pay(cls, invoice, amount):
        return (
            cls.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=invoice.ids)
            .create({"amount": amount, "payment_date": cls.today})
            ._create_payments()
        )

    @classmethod
    def _create_order(cls, partner, amount, currency=None, company=None, user=None):
        company = company or cls.company
        vals = {
            "partner_id": partner.id,
            "company_id": company.id,
            "order_line": [
                Command.create(
                    {
                        "product_id": cls.product.id,
                        "product_uom_qty": 1,
                        "price_unit": amount,
                        "tax_id": [Command.clear()],
                    }
                )
            ],
        }
        if currency:
            pricelist = cls.env["product.pricelist"].create(
                {"name": f"Pricelist {currency.name}", "currency_id": currency.id}
            )
            vals["pricelist_id"] = pricelist.id
        order_model = cls.env["sale.order"].with_company(company)
        if user:
            order_model = order_model.with_user(user)
        return order_model.create(vals)

    def _credit(self, partner, company=None):
        """The partner's credit fields as the current company sees them."""
        partner = partner.with_company(company or self.company)
        partner.invalidate_recordset()
        return partner

    def _pdf_text(self, pdf):
        """The text of a PDF as pdftotext reads it, on one line."""
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "document.pdf")
            with open(path, "wb") as file:
                file.write(pdf)
            result = subprocess.run(
                ["pdftotext", "-enc", "UTF-8", path, "-"],
                capture_output=True,
                check=True,
                text=True,
            )
        return " ".join(result.stdout.split())
