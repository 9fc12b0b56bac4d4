from datetime import timedelta

from werkzeug.urls import url_encode

from odoo import Command, fields, http
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestInstallmentPlanPortal(HttpCase):
    """The customer's side of a plan: the proposal by email, its acceptance in
    the portal (name, date and address recorded), the plans' pages, and nobody
    else's plans."""

    def setUp(self):
        super().setUp()
        self.company = self.env.ref("base.main_company")
        self.today = fields.Date.context_today(self.env.user)
        self.debtor = self.env["res.partner"].create(
            {"name": "Portal Debtor", "is_company": True, "email": "debtor@example.com"}
        )
        self.debtor_user = new_test_user(
            self.env,
            login="cc_portal_debtor",
            groups="base.group_portal",
            partner_id=self.env["res.partner"]
            .create({"name": "Debtor Clerk", "parent_id": self.debtor.id, "email": "c@example.com"})
            .id,
        )
        other = self.env["res.partner"].create(
            {"name": "Other Portal Customer", "is_company": True}
        )
        self.other_user = new_test_user(
            self.env,
            login="cc_portal_other",
            groups="base.group_portal",
            partner_id=self.env["res.partner"]
            .create({"name": "Other Clerk", "parent_id": other.id, "email": "o@example.com"})
            .id,
        )
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": self.debtor.id,
                "invoice_date": self.today - timedelta(days=30),
                "invoice_date_due": self.today - timedelta(days=30),
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create({"name": "Goods", "price_unit": 900.0, "tax_ids": []})
                ],
            }
        )
        invoice.action_post()
        self.invoice = invoice
        self.plan = self.env["credit.installment.plan"].create(
            {
                "partner_id": self.debtor.id,
                "source_line_ids": [
                    Command.set(
                        invoice.line_ids.filtered(
                            lambda line: line.account_type == "asset_receivable"
                        ).ids
                    )
                ],
                "installment_count": 3,
                "first_due_date": self.today + timedelta(days=10),
            }
        )
        self.plan.action_compute_schedule()

    def _accept(self, name="Debtor Clerk", access_token=None):
        return self.url_open(
            f"/my/plans/{self.plan.id}/accept",
            data={
                "csrf_token": http.Request.csrf_token(self),
                "access_token": access_token or self.plan.access_token,
                "name": name,
            },
        )

    def _activation_activities(self):
        activity_type = self.env.ref("credit_collections.mail_activity_credit_plan_activation")
        return self.plan.activity_ids.filtered(
            lambda activity: activity.activity_type_id == activity_type
        )

    def test_proposal_email_and_acceptance_activate_the_plan(self):
        self.plan.action_propose()
        self.assertEqual(self.plan.state, "proposed")
        mail = self.env["mail.mail"].search(
            [("model", "=", self.plan._name), ("res_id", "=", self.plan.id)]
        )
        self.assertEqual(len(mail), 1)
        self.assertIn(self.debtor, mail.recipient_ids)
        self.assertIn(f"/my/plans/{self.plan.id}", mail.body_html)
        self.assertIn("300.00", mail.body_html)
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        page = self.url_open(f"/my/plans/{self.plan.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn("Accept and Sign", page.text)
        response = self._accept()
        self.assertEqual(response.status_code, 200)
        self.assertIn("the plan is active", response.text)
        self.assertRecordValues(self.plan, [{"state": "active", "signed_by": "Debtor Clerk"}])
        self.assertEqual(self.plan.signature_ip, "127.0.0.1")
        self.assertTrue(self.plan.signed_on)
        # The invoice says it was rescheduled, not paid.
        invoice_page = self.url_open(self.invoice.get_portal_url())
        self.assertIn("rescheduled into installment plan", invoice_page.text)
        self.assertIn(self.plan.name, invoice_page.text)

    def test_acceptance_waits_for_a_credit_manager_when_the_company_says_so(self):
        self.company.credit_plan_acceptance_needs_manager = True
        self.plan.action_propose()
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        response = self._accept()
        self.assertIn("will confirm the plan shortly", response.text)
        self.assertEqual(self.plan.state, "proposed")
        self.assertEqual(self.plan.signed_by, "Debtor Clerk")
        self.assertTrue(self.plan.activity_ids)

    def test_customers_see_their_plans_and_pay_links_and_nobody_elses(self):
        self.plan.action_activate()
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        listing = self.url_open("/my/plans")
        self.assertEqual(listing.status_code, 200)
        self.assertIn(self.plan.name, listing.text)
        page = self.url_open(f"/my/plans/{self.plan.id}")
        self.assertEqual(page.text.count("o_portal_credit_plan_pay"), 3)
        self.assertIn("/payment/pay?", page.text)
        self.assertIn("300.00", page.text)
        self.authenticate("cc_portal_other", "cc_portal_other")
        self.assertNotIn(self.plan.name, self.url_open("/my/plans").text)
        self.assertEqual(self.url_open(f"/my/plans/{self.plan.id}").status_code, 404)
        self.assertEqual(
            self.url_open(
                f"/my/plans/{self.plan.id}/accept",
                data={"csrf_token": http.Request.csrf_token(self), "name": "X"},
            ).status_code,
            404,
        )
        # A draft plan is not shown to its own customer.
        draft = self.plan.copy({"source_line_ids": False})
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        self.assertEqual(self.url_open(f"/my/plans/{draft.id}").status_code, 404)

    def test_a_message_in_the_url_is_shown_only_as_a_known_code(self):
        self.plan.action_propose()
        spoof = "Your account is suspended: call +1 555 0100 to pay by card"
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        page = self.url_open(f"/my/plans/{self.plan.id}?{url_encode({'message': spoof})}")
        self.assertEqual(page.status_code, 200)
        self.assertNotIn("555 0100", page.text)
        self.assertNotIn("alert-warning", page.text)
        # The same through the emailed link, not logged in.
        self.logout()
        page = self.url_open(
            self.plan.get_portal_url(query_string=f"&{url_encode({'message': spoof})}")
        )
        self.assertEqual(page.status_code, 200)
        self.assertNotIn("555 0100", page.text)
        # A known code shows the page's own text.
        page = self.url_open(self.plan.get_portal_url(query_string="&message=accepted_review"))
        self.assertIn("will confirm the plan shortly", page.text)

    def test_a_collectors_plan_over_their_cap_accepted_in_the_portal_waits_for_a_manager(self):
        # Collectors activate plans up to 500.00; this one is 900.00 (3 x 300.00).
        self.company.credit_plan_collector_max_amount = 500.0
        collector = new_test_user(
            self.env, login="cc_portal_collector", groups="credit_collections.group_credit_user"
        )
        self.plan.with_user(collector).action_propose()
        self.assertEqual(self.plan.proposed_by_id, collector)
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        response = self._accept()
        self.assertIn("will confirm the plan shortly", response.text)
        self.assertRecordValues(
            self.plan, [{"state": "proposed", "signed_by": "Debtor Clerk", "move_id": False}]
        )
        self.assertTrue(self._activation_activities())
        self.assertIn("may not activate a plan of", self.plan.message_ids[0].body)
        self.assertNotIn("Accept and Sign", response.text)
        # The same form posted again changes nothing and says so.
        response = self._accept(name="Somebody Else")
        self.assertIn("no longer waiting for your acceptance", response.text)
        self.assertEqual(self.plan.signed_by, "Debtor Clerk")

    def test_an_acceptance_without_a_name_is_refused_on_the_page(self):
        self.plan.action_propose()
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        response = self._accept(name="  ")
        self.assertIn("Type your name to accept the plan.", response.text)
        self.assertRecordValues(self.plan, [{"state": "proposed", "signed_by": False}])

    def test_a_new_proposal_after_a_late_acceptance_can_be_accepted_again(self):
        # 300.00 paid on the invoice since the proposal: the acceptance cannot
        # activate the 900.00 schedule; it stays proposed, signed.
        self.plan.action_propose()
        old_token = self.plan.access_token
        (
            self.env["account.payment.register"]
            .with_context(active_model="account.move", active_ids=self.invoice.ids)
            .create({"amount": 300.0, "payment_date": self.today})
            ._create_payments()
        )
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        response = self._accept()
        self.assertNotIn("Accept and Sign", response.text)
        self.assertRecordValues(self.plan, [{"state": "proposed", "signed_by": "Debtor Clerk"}])
        # The collector proposes the 600.00 left (3 x 200.00) again.
        self.plan.action_draft()
        self.plan.action_compute_schedule()
        self.plan.action_propose()
        self.assertFalse(self.plan.signed_by)
        self.logout()
        self.assertEqual(
            self.url_open(f"/my/plans/{self.plan.id}?access_token={old_token}").status_code,
            404,
            "the void proposal's link opens nothing",
        )
        page = self.url_open(self.plan.get_portal_url())
        self.assertIn("Accept and Sign", page.text)
        self.assertIn("200.00", page.text)
        self.authenticate("cc_portal_debtor", "cc_portal_debtor")
        self.assertIn("the plan is active", self._accept().text)
        self.assertRecordValues(self.plan, [{"state": "active", "signed_by": "Debtor Clerk"}])
