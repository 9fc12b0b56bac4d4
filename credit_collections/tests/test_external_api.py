"""The external API as an integrator uses it: every call of the README's
"External API" section, sent over HTTP to the test's own Odoo server on
127.0.0.1 by Odoo's client library from PyPI (odoo-client-lib, `import odoolib`),
with each user's login and password, as another program would send it.

The server answers from the test's transaction: what the test creates is
flushed before the calls, and what the calls change is read back over RPC.
"""

import xmlrpc.client
from datetime import timedelta

import odoolib
from odoolib.tools import JsonRPCException

from odoo import fields
from odoo.tests import HOST, HttpCase, get_db_name, tagged

from .common import CreditCollectionsCommon

# What the README reads of many customers at once (salespeople may read all of
# these; the credit limit itself needs an accounting or collector group).
CUSTOMER_FIELDS = [
    "name",
    "ref",
    "credit_exposure",
    "credit_available",
    "credit_overdue_amount",
    "credit_status",
    "credit_hold",
    "followup_status",
]
APPROVAL_FIELDS = ["order_id", "state", "amount", "exposure", "credit_limit", "reasons"]
HISTORY_FIELDS = [
    "date",
    "level_id",
    "state",
    "trigger",
    "user_id",
    "send_email",
    "overdue_amount",
    "invoice_ids",
]
PROMISE_FIELDS = ["partner_id", "amount", "promised_date", "state", "residual_at_promise"]

ONLY_MANAGERS_DECIDE = "Only credit managers can approve, reject or override credit holds."
ONLY_MANAGERS_SET_LIMITS = (
    "Only credit managers can change credit limits, credit holds and credit rules of "
    "customers. Ask a credit manager."
)


