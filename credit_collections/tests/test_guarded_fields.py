from datetime import timedelta

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import CreditCollectionsCommon
from .guarded_fields import GuardedFieldsAttacks


@tagged("post_install", "-at_install")
class TestGuardedFields(GuardedFieldsAttacks, CreditCollectionsCommon):
    """The fields only the system or a decision may set, attacked from the
    registry as every shipped role, by every path."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        other_company = cls.setup_other_company()["company"]
        cls.guard_roles = {
            "salesperson": cls._create_user("g_sales", "sales_team.group_sale_salesman"),
            "collector": cls._create_user("g_collector", "credit_collections.group_credit_user"),
            "credit_manager": cls._create_user(
                "g_manager", "credit_collections.group_credit_manager"
            ),
            "billing": cls._create_user("g_billing", "account.group_account_invoice"),
            "contact_creation": cls._create_user(
                "g_contacts", "base.group_user,base.group_partner_manager"
            ),
            "portal": cls._create_user("g_portal", "base.group_portal"),
            "other_company": cls._create_user(
                "g_other", "credit_collections.group_credit_manager", company=other_company
            ),
        }
        # Entries of the other company: what its user would try to attach to the
        # records it creates there (a record of another company would be refused
        # by the company check before the guard is tried).
        cls._create_invoice(cls.customer, 250.0, days_overdue=20, company=other_company)
        # One record of each model, through the addon's own flows.
        cls.invoice = cls._create_invoice(cls.customer, 400.0, days_overdue=40)
        cls.item = cls.invoice.line_ids.filtered(
            lambda line: line.account_type == "asset_receivable"
        )
        cls.order = cls._create_order(cls.customer, 5000.0)
        cls.order.with_user(cls.salesperson).action_request_credit_approval()
        cls.request = cls.order.credit_approval_ids
        cls.free_order = cls._create_order(
            cls.customer, 6000.0, user=cls.guard_roles["salesperson"]
        )
        cls.promise = cls.env["credit.promise"].create(
            {
                "partner_id": cls.customer.id,
                "amount": 100.0,
                "promised_date": cls.today + timedelta(days=5),
            }
        )
        cls.interest_run = cls.env["credit.interest.run"].create({"date": cls.today})
        cls.plan = cls.env["credit.installment.plan"].create(
            {"partner_id": cls.customer.id, "source_line_ids": [Command.set(cls.item.ids)]}
        )
        cls.installment = cls.env["credit.installment.line"].create(
            {"plan_id": cls.plan.id, "date_due": cls.today + timedelta(days=30), "amount": 400.0}
        )
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        # Audit trails are the system's: made here as the system makes them.
        cls.history = (
            cls.env["credit.followup.history"]
            .sudo()
            .create({"partner_id": cls.customer.id, "level_id": policy._get_levels()[1].id})
        )
        cls.accrual = (
            cls.env["credit.interest.accrual"]
            .sudo()
            .create(
                {
                    "run_id": cls.interest_run.id,
                    "move_line_id": cls.item.id,
                    "partner_id": cls.customer.id,
                    "date_from": cls.today - timedelta(days=40),
                    "date_to": cls.today,
                    "days": 40,
                    "currency_id": cls.company.currency_id.id,
                    "base_amount": 400.0,
                    "rate": 10.0,
                    "amount": 4.38,
                }
            )
        )
        cls.guard_samples = {
            "credit.followup.history": cls.history,
            "credit.interest.accrual": cls.accrual,
            "res.partner": cls.customer,
            "sale.order": cls.order,
            "account.move": cls.invoice,
            "account.move.line": cls.item,
            "credit.approval.request": cls.request,
            "credit.promise": cls.promise,
            "credit.interest.run": cls.interest_run,
            "credit.installment.plan": cls.plan,
            "credit.installment.line": cls.installment,
        }

    def test_every_field_of_the_addon_is_guarded_or_declared_free(self):
        self._assert_every_field_classified()

    def test_guarded_fields_resist_every_path_as_every_role(self):
        create_vals = {
            "credit.approval.request": {"order_id": self.free_order.id},
            "res.partner": {"name": "Forged Customer", "is_company": True},
            "credit.promise": {
                "partner_id": self.customer.id,
                "amount": 50.0,
                "promised_date": self.today + timedelta(days=3),
            },
            "credit.interest.run": {"date": self.today},
            "credit.installment.plan": {"partner_id": self.customer.id},
            "credit.installment.line": {
                "plan_id": self.plan.id,
                "date_due": self.today + timedelta(days=60),
                "amount": 10.0,
            },
        }
        refused = {}
        for model_name in self._guard_models():
            if not self.env[model_name]._credit_guards():
                continue
            refused[model_name] = self._attack_model(model_name, create_vals.get(model_name))
        # Every model with guarded fields was attacked and refused something.
        for model_name, count in refused.items():
            self.assertGreater(count, 0, f"no attack on {model_name} was refused")

    def test_audit_trail_records_are_never_deleted_by_hand(self):
        for model_name in self._guard_models():
            model = self.env[model_name]
            if not model._credit_audit_trail:
                continue
            record = self._guard_sample(model_name)
            with self.subTest(model=model_name):
                for user in self.guard_roles.values():
                    with self.assertRaises(AccessError):
                        record.with_user(user).unlink()
                    with self.assertRaises(AccessError):
                        record.with_user(user).write({"write_date": record.write_date})

    # ------------------------------------------------------------------
    # The vectors of the issue, end to end
    # ------------------------------------------------------------------

    def test_salesperson_cannot_forge_an_approved_request_and_confirm(self):
        salesperson = self.guard_roles["salesperson"]
        forged = {
            "default_state": "approved",
            "default_is_override": True,
            "default_approver_id": self.credit_manager.id,
            "default_valid_until": "2099-12-31",
        }
        order = self.free_order.with_user(salesperson)
        # assertRaises rolls back what was done, as an RPC call's refusal does.
        with self.assertRaises(AccessError) as caught:
            self.env["credit.approval.request"].with_user(salesperson).with_context(
                **forged
            ).create({"order_id": order.id})
        self.assertIn("Status, Decided By, Valid Until, Direct Override", str(caught.exception))
        requests = self.env["credit.approval.request"].sudo()
        self.assertFalse(requests.search([("order_id", "=", order.id)]))
        # Through the order's own button, the same.
        with self.assertRaises(AccessError):
            order.with_context(**forged).action_request_credit_approval()
        self.assertFalse(requests.search([("order_id", "=", order.id)]))
        with self.assertRaises(UserError):
            order.action_confirm()
        self.assertEqual(self.free_order.state, "draft")

    def test_contact_creation_cannot_forge_credit_terms(self):
        user = self.guard_roles["contact_creation"]
        partners = self.env["res.partner"].with_user(user)
        for key, value in (
            ("default_credit_limit", 1000000.0),
            ("default_followup_excluded", True),
            ("default_credit_interest_exempt", True),
        ):
            with self.subTest(key=key), self.assertRaises(AccessError):
                partners.with_context(**{key: value}).create({"name": "Forged", "is_company": True})
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Forged")]))
        # Importing the customer is the same create.
        result = partners.load(["name", "credit_interest_exempt"], [["Imported", "True"]])
        self.assertFalse(result["ids"])
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Imported")]))
        # A plain contact is still created.
        self.assertTrue(partners.create({"name": "Plain contact"}))

    def test_billing_user_cannot_mark_an_invoice_as_a_charge(self):
        billing = self.guard_roles["billing"]
        moves = self.env["account.move"].with_user(billing)
        with self.assertRaises(AccessError) as caught:
            moves.with_context(default_credit_charge_type="fee").create(
                {"move_type": "out_invoice", "partner_id": self.customer.id}
            )
        self.assertIn("Charge of Journal Entry", str(caught.exception))
        self.assertFalse(self.env["account.move"].search([("credit_charge_type", "=", "fee")]))

    def test_billing_user_cannot_tamper_with_plan_bookkeeping(self):
        billing = self.guard_roles["billing"]
        other = self._create_invoice(self.customer, 50.0)
        for record, vals in (
            (self.invoice, {"credit_installment_plan_id": self.plan.id}),
            (other, {"credit_interest_source_ids": [Command.link(self.invoice.id)]}),
            (self.invoice, {"credit_interest_invoice_ids": [Command.link(other.id)]}),
            (self.item, {"credit_installment_source_id": self.item.id}),
        ):
            with self.subTest(vals=vals), self.assertRaises(AccessError):
                record.with_user(billing).write(vals)
        self.assertFalse(self.invoice.credit_installment_plan_id)
        self.assertFalse(other.credit_interest_source_ids)

    def test_interest_exemption_is_a_logged_credit_manager_decision(self):
        manager = self.guard_roles["credit_manager"]
        contacts = self.guard_roles["contact_creation"]
        with self.assertRaises(AccessError) as caught:
            self.customer.with_user(contacts).write({"credit_interest_exempt": True})
        self.assertIn("Only credit managers", str(caught.exception))
        self.assertFalse(self.customer.credit_interest_exempt)
        # A credit manager without the right to edit contacts decides it.
        self.customer.with_user(manager).write({"credit_interest_exempt": True})
        self.assertTrue(self.customer.credit_interest_exempt)
        note = self.customer.message_ids[:1]
        self.assertIn("No Late Interest: No → Yes", note.body)
        self.assertEqual(note.author_id, manager.partner_id)
