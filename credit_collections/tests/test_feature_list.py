import os
import re

from lxml import html

from odoo.modules.module import get_module_path
from odoo.tests import TransactionCase, tagged

# The README's introduction: "What this version does:" then bullets, "Planned, ..."
# then bullets; each bullet starts with its feature's name in bold.
README_LIST = re.compile(
    r"^(What this version does|Planned, not in this version yet)\b.*?:\n\n(.*?)\n\n", re.M | re.S
)
README_BULLET = re.compile(r"^- \*\*(.+?)\*\*", re.M)
README_LINK = re.compile(r"\]\(#([a-z0-9-]+)\)")


def _anchor(heading):
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@tagged("post_install", "-at_install")
class TestFeatureList(TransactionCase):
    """The Apps page and the README say the same thing about what the addon does and
    what is only planned, and a feature said to exist has its section in the README:
    moving a feature from planned to done means writing its section."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        readme = os.path.join(get_module_path("credit_collections"), os.pardir, "README.md")
        with open(readme, encoding="utf-8") as file:
            cls.readme = file.read()
        cls.module = cls.env["ir.module.module"].search([("name", "=", "credit_collections")])

    def _readme_lists(self):
        lists = {}
        for title, body in README_LIST.findall(self.readme):
            key = "available" if title.startswith("What") else "planned"
            lists[key] = (README_BULLET.findall(body), body)
        return lists

    def _apps_lists(self):
        # What the Apps page shows: the description Odoo read from static/description.
        tree = html.fromstring(self.module.description_html)
        return {
            key: [
                " ".join(li.find("b").text_content().split())
                for li in tree.xpath(f"//ul[@class='cc_features_{key}']/li")
            ]
            for key in ("available", "planned")
        }

    def test_apps_page_lists_the_readme_features(self):
        readme = self._readme_lists()
        apps = self._apps_lists()
        self.assertEqual(
            readme["available"][0],
            [
                "Credit limits and live exposure",
                "Follow-ups (dunning)",
                "Installment plans",
                "Late interest and compensation",
            ],
        )
        self.assertEqual(apps["available"], readme["available"][0])
        self.assertEqual(apps["planned"], readme["planned"][0])
        self.assertTrue(apps["planned"], "the planned features are listed as planned")

    def test_features_said_to_exist_have_their_section(self):
        readme = self._readme_lists()
        anchors = {_anchor(heading) for heading in re.findall(r"^#{2,4} (.+)$", self.readme, re.M)}
        available, body = readme["available"]
        links = README_LINK.findall(body)
        self.assertEqual(
            len(links), len(available), "every feature that exists links to its section"
        )
        for link in links:
            self.assertIn(link, anchors)
        # A planned feature has no section yet: its section comes with it.
        for name in readme["planned"][0]:
            self.assertNotIn(
                _anchor(name), anchors, f"{name} has a section: move it to what this version does"
            )

    def test_summary_promises_nothing_planned(self):
        summary = self.module.summary.lower()
        for word in ("workspace", "worklist", "aging", "dso", "statement", "dispute", "predicted"):
            self.assertNotIn(word, summary)
        self.assertNotIn("workspace", self.module.description_html.lower())