@tagged("post_install", "-at_install")
class TestExternalApi(CreditCollectionsCommon, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.first_reminder = policy._get_levels()[1]
        cls.alpha = cls._create_customer("Api Alpha", limit=1000.0, ref="API-001")
        cls._create_invoice(cls.alpha, 400.25, days_overdue=-10)
        cls.beta = cls._create_customer("Api Beta", limit=1000.0, ref="API-002")
        cls._create_invoice(cls.beta, 950.50, days_overdue=-10)
        cls.gamma = cls._create_customer("Api Gamma", limit=2000.0, ref="API-003")
        cls.gamma_invoice = cls._create_invoice(cls.gamma, 600.40, days_overdue=40)
        # Alpha's 750.00 takes it over its limit (400.25 + 750.00 > 1,000.00).
        cls.order = cls._create_order(cls.alpha, 750.0, user=cls.salesperson)
        cls.env.flush_all()

    # ------------------------------------------------------------------
    # The client: odoo-client-lib, as an integrator connects with it
    # ------------------------------------------------------------------

    def _connect(self, user, protocol="xmlrpc"):
        """A connection as user (test users' password is their login)."""
        # The server reads from this transaction: write what the test made first,
        # and note the customer states it made stale, as its commit would.
        self.env.flush_all()
        self.env["credit.customer.state"]._credit_persist_stale()
        connection = odoolib.get_connection(
            hostname=HOST,
            protocol=protocol,
            port=self.http_port(),
            database=get_db_name(),
            login=user.login,
            password=user.login,
        )
        connection.check_login()
        self.assertEqual(connection.user_id, user.id)
        return connection

    def _execute_kw(self, connection, model, method, args, kwargs=None):
        """models.execute_kw(DB, uid, PASSWORD, model, method, args, kwargs) of the
        README, through the library's "object" service."""
        return connection.get_service("object").execute_kw(
            connection.database,
            connection.user_id,
            connection.password,
            model,
            method,
            args,
            kwargs or {},
        )

    def _readme_call(self, user, model, method, args, kwargs=None):
        """The README's own client, the standard library on /xmlrpc/2/, whose
        faults carry a numeric code and the message."""
        self.env.flush_all()
        url = f"http://{HOST}:{self.http_port()}"
        common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
        uid = common.login(get_db_name(), user.login, user.login)
        self.assertEqual(uid, user.id)
        models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
        return models.execute_kw(get_db_name(), uid, user.login, model, method, args, kwargs or {})

    def _assert_xmlrpc_fault(self, fault, kind, message):
        # odoo-client-lib posts to Odoo's /xmlrpc/<service>, whose faults carry
        # the exception's kind and message in the fault code.
        self.assertEqual(fault.faultCode, f"warning -- {kind}\n\n{message}")

    def _read_customers(self, connection, refs):
        return self._execute_kw(
            connection,
            "res.partner",
            "search_read",
            [[("ref", "in", refs)]],
            {"fields": CUSTOMER_FIELDS, "order": "ref"},
        )

    def _request_of(self, connection, order_id):
        return self._execute_kw(
            connection,
            "credit.approval.request",
            "search_read",
            [[("order_id", "=", order_id)]],
            {"fields": [*APPROVAL_FIELDS, "approver_id", "valid_until", "manager_note"]},
        )

    # ------------------------------------------------------------------
    # Reading exposure and status
    # ------------------------------------------------------------------

    def test_salesperson_reads_exposure_and_status_of_many_customers_in_one_call(self):
        for protocol in ("xmlrpc", "jsonrpc"):
            with self.subTest(protocol=protocol):
                connection = self._connect(self.salesperson, protocol)
                customers = self._read_customers(connection, ["API-001", "API-002", "API-003"])
                self.assertEqual(
                    [
                        (c["ref"], c["credit_status"], c["credit_hold"], c["followup_status"])
                        for c in customers
                    ],
                    [
                        ("API-001", "ok", False, "no_action"),
                        ("API-002", "warning", False, "no_action"),
                        ("API-003", "blocked", False, "action_needed"),
                    ],
                )
                expected = [
                    # exposure, available, overdue
                    (400.25, 599.75, 0.0),
                    (950.50, 49.50, 0.0),
                    (600.40, 1399.60, 600.40),
                ]
                for customer, (exposure, available, overdue) in zip(
                    customers, expected, strict=True
                ):
                    self.assertAlmostEqual(customer["credit_exposure"], exposure, places=2)
                    self.assertAlmostEqual(customer["credit_available"], available, places=2)
                    self.assertAlmostEqual(customer["credit_overdue_amount"], overdue, places=2)

    def test_collector_reads_the_credit_limit_a_salesperson_may_not_read(self):
        connection = self._connect(self.collector)
        limits = self._execute_kw(
            connection,
            "res.partner",
            "search_read",
            [[("ref", "in", ["API-001", "API-003"])]],
            {"fields": ["ref", "credit_limit", "credit_exposure"], "order": "ref"},
        )
        self.assertEqual(
            [(c["ref"], c["credit_limit"], round(c["credit_exposure"], 2)) for c in limits],
            [("API-001", 1000.0, 400.25), ("API-003", 2000.0, 600.40)],
        )
        salesperson = self._connect(self.salesperson)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._execute_kw(
                salesperson,
                "res.partner",
                "search_read",
                [[("ref", "=", "API-001")]],
                {"fields": ["credit_limit"]},
            )
        self.assertIn("AccessError", caught.exception.faultCode)
        self.assertIn("credit_limit", caught.exception.faultCode)

    # ------------------------------------------------------------------
    # Approvals
    # ------------------------------------------------------------------

    def test_held_order_is_approved_over_rpc_and_then_confirms(self):
        salesperson = self._connect(self.salesperson)
        # Confirming the held order is refused with the reasons.
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._execute_kw(salesperson, "sale.order", "action_confirm", [[self.order.id]])
        refusal = caught.exception.faultCode
        self.assertTrue(refusal.startswith("warning -- UserError"), refusal)
        self.assertIn(self.order.name, refusal)
        self.assertIn("Over credit limit", refusal)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._readme_call(self.salesperson, "sale.order", "action_confirm", [[self.order.id]])
        self.assertEqual(caught.exception.faultCode, 2)
        self.assertEqual(caught.exception.faultString, refusal.split("\n\n", 1)[1])

        held = self._execute_kw(
            salesperson,
            "sale.order",
            "search_read",
            [[("id", "=", self.order.id)]],
            {"fields": ["state", "credit_status", "credit_status_reasons"]},
        )[0]
        self.assertEqual((held["state"], held["credit_status"]), ("draft", "blocked"))
        self.assertIn("Over credit limit", held["credit_status_reasons"])

        self.assertIs(
            self._execute_kw(
                salesperson,
                "sale.order",
                "action_request_credit_approval",
                [[self.order.id]],
                {"note": "Long-standing customer, paid on time for years."},
            ),
            True,
        )
        [request] = self._request_of(salesperson, self.order.id)
        self.assertEqual(request["order_id"], [self.order.id, self.order.name])
        self.assertEqual(request["state"], "pending")
        self.assertAlmostEqual(request["amount"], 750.00, places=2)
        self.assertAlmostEqual(request["exposure"], 1150.25, places=2)
        self.assertAlmostEqual(request["credit_limit"], 1000.00, places=2)
        self.assertIn("Over credit limit", request["reasons"])

        manager = self._connect(self.credit_manager)
        pending = self._execute_kw(
            manager,
            "credit.approval.request",
            "search_read",
            [[("state", "=", "pending")]],
            {"fields": APPROVAL_FIELDS},
        )
        self.assertEqual([p["id"] for p in pending], [request["id"]])
        self._execute_kw(
            manager,
            "credit.approval.request",
            "write",
            [
                [request["id"]],
                {"manager_note": "Guaranteed by the parent company", "validity_days": 14},
            ],
        )
        self.assertIs(
            self._execute_kw(
                manager, "credit.approval.request", "action_approve", [[request["id"]]]
            ),
            True,
        )
        [decided] = self._request_of(salesperson, self.order.id)
        self.assertEqual(decided["state"], "approved")
        self.assertEqual(decided["approver_id"], [self.credit_manager.id, self.credit_manager.name])
        today = fields.Date.context_today(self.env.user)
        self.assertEqual(decided["valid_until"], fields.Date.to_string(today + timedelta(days=14)))
        self.assertEqual(decided["manager_note"], "Guaranteed by the parent company")

        self.assertIs(
            self._execute_kw(salesperson, "sale.order", "action_confirm", [[self.order.id]]), True
        )
        [confirmed] = self._execute_kw(
            salesperson, "sale.order", "read", [[self.order.id]], {"fields": ["state"]}
        )
        self.assertEqual(confirmed["state"], "sale")

    def test_refused_request_leaves_the_order_held(self):
        order = self._create_order(self.beta, 200.0, user=self.salesperson)
        salesperson = self._connect(self.salesperson)
        self._execute_kw(
            salesperson,
            "sale.order",
            "action_request_credit_approval",
            [[order.id]],
            {"note": "Rush order"},
        )
        [request] = self._request_of(salesperson, order.id)
        manager = self._connect(self.credit_manager)
        self._execute_kw(
            manager,
            "credit.approval.request",
            "write",
            [[request["id"]], {"manager_note": "Pay the open invoice first."}],
        )
        self._execute_kw(manager, "credit.approval.request", "action_reject", [[request["id"]]])

        [refused] = self._request_of(salesperson, order.id)
        self.assertEqual(refused["state"], "rejected")
        self.assertEqual(refused["approver_id"], [self.credit_manager.id, self.credit_manager.name])
        self.assertFalse(refused["valid_until"])
        self.assertEqual(refused["manager_note"], "Pay the open invoice first.")
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._execute_kw(salesperson, "sale.order", "action_confirm", [[order.id]])
        self.assertIn(order.name, caught.exception.faultCode)
        [held] = self._execute_kw(
            salesperson, "sale.order", "read", [[order.id]], {"fields": ["state"]}
        )
        self.assertEqual(held["state"], "draft")

    def test_salesperson_cannot_approve_its_own_request_over_rpc(self):
        salesperson = self._connect(self.salesperson)
        self._execute_kw(
            salesperson, "sale.order", "action_request_credit_approval", [[self.order.id]]
        )
        [request] = self._request_of(salesperson, self.order.id)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._execute_kw(
                salesperson, "credit.approval.request", "action_approve", [[request["id"]]]
            )
        self._assert_xmlrpc_fault(caught.exception, "AccessError", ONLY_MANAGERS_DECIDE)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._execute_kw(
                salesperson,
                "credit.approval.request",
                "write",
                [[request["id"]], {"state": "approved"}],
            )
        self.assertIn("AccessError", caught.exception.faultCode)
        self.assertIn(
            "Status of Credit Approval Request: set by Credit & Collections itself",
            caught.exception.faultCode,
        )
        # Over JSON-RPC the error names the exception and carries the message.
        json_salesperson = self._connect(self.salesperson, "jsonrpc")
        with self.assertRaises(JsonRPCException) as caught:
            self._execute_kw(
                json_salesperson, "credit.approval.request", "action_approve", [[request["id"]]]
            )
        self.assertEqual(caught.exception.error["data"]["name"], "odoo.exceptions.AccessError")
        self.assertEqual(caught.exception.error["data"]["message"], ONLY_MANAGERS_DECIDE)

        [still] = self._request_of(salesperson, self.order.id)
        self.assertEqual(still["state"], "pending")
        self.assertFalse(still["approver_id"])

    def test_salesperson_cannot_write_the_credit_limit_over_rpc(self):
        salesperson = self._connect(self.salesperson)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._execute_kw(
                salesperson, "res.partner", "write", [[self.alpha.id], {"credit_limit": 5000.0}]
            )
        self._assert_xmlrpc_fault(caught.exception, "AccessError", ONLY_MANAGERS_SET_LIMITS)
        # The README's own client says the same with fault code 4.
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._readme_call(
                self.salesperson,
                "res.partner",
                "write",
                [[self.alpha.id], {"credit_limit": 5000.0}],
            )
        self.assertEqual(caught.exception.faultCode, 4)
        self.assertEqual(caught.exception.faultString, ONLY_MANAGERS_SET_LIMITS)

        manager = self._connect(self.credit_manager)
        self._execute_kw(
            manager, "res.partner", "write", [[self.alpha.id], {"credit_limit": 5000.0}]
        )
        [alpha] = self._execute_kw(
            manager,
            "res.partner",
            "read",
            [[self.alpha.id]],
            {"fields": ["credit_limit", "credit_available"]},
        )
        self.assertEqual(alpha["credit_limit"], 5000.0)
        self.assertAlmostEqual(alpha["credit_available"], 4599.75, places=2)

    # ------------------------------------------------------------------
    # Follow-ups and promises
    # ------------------------------------------------------------------

    def test_collector_reads_follow_up_history(self):
        # The collector sent Gamma its first reminder from the customer's screen.
        self.gamma.with_user(self.collector).with_company(self.company)._followup_send_manually(
            level=self.first_reminder, send_letter=False
        )
        collector = self._connect(self.collector)
        history = self._execute_kw(
            collector,
            "credit.followup.history",
            "search_read",
            [[("partner_id", "=", self.gamma.id)]],
            {"fields": HISTORY_FIELDS, "order": "date desc, id desc"},
        )
        self.assertEqual(len(history), 1)
        [entry] = history
        self.assertEqual(entry["date"], fields.Date.to_string(self.today))
        self.assertEqual(entry["level_id"], [self.first_reminder.id, "First reminder"])
        self.assertEqual(entry["state"], "done")
        self.assertEqual(entry["trigger"], "manual")
        self.assertEqual(entry["user_id"], [self.collector.id, self.collector.name])
        self.assertIs(entry["send_email"], True)
        self.assertAlmostEqual(entry["overdue_amount"], 600.40, places=2)
        self.assertEqual(entry["invoice_ids"], self.gamma_invoice.ids)

    def test_collector_records_a_promise_to_pay(self):
        collector = self._connect(self.collector)
        promised_date = fields.Date.to_string(self.today + timedelta(days=14))
        promise_id = self._execute_kw(
            collector,
            "credit.promise",
            "create",
            [
                {
                    "partner_id": self.gamma.id,
                    "amount": 600.40,
                    "promised_date": promised_date,
                    "note": "Promised on the phone by the accountant.",
                }
            ],
        )
        self.assertIsInstance(promise_id, int)
        [promise] = self._execute_kw(
            collector, "credit.promise", "read", [[promise_id]], {"fields": PROMISE_FIELDS}
        )
        self.assertEqual(promise["partner_id"], [self.gamma.id, "Api Gamma"])
        self.assertAlmostEqual(promise["amount"], 600.40, places=2)
        self.assertEqual(promise["promised_date"], promised_date)
        self.assertEqual(promise["state"], "open")
        self.assertAlmostEqual(promise["residual_at_promise"], 600.40, places=2)
        [gamma] = self._read_customers(collector, ["API-003"])
        self.assertEqual(gamma["followup_status"], "promised")

    def test_salesperson_cannot_record_a_promise(self):
        salesperson = self._connect(self.salesperson)
        with self.assertRaises(xmlrpc.client.Fault) as caught:
            self._execute_kw(
                salesperson,
                "credit.promise",
                "create",
                [
                    {
                        "partner_id": self.gamma.id,
                        "amount": 600.40,
                        "promised_date": fields.Date.to_string(self.today + timedelta(days=14)),
                    }
                ],
            )
        self.assertTrue(caught.exception.faultCode.startswith("warning -- AccessError"))
        self.assertIn("Promise to Pay", caught.exception.faultCode)
