import base64

from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import file_open

# The smallest PNG Odoo ships: what the signature pad posts is any image.
with file_open("web/static/img/placeholder.png", "rb") as _png:
    SIGNATURE = base64.b64encode(_png.read()).decode()


@tagged("post_install", "-at_install")
class TestCreditPortalAcceptance(HttpCase):
    """A customer on credit hold accepts a quotation online, through the portal
    route a browser calls."""

    def setUp(self):
        super().setUp()
        company = self.env.ref("base.main_company")
        company.write({"portal_confirmation_sign": True, "portal_confirmation_pay": False})
        self.salesperson = new_test_user(
            self.env, login="portal_case_salesperson", groups="sales_team.group_sale_salesman"
        )
        self.manager = new_test_user(
            self.env,
            login="portal_case_manager",
            groups="credit_collections.group_credit_manager",
            email="portal_case_manager@example.com",
        )
        company.credit_approver_id = self.manager
        self.customer = self.env["res.partner"].create(
            {"name": "Portal Held Customer", "is_company": True, "email": "held@example.com"}
        )
        self.customer.write(
            {"credit_hold": True, "credit_hold_reason": "Suspected fraud - do not ship"}
        )
        product = self.env["product.product"].create({"name": "Portal product", "taxes_id": []})
        self.order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "user_id": self.salesperson.id,
                "require_signature": True,
                "require_payment": False,
                "order_line": [
                    Command.create(
                        {"product_id": product.id, "price_unit": 250.0, "tax_id": [Command.clear()]}
                    )
                ],
            }
        )
        self.order.action_quotation_sent()
        self.order._portal_ensure_token()

    def _accept(self):
        response = self.make_jsonrpc_request(
            f"/my/orders/{self.order.id}/accept",
            {
                "access_token": self.order.access_token,
                "name": "Jane Buyer",
                "signature": SIGNATURE,
            },
        )
        return response

    def test_blocked_customer_accepting_online_waits_for_a_credit_review(self):
        result = self._accept()
        self.assertNotIn("error", result)
        self.order.invalidate_recordset()
        self.assertEqual(self.order.state, "sent")
        self.assertEqual(self.order.signed_by, "Jane Buyer")
        request = self.order.credit_approval_ids
        self.assertRecordValues(
            request, [{"state": "pending", "requested_by_id": self.salesperson.id}]
        )
        self.assertIn("Accepted online", request.request_note)
        self.assertEqual(request.activity_ids.user_id, self.manager)
        self.assertIn(self.salesperson, self.order.activity_ids.user_id)

        page = self.url_open(result["redirect_url"]).text
        self.assertIn("Your order was received and is being reviewed", page)
        for internal in ("Suspected fraud", "credit hold", "Credit limit", "exposure"):
            self.assertNotIn(internal, page)

        # The credit manager approves; the salesperson confirms.
        request.with_user(self.manager).action_approve()
        self.order.with_user(self.salesperson).action_confirm()
        self.assertEqual(self.order.state, "sale")

    def test_customer_not_blocked_is_confirmed_online(self):
        self.customer.credit_hold = False
        result = self._accept()
        self.assertNotIn("error", result)
        self.order.invalidate_recordset()
        self.assertEqual(self.order.state, "sale")
        self.assertFalse(self.order.credit_approval_ids)
        self.assertIn("Your order has been confirmed", self.url_open(result["redirect_url"]).text)
