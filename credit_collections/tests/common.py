from odoo import Command
from odoo.tests import new_test_user

from odoo.addons.account.tests.common import AccountTestInvoicingCommon


class CreditCollectionsCommon(AccountTestInvoicingCommon):
    """Company with a chart of accounts and one user per role."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = cls.company_data["company"]
        user_defaults = {
            "company_id": company.id,
            "company_ids": [Command.set(company.ids)],
        }
        cls.salesperson = new_test_user(
            cls.env,
            login="cc_salesperson",
            groups="sales_team.group_sale_salesman",
            **user_defaults,
        )
        cls.collector = new_test_user(
            cls.env,
            login="cc_collector",
            groups="account.group_account_invoice,credit_collections.group_credit_user",
            **user_defaults,
        )
        cls.credit_manager = new_test_user(
            cls.env,
            login="cc_credit_manager",
            groups="account.group_account_invoice,credit_collections.group_credit_manager",
            **user_defaults,
        )
        cls.accountant = new_test_user(
            cls.env,
            login="cc_accountant",
            groups="account.group_account_manager",
            **user_defaults,
        )
