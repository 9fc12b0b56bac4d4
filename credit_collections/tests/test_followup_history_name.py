from odoo.tests import tagged
from odoo.tools import format_date

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestFollowupHistoryName(CreditCollectionsCommon):
    """A follow-up is named by whom it chased, at which level and when: the
    breadcrumb and the email's record read that, not "credit.followup.history,3"."""

    def test_history_is_named_by_customer_level_and_date(self):
        self._create_invoice(self.customer, 300.0, days_overdue=20)
        self._run_followup_cron()
        history = self.env["credit.followup.history"].search(
            [("partner_id", "=", self.customer.id)]
        )
        self.assertEqual(len(history), 1)
        expected = (
            f"{self.customer.display_name} – {history.level_id.name} – "
            f"{format_date(self.env, self.today)}"
        )
        # As the collector reads it in the breadcrumb (display_name over RPC).
        as_collector = history.with_user(self.collector)
        self.assertEqual(as_collector.display_name, expected)
        self.assertNotIn("credit.followup.history", as_collector.display_name)
