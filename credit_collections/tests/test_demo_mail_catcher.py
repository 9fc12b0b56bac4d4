"""bin/demo's mail catcher (bin/mail_catcher.py), run for real: what Odoo sends
over SMTP to 127.0.0.1 is kept as an .eml file and listed on its page."""

import os
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from odoo.tests import BaseCase, tagged

CATCHER = Path(__file__).resolve().parents[2] / "bin" / "mail_catcher.py"


@tagged("post_install", "-at_install")
class TestDemoMailCatcher(BaseCase):
    def setUp(self):
        super().setUp()
        tmp = tempfile.TemporaryDirectory(prefix="credit_collections_catcher_")
        self.addCleanup(tmp.cleanup)
        self.folder = os.path.join(tmp.name, "mail")
        ready = os.path.join(tmp.name, "ready")
        self.process = subprocess.Popen(
            [sys.executable, str(CATCHER), "--dir", self.folder, "--ready-file", ready],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.addCleanup(self._stop)
        deadline = time.monotonic() + 20
        while not os.path.exists(ready):
            self.assertIsNone(self.process.poll(), "the mail catcher stopped at once")
            self.assertLess(time.monotonic(), deadline, "the mail catcher was not ready in 20 s")
            time.sleep(0.1)
        with open(ready, encoding="utf-8") as file:
            self.smtp_port, self.page_port = map(int, file.read().split())

    def _stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process.stdout.close()

    def _page(self, path="/"):
        url = f"http://127.0.0.1:{self.page_port}{path}"
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8")

    def test_message_sent_over_smtp_is_kept_and_listed_until_the_catcher_stops(self):
        self.assertIn("No message yet.", self._page())
        message = EmailMessage()
        message["Subject"] = "Northwind: first reminder about your overdue payment"
        message["From"] = "accounts@yourcompany.example.com"
        message["To"] = "laura.mitchell@northwind-supplies.example.com"
        message.set_content("Dear Laura,")
        message.add_alternative("<p>Dear Laura,</p><p>Invoice INV/2026/00042</p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

        names = os.listdir(self.folder)
        self.assertEqual(len(names), 1, names)
        self.assertTrue(names[0].endswith(".eml"))
        raw = Path(self.folder, names[0]).read_text(encoding="utf-8")
        self.assertIn("Subject: Northwind: first reminder about your overdue payment", raw)

        page = self._page()
        self.assertIn("1 message(s) kept in", page)
        self.assertIn("Northwind: first reminder about your overdue payment", page)
        self.assertIn("laura.mitchell@northwind-supplies.example.com", page)
        self.assertIn(f'href="/message/{names[0]}"', page)
        self.assertIn("Invoice INV/2026/00042", self._page(f"/message/{names[0]}"))
        self.assertIn("Dear Laura,", self._page(f"/eml/{names[0]}"))
        with self.assertRaises(urllib.error.HTTPError) as outside:
            self._page("/eml/..%2Fready")
        self.assertEqual(outside.exception.code, 404)

        self.process.send_signal(signal.SIGTERM)
        self.assertEqual(self.process.wait(20), 0)
        with self.assertRaises(OSError):
            smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=5)
        with self.assertRaises(OSError):
            self._page()
