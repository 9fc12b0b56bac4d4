import re
from pathlib import Path

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CreditCollectionsCommon

README = Path(__file__).resolve().parents[2] / "README.md"
OPERATIONS = ("read", "write", "create", "unlink")
# README column headings, in order, and the groups of the user each stands for.
COLUMNS = {
    "Portal": "base.group_portal",
    "Salesperson (own documents)": "sales_team.group_sale_salesman",
    "Salesperson (all documents)": "sales_team.group_sale_salesman_all_leads",
    "Collector": "credit_collections.group_credit_user",
    "Credit Manager": "credit_collections.group_credit_manager",
    "Accounting Manager": "account.group_account_manager",
    "Credit Manager of another company": "credit_collections.group_credit_manager",
}


def _readme_matrix():
    """{model: {column: set of operations}} from the README's access table."""
    text = README.read_text(encoding="utf-8")
    section = text.split("### Access rights", 1)[1]
    header = None
    matrix = {}
    for line in section.splitlines():
        if not line.startswith("|"):
            if matrix:
                break
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] == "Model":
            header = cells[1:]
            continue
        model = re.fullmatch(r"`([\w.]+)`", cells[0])
        if not model:
            continue
        matrix[model.group(1)] = {
            column: {
                "unlink" if word == "delete" else word
                for word in re.findall(r"\b(read|write|create|delete)\b", cell.split("(")[0])
            }
            for column, cell in zip(header, cells[1:], strict=True)
        }
    return matrix


@tagged("post_install", "-at_install")
class TestAccessMatrix(CreditCollectionsCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_b = cls.setup_other_company(name="Credit Company B")["company"]
        cls.users = {}
        for column, group in COLUMNS.items():
            login = "cc_matrix_" + re.sub(r"\W+", "_", column.lower())
            company = cls.company_b if "another company" in column else cls.company
            cls.users[column] = cls._create_user(login, group, company=company)

    def test_readme_lists_every_model_of_the_addon(self):
        models = {
            name
            for name, model in self.env.registry.items()
            if model._original_module == "credit_collections" and not model._abstract
        }
        self.assertEqual(set(_readme_matrix()), models)

    def test_access_rights_match_the_readme(self):
        access = self.env["ir.model.access"]
        for model, columns in _readme_matrix().items():
            for column, expected in columns.items():
                user = self.users[column]
                granted = {
                    operation
                    for operation in OPERATIONS
                    if access.with_user(user).check(model, operation, raise_exception=False)
                }
                with self.subTest(model=model, user=column):
                    self.assertEqual(granted, expected)

    def test_users_of_another_company_see_none_of_its_records(self):
        other = self.users["Credit Manager of another company"]
        order = self._create_order(self.customer, 10.0)
        self.env["credit.approval.request"].create({"order_id": order.id})
        self.env["credit.promise"].sudo().create(
            {"partner_id": self.customer.id, "amount": 5.0, "promised_date": self.today}
        )
        self.env["credit.followup.history"].sudo().create(
            {"partner_id": self.customer.id, "company_id": self.company.id}
        )
        for model in (
            "credit.approval.request",
            "credit.followup.policy",
            "credit.followup.level",
            "credit.followup.history",
            "credit.promise",
        ):
            records = self.env[model].search([("company_id", "=", self.company.id)])
            with self.subTest(model=model):
                self.assertTrue(records)
                self.assertFalse(
                    self.env[model].with_user(other).search([("id", "in", records.ids)])
                )
                with self.assertRaises(AccessError):
                    records.with_user(other).read(["company_id"])

    def test_portal_user_reaches_no_record_of_the_addon(self):
        portal = self.users["Portal"]
        portal.partner_id.parent_id = self.customer
        order = self._create_order(self.customer, 10.0)
        self.env["credit.approval.request"].create({"order_id": order.id})
        for model in _readme_matrix():
            with self.subTest(model=model), self.assertRaises(AccessError):
                self.env[model].with_user(portal).search([])
        with self.assertRaises(AccessError):
            self.env["credit.promise"].with_user(portal).create(
                {
                    "partner_id": self.customer.id,
                    "amount": 5.0,
                    "promised_date": self.today,
                    "move_line_ids": [Command.clear()],
                }
            )
