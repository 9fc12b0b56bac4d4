import re
import unicodedata

import polib
from lxml import html

from odoo.tests import tagged
from odoo.tools.misc import file_path

from .common import CreditCollectionsCommon

POT = "credit_collections/i18n/credit_collections.pot"
FRENCH = "credit_collections/i18n/fr.po"
# What cuts a term into the pieces of text a reader sees: markup, inline
# expressions and placeholders (their values are the customer's, not the addon's).
NOT_TEXT = re.compile(r"<[^>]*>|\{\{.*?\}\}|%\(\w+\)[sd]|%[sd]", re.DOTALL)
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|%%|\{\{.*?\}\}", re.DOTALL)


def _text(value):
    """Text as compared here: ligatures of the PDF unfolded, hyphens dropped (the
    PDF wraps "ci-dessous" at its hyphen, and pdftotext reads it back as
    "cidessous"), whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", value).replace("-", "").split())


def _pieces(text):
    """The pieces of text of a term long enough to be told apart from Odoo's own
    words and from names and numbers: several words, or one long word."""
    pieces = {_text(piece) for piece in NOT_TEXT.split(text)}
    return {
        piece
        for piece in pieces
        if len(re.findall(r"[^\W\d_]", piece)) >= 2 and (" " in piece or len(piece) >= 10)
    }


def _units(msgid, msgstr):
    """(English pieces, French pieces) of a term, text by text between its markup
    when the French keeps the markup and placeholders in the same order (a
    template shows only some of its texts, e.g. under t-if), else the whole term.
    Pieces the French keeps as they are (names of the examples) are left out."""
    cuts = NOT_TEXT.findall(msgid)
    if cuts == NOT_TEXT.findall(msgstr):
        pairs = zip(NOT_TEXT.split(msgid), NOT_TEXT.split(msgstr), strict=True)
    else:
        pairs = [(msgid, msgstr)]
    units = []
    for english, french in pairs:
        english_pieces, french_pieces = _pieces(english), _pieces(french)
        if english_pieces - french_pieces:
            units.append((english_pieces - french_pieces, french_pieces - english_pieces))
    return units


@tagged("post_install", "-at_install")
class TestTranslations(CreditCollectionsCommon):
    """A French-speaking customer reads its follow-up email and letter in French:
    every text of the addon in them comes from the French catalog, none is left in
    English. The texts compared are those of the catalog template, so the test
    follows the templates when their wording changes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pot = polib.pofile(file_path(POT))
        cls.french = polib.pofile(file_path(FRENCH))
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(
            ["credit_collections"], ["fr_FR"], overwrite=True
        )
        cls.company.write({"email": "billing@company.example.com"})
        cls.company._credit_create_default_followup_policy()
        policy = cls.env["credit.followup.policy"]._get_company_default(cls.company)
        # The first level that both emails the customer and prints a letter.
        cls.level = policy._get_levels().filtered(
            lambda level: level.send_email and level.send_letter and level.mail_template_id
        )[:1]
        # French of each term of the template, where French differs from English
        # (an untranslated term has no French: its English must not show either).
        translations = {entry.msgid: entry.msgstr for entry in cls.french if entry.msgstr}
        cls.terms = {
            entry.msgid: translations.get(entry.msgid, "")
            for entry in cls.pot
            if translations.get(entry.msgid) != entry.msgid
        }

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------

    def _followup_documents(self, lang, name):
        """What a customer speaking lang reads when a collector sends it the level's
        follow-up: the subject and text of its email, and the text of its letter."""
        # wkhtmltopdf would ask the test server for style sheets and wait on the
        # test cursor: a closed port gives an unstyled PDF with the same text.
        self.env["ir.config_parameter"].sudo().set_param("report.url", "http://127.0.0.1:9")
        # A complete postal address: the letter can be posted.
        customer = self._create_customer(
            name,
            lang=lang,
            street="12 rue des Lilas",
            city="Lyon",
            zip="69003",
            country_id=self.env.ref("base.fr").id,
        )
        self._create_invoice(customer, 1234.0, days_overdue=self.level.delay + 1)
        wizard = (
            self.env["credit.followup.send.wizard"]
            .with_user(self.collector)
            .with_company(self.company)
            .with_context(
                active_model="res.partner",
                active_ids=customer.ids,
                force_report_rendering=True,
            )
            .create({"level_id": self.level.id})
        )
        self.assertTrue(wizard.send_email and wizard.send_letter)
        wizard.action_send()
        history = self.env["credit.followup.history"].search([("partner_id", "=", customer.id)])
        self.assertEqual(history.level_id, self.level)
        message = history.mail_message_id
        self.assertTrue(message, "the follow-up was emailed")
        self.assertTrue(history.letter_attachment_id, "the follow-up letter was printed")
        return {
            "email": _text(f"{message.subject}\n{html.fromstring(message.body).text_content()}"),
            "letter": _text(self._pdf_text(history.letter_attachment_id.raw)),
        }

    def _assert_french(self, kind, english, french):
        """No piece of the addon's English text of document kind is left in French,
        and the French of every text shown in English is there.

        :return: the terms whose texts were compared
        """
        units = {msgid: _units(msgid, msgstr) for msgid, msgstr in self.terms.items()}
        shown = {
            piece
            for term_units in units.values()
            for english_pieces, _french_pieces in term_units
            for piece in english_pieces
            if piece in english
        }
        self.assertGreaterEqual(len(shown), 5, f"the addon's texts are in the English {kind}")
        left = sorted(piece for piece in shown if piece in french)
        self.assertFalse(left, f"English left in the French {kind}")
        compared = set()
        missing = set()
        for msgid, term_units in units.items():
            for english_pieces, french_pieces in term_units:
                if english_pieces <= shown:
                    compared.add(msgid)
                    missing |= {piece for piece in french_pieces if piece not in french}
        self.assertFalse(sorted(missing), f"French of the catalog missing from the French {kind}")
        return compared

    # ------------------------------------------------------------------
    # Tests
    # ------------------------------------------------------------------

    def test_french_catalog_translates_every_term_of_the_template(self):
        self.assertEqual(self.french.metadata.get("Language"), "fr")
        self.assertIn("plural=(n > 1)", self.french.metadata.get("Plural-Forms", ""))
        french = {entry.msgid: entry for entry in self.french}
        msgids = [entry.msgid for entry in self.pot]
        self.assertGreater(len(msgids), 100)
        untranslated = [
            msgid[:80]
            for msgid in msgids
            if msgid not in french or not french[msgid].msgstr or french[msgid].fuzzy
        ]
        self.assertFalse(untranslated, "terms of the template without French")
        broken = [
            msgid[:80]
            for msgid in msgids
            if sorted(PLACEHOLDER.findall(msgid))
            != sorted(PLACEHOLDER.findall(french[msgid].msgstr))
        ]
        self.assertFalse(broken, "French terms whose placeholders differ from the English")

    def test_french_customer_reads_followup_email_and_letter_in_french(self):
        english = self._followup_documents("en_US", "Nordic Timber Supplies")
        french = self._followup_documents("fr_FR", "Boulangerie Dupont")
        rendered = {}
        for kind in ("email", "letter"):
            rendered[kind] = self._assert_french(kind, english[kind], french[kind])
        self.assertTrue(
            any(msgid.lstrip().startswith("<div") for msgid in rendered["email"]),
            "the body of the email template was compared",
        )
