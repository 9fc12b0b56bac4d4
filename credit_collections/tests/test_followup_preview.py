from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import CreditCollectionsCommon


@tagged("post_install", "-at_install")
class TestFollowupPreview(CreditCollectionsCommon):
    """Issue 20 point 16: before the first automatic run, a credit manager sees
    what it would send (Preview the Next Run), and a company may start with its
    automatic follow-ups paused until someone has looked. Point 13 (settings):
    every checkbox of the addon's settings sits beside its label."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.email = "billing@company.example.com"
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        cls.reminder, cls.first, cls.second, cls.final, cls.collection = policy._get_levels()
        # Emailed: 1,200.00 overdue 20 days, first reminder (the first level after
        # the due date at go-live). No address: 800.00 overdue 5 days, first
        # reminder, no email. Early: 300.00 due in 2 days, the reminder before
        # the due date (-3). Not yet: due in 20 days, nothing. Excluded: never
        # followed up.
        cls.emailed = cls._create_customer("Preview Emailed")
        cls.no_address = cls._create_customer("Preview No Address", email=False)
        cls.early = cls._create_customer("Preview Early")
        cls.not_yet = cls._create_customer("Preview Not Yet")
        cls.excluded = cls._create_customer("Preview Excluded")
        cls._create_invoice(cls.emailed, 1200.0, days_overdue=20)
        cls._create_invoice(cls.no_address, 800.0, days_overdue=5)
        cls._create_invoice(cls.early, 300.0, days_overdue=-2)
        cls._create_invoice(cls.not_yet, 500.0, days_overdue=-20)
        cls._create_invoice(cls.excluded, 700.0, days_overdue=40)
        cls.excluded.with_company(cls.company).followup_excluded = True
        cls.ours = cls.emailed | cls.no_address | cls.early | cls.not_yet | cls.excluded
        # Who switches follow-ups on: a settings administrator who manages credit.
        cls.administrator = cls._create_user(
            "cc_settings_admin", "base.group_system,credit_collections.group_credit_manager"
        )

    def _open_preview(self, user):
        action = (
            self.env["credit.followup.preview"]
            .with_user(user)
            .with_company(self.company)
            ._action_open()
        )
        self.assertEqual((action["name"], action["target"]), ("Preview the Next Run", "current"))
        return self.env["credit.followup.preview"].with_user(user).browse(action["res_id"])

    def _shown(self, preview):
        return [
            (line.partner_id.name, line.level_id.name, line.channel, line.overdue_amount)
            for line in preview.line_ids
        ]

    def _footprint(self):
        """What a run leaves for our customers: emails, histories, levels,
        chatter messages (the database's demo company is run too)."""
        ours = [("model", "=", "res.partner"), ("res_id", "in", self.ours.ids)]
        return (
            self.env["mail.mail"].search_count(ours),
            self.env["credit.followup.history"].search_count([("partner_id", "in", self.ours.ids)]),
            self.env["mail.message"].search_count(ours),
            [p.with_company(self.company).followup_level_id for p in self.ours],
        )

    def _histories(self):
        return self.env["credit.followup.history"].search(
            [("partner_id", "in", self.ours.ids), ("company_id", "=", self.company.id)]
        )

    def test_preview_shows_what_the_run_then_does_and_sends_nothing(self):
        before = self._footprint()
        preview = self._open_preview(self.credit_manager)
        self.env.invalidate_all()
        # Largest overdue first; amounts as the run records them.
        self.assertEqual(
            self._shown(preview),
            [
                ("Preview Emailed", "First reminder", "Email", 1200.0),
                (
                    "Preview No Address",
                    "First reminder",
                    "No email address: an activity asks for one",
                    800.0,
                ),
                ("Preview Early", "Reminder before due date", "Email", 0.0),
            ],
        )
        self.assertEqual((preview.customer_count, preview.overdue_amount), (3, 2000.0))
        self.assertEqual(self._footprint(), before)

        self._run_followup_cron()
        done = {(h.partner_id.name, h.level_id.name, h.overdue_amount) for h in self._histories()}
        self.assertEqual(
            done, {(name, level, amount) for name, level, _channel, amount in self._shown(preview)}
        )
        # Emailed as the preview said: Emailed and Early; No Address, not.
        self.assertEqual(
            self._histories().filtered("mail_message_id").partner_id, self.emailed | self.early
        )

    def test_preview_channel_reads_the_levels_actions(self):
        self.first.write({"send_letter": True, "set_credit_hold": True})
        preview = self._open_preview(self.credit_manager)
        self.assertEqual(
            preview.line_ids.filtered(lambda line: line.partner_id == self.emailed).channel,
            "Email, Letter, Credit hold",
        )

    def test_paused_company_run_does_nothing_until_the_preview_starts_it(self):
        admin = self.administrator
        self.env["res.config.settings"].with_user(admin).with_company(self.company).create(
            {"credit_followup_paused": True}
        ).execute()
        self.assertTrue(self.company.credit_followup_paused)
        chatter = self.company.partner_id.message_ids
        self.assertIn(
            f"Automatic follow-ups paused by {admin.name}: the scheduled run sends nothing "
            f"for {self.company.name} until they are started again.",
            chatter[0].body,
        )

        before = self._footprint()
        self._run_followup_cron()
        self.assertEqual(self._footprint(), before)
        self.assertFalse(self._histories())

        preview = self._open_preview(self.credit_manager)
        self.assertTrue(preview.followup_paused)
        self.assertEqual(len(preview.line_ids), 3)
        arch = etree.fromstring(preview.get_views([(False, "form")])["views"]["form"]["arch"])
        [button] = arch.xpath("//button[@name='action_start_automatic_followups']")
        self.assertEqual(button.get("string"), "Start Automatic Follow-ups")
        self.assertEqual(button.get("invisible"), "not followup_paused")

        preview.action_start_automatic_followups()
        self.assertFalse(self.company.credit_followup_paused)
        self.assertIn(
            f"Automatic follow-ups started by {self.credit_manager.name}: the scheduled run "
            f"follows up the customers of {self.company.name} again.",
            self.company.partner_id.message_ids[0].body,
        )
        self.assertEqual(
            self.company.partner_id.message_ids[0].author_id, self.credit_manager.partner_id
        )
        self._run_followup_cron()
        self.assertEqual(
            set(self._histories().mapped("partner_id.name")),
            {"Preview Emailed", "Preview No Address", "Preview Early"},
        )

    def test_paused_company_leaves_the_other_companies_running(self):
        other = self.setup_other_company()["company"]
        other.credit_followup_paused = True
        self._run_followup_cron()
        self.assertEqual(len(self._histories()), 3)

    def test_only_credit_managers_preview_and_start(self):
        self.company.credit_followup_paused = True
        for user in (self.collector, self.salesperson):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["credit.followup.preview"].with_user(user)._action_open()
        preview = self._open_preview(self.credit_manager)
        with self.assertRaises(AccessError):
            preview.with_user(self.collector).action_start_automatic_followups()
        self.assertTrue(self.company.credit_followup_paused)
        action = self.env.ref("credit_collections.action_credit_followup_preview")
        self.assertEqual(action.groups_id, self.env.ref("credit_collections.group_credit_manager"))

    def test_settings_say_the_pause_and_open_the_preview(self):
        settings = self.env["res.config.settings"].with_user(self.administrator)
        arch = etree.fromstring(settings.get_views([(False, "form")])["views"]["form"]["arch"])
        [setting] = arch.xpath("//setting[@id='credit_followup_paused_setting']")
        self.assertEqual(setting.get("string"), "Start with automatic follow-ups paused")
        notice = setting.xpath(".//div[contains(@class, 'o_credit_followup_paused_notice')]")[0]
        self.assertEqual(notice.get("invisible"), "not credit_followup_paused")
        self.assertIn("Automatic follow-ups are paused", notice.text)
        [button] = setting.xpath(".//button[@name='action_credit_followup_preview']")
        self.assertEqual(button.get("string"), "Preview the Next Run")
        action = settings.create({}).action_credit_followup_preview()
        self.assertEqual(action["res_model"], "credit.followup.preview")
        preview = self.env["credit.followup.preview"].browse(action["res_id"])
        self.assertEqual(
            preview.line_ids.partner_id & self.ours, self.emailed | self.no_address | self.early
        )

    def test_every_settings_checkbox_sits_beside_its_label(self):
        """Point 13: a checkbox in a "row" with a label column wraps under the
        label; a checkbox is the first field of its <setting> (the setting's
        checkbox pane), or inline before its label in a plain div."""
        settings = self.env["res.config.settings"].with_user(self.administrator)
        arch = etree.fromstring(settings.get_views([(False, "form")])["views"]["form"]["arch"])
        [app] = arch.xpath("//app[@name='credit_collections']")
        settings_fields = self.env["res.config.settings"]._fields
        misplaced = []
        for node in app.iter("field"):
            if settings_fields[node.get("name")].type != "boolean":
                continue
            parent = node.getparent()
            first_of_setting = parent.tag == "setting" and parent.index(node) == 0
            before_label = (
                parent.tag == "div"
                and "row" not in (parent.get("class") or "").split()
                and node.getnext() is not None
                and node.getnext().tag == "label"
            )
            if not (first_of_setting or before_label):
                misplaced.append(node.get("name"))
        self.assertFalse(misplaced, "checkboxes not beside their labels")
