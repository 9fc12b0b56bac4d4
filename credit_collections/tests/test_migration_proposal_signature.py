import re

from odoo.modules.migration import load_script
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL, convert_file

POST = "credit_collections/migrations/18.0.1.5.0/post-migrate.py"
XMLID = "credit_collections.mail_template_installment_plan_proposal"
OLD_SIGNATURE = """<div style="margin: 12px 0px 0px 0px; padding: 0px;">
        Best regards,
        <div t-out="object.company_id.name">YourCompany</div>
    </div>"""

NEW_SIGNATURE = re.compile(
    r'<t t-set="followup".*?t-call="credit_collections.followup_signature"\s*(?:/>|></t>)', re.S
)


@tagged("post_install", "-at_install")
class TestMigrationProposalSignature(TransactionCase):
    """Upgrading to 18.0.1.5.0 signs the plan proposals of an existing database
    by their collector, unless someone edited the old signature."""

    def _upgrade(self):
        self.env.flush_all()
        # What the module update does first: reload the data file, which skips
        # the noupdate template.
        convert_file(
            self.env,
            "credit_collections",
            "data/mail_template_data.xml",
            {},
            mode="update",
            noupdate=True,
        )
        load_script(POST, "credit_collections_migration_18_0_1_5_0_post").migrate(
            self.env.cr, "18.0.1.4.0"
        )
        self.env.invalidate_all()

    def _data(self):
        return self.env["ir.model.data"].search(
            [("module", "=", "credit_collections"), ("name", "=", XMLID.split(".")[1])]
        )

    def _set_old_body(self, extra=""):
        template = self.env.ref(XMLID)
        # A database installed before 18.0.1.5.0 still has the old signature.
        body = NEW_SIGNATURE.sub(OLD_SIGNATURE, str(template.body_html))
        template.body_html = str(body).replace(OLD_SIGNATURE, extra + OLD_SIGNATURE)
        self.assertIn("YourCompany</div>", self.env.ref(XMLID).body_html)

    def test_untouched_old_signature_is_replaced(self):
        self._set_old_body()
        # A French translation of the old template (the signature's words are
        # the language's): replaced as well.
        self.env.flush_all()
        self.env.cr.execute(
            SQL(
                "UPDATE mail_template SET body_html = body_html || jsonb_build_object('fr_FR', "
                "replace(replace(body_html->>'en_US', 'Best regards,', 'Cordialement,'), "
                "'As agreed', 'Nous vous proposons')) WHERE id = %s",
                self.env.ref(XMLID).id,
            )
        )
        self._upgrade()
        body = self.env.ref(XMLID).body_html
        self.assertIn("_get_proposal_signer", body)
        self.assertNotIn("YourCompany</div>", body)
        self.assertTrue(self._data().noupdate, "kept noupdate: later edits survive updates")
        self.env.cr.execute(
            SQL(
                "SELECT body_html->>'fr_FR' FROM mail_template WHERE id = %s",
                self.env.ref(XMLID).id,
            )
        )
        french = self.env.cr.fetchone()[0]
        self.assertIn("Nous vous proposons", french)
        self.assertIn("_get_proposal_signer", french)
        self.assertNotIn("Cordialement", french)

    def test_edited_template_is_kept(self):
        self._set_old_body(extra="<p>Call us on 555-0100 before accepting.</p>")
        template = self.env.ref(XMLID)
        template.body_html = str(template.body_html).replace(
            '<div t-out="object.company_id.name">YourCompany</div>', "<div>The Credit Team</div>"
        )
        self._upgrade()
        body = self.env.ref(XMLID).body_html
        self.assertIn("Call us on 555-0100", body)
        self.assertIn("The Credit Team</div>", body)
        self.assertTrue(self._data().noupdate)
        self.assertNotIn("_get_proposal_signer", body)
