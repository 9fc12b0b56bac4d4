from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestCreditCheckQueries(CreditCollectionsCommon):
    def _queries_to_check(self, order):
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        message = order._confirmation_error_message()
        return self.env.cr.sql_log_count - before, message

    def test_confirmation_check_runs_constant_queries(self):
        small = self._create_customer("Few items", limit=10**9)
        self._create_invoice(small, 100.0)
        big = self._create_customer("Many items", limit=10**9)
        for index in range(15):
            self._create_invoice(big, 100.0 + index, days_overdue=index - 5)
        for _index in range(4):
            self._create_order(big, 50.0).action_confirm()
        self._create_invoice(big, 30.0, post=False)
        small_order = self._create_order(small, 10.0)
        big_order = self._create_order(big, 10.0)
        self.env.flush_all()
        self._queries_to_check(small_order)  # warm the access-rule caches
        small_count, small_message = self._queries_to_check(small_order)
        big_count, big_message = self._queries_to_check(big_order)
        self.assertFalse(small_message)
        self.assertFalse(big_message)
        self.assertEqual(small_count, big_count)
        self.env.invalidate_all()
        with self.assertQueryCount(14):
            big_order._confirmation_error_message()
