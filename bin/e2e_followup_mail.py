#!/usr/bin/env python3
"""End-to-end check of the follow-up emails, outside Odoo's test mode.

Under Odoo's test mode no email ever leaves: the SMTP connection is skipped and
``mail.mail`` still ends "sent". This script is run by ``bin/test`` after the
unit tests, on the same database, as a plain Odoo process:

1. starts an SMTP server (aiosmtpd, Maildir handler) on 127.0.0.1 and points an
   outgoing mail server (``ir.mail_server``) at it;
2. creates a customer with an invoice contact, an invoice overdue for 20 days,
   a collector, and gives the company an email address; commits;
3. runs the scheduled action "run follow-ups" for real (it commits by itself),
   then flushes the mail queue as Odoo's own cron does;
4. reads the Maildir and checks that the customer's invoice contact received
   exactly one follow-up, from the company, with the collector as Reply-To, the
   level's subject and the statement of the overdue invoice; and that the
   follow-up history records the email as sent.

Exits 1 with the reason on the first failed check, 0 with one line otherwise.
The SMTP server is stopped in every case.

    bin/e2e_followup_mail.py -d DB --addons-path PATH [--db-host H] [--db-user U] [--data-dir D]
"""

import argparse
import contextlib
import email
import email.policy
import logging
import os
import socket
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from email.utils import getaddresses, parseaddr

import lxml.html
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

import odoo
from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tools import format_amount

DAYS_OVERDUE = 20  # past the second reminder (15 days) of the default policy
INVOICE_AMOUNT = 1234.56
EXPECTED_TEMPLATE = "credit_collections.mail_template_followup_second"
EXPECTED_SUBJECT = "{company}: second reminder about your overdue payment"


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", "-d", required=True)
    parser.add_argument("--addons-path", required=True)
    parser.add_argument("--db-host", default=None)
    parser.add_argument("--db-user", default=None)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--maildir",
        default=None,
        help="keep the received emails in this Maildir (default: a temporary one, removed)",
    )
    return parser.parse_args(argv)


def open_registry(args):
    # aiosmtpd logs every SMTP command at INFO level; Debian's wkhtmltopdf warns on
    # every letter that it cannot print headers (built without patched Qt).
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("odoo.addons.base.models.ir_actions_report").setLevel(logging.ERROR)
    options = ["-d", args.database, "--addons-path", args.addons_path, "--log-level", "warn"]
    if args.db_host:
        options += ["--db_host", args.db_host]
    if args.db_user:
        options += ["--db_user", args.db_user]
    if args.data_dir:
        options += ["--data-dir", args.data_dir]
    odoo.tools.config.parse_config(options)
    return odoo.modules.registry.Registry(args.database)


@contextlib.contextmanager
def environment(registry):
    """A superuser environment whose transaction is committed when the block ends."""
    with registry.cursor() as cr:
        yield api.Environment(cr, SUPERUSER_ID, {})


def free_local_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def smtp_server(mail_dir):
    """An SMTP server on 127.0.0.1 storing every message it receives in mail_dir."""
    for folder in ("tmp", "new", "cur"):
        os.makedirs(os.path.join(mail_dir, folder), exist_ok=True)
    controller = Controller(Mailbox(mail_dir), hostname="127.0.0.1", port=free_local_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def prepare_data(env, smtp_port):
    """Mail server, company address, collector, customer and its overdue invoice."""
    tag = uuid.uuid4().hex[:8]
    company = env.ref("base.main_company")
    company.email = f"accounts-{tag}@company.example.com"
    # The level of the oldest item at once (the default starts at the first
    # reminder): the second reminder, which also prints a letter.
    company.credit_followup_start_mode = "oldest_item"
    # The only outgoing server: servers of earlier runs point at closed ports.
    env["ir.mail_server"].search([]).active = False
    env["ir.mail_server"].create(
        {
            "name": f"Follow-up end-to-end check {tag}",
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_encryption": "none",
            "sequence": 1,
        }
    )
    # Letters are printed without a web server: wkhtmltopdf must not wait for
    # style sheets from one (the text of the PDF is the same).
    env["ir.config_parameter"].set_param("report.url", "http://127.0.0.1:9")
    collector = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            {
                "name": f"Collector {tag}",
                "login": f"collector-{tag}",
                "email": f"collector-{tag}@company.example.com",
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "groups_id": [Command.link(env.ref("credit_collections.group_credit_user").id)],
            }
        )
    )
    customer = env["res.partner"].create(
        {
            "name": f"End-to-end Customer {tag}",
            "is_company": True,
            "lang": "en_US",
            "email": f"office-{tag}@customer.example.com",
        }
    )
    contact = env["res.partner"].create(
        {
            "name": f"Accounts Payable {tag}",
            "parent_id": customer.id,
            "type": "invoice",
            "email": f"payables-{tag}@customer.example.com",
        }
    )
    customer.with_company(company).followup_responsible_id = collector
    today = fields.Date.context_today(env["res.partner"])
    due_date = today - timedelta(days=DAYS_OVERDUE)
    invoice = (
        env["account.move"]
        .with_company(company)
        .create(
            {
                "move_type": "out_invoice",
                "partner_id": customer.id,
                "company_id": company.id,
                "invoice_date": due_date,
                "invoice_date_due": due_date,
                "invoice_payment_term_id": False,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "End-to-end goods",
                            "quantity": 1,
                            "price_unit": INVOICE_AMOUNT,
                            "tax_ids": [],
                        }
                    )
                ],
            }
        )
    )
    invoice.action_post()
    check(
        invoice.amount_residual == INVOICE_AMOUNT,
        f"the test invoice is open for {invoice.amount_residual}, not {INVOICE_AMOUNT}",
    )
    return {
        "company": company.id,
        "collector": collector.id,
        "customer": customer.id,
        "contact": contact.id,
        "invoice": invoice.id,
    }


def run_followups(registry):
    """The scheduled action as Odoo's scheduler runs it: one batch per call, each
    committed, called again while it reports customers left."""
    for _call in range(50):
        with environment(registry) as env:
            cron = env.ref("credit_collections.ir_cron_run_followups")
            cron.method_direct_trigger()
            progress = env["ir.cron.progress"].search(
                [("cron_id", "=", cron.id)], order="id desc", limit=1
            )
            if not progress.remaining:
                return
    raise RuntimeError("The follow-up run never reported its end.")


def send_queued_mail(registry):
    with environment(registry) as env:
        env["mail.mail"].process_email_queue()


def read_mailbox(mail_dir):
    messages = []
    for folder in ("new", "cur"):
        path = os.path.join(mail_dir, folder)
        for name in sorted(os.listdir(path)):
            with open(os.path.join(path, name), "rb") as file:
                messages.append(email.message_from_binary_file(file, policy=email.policy.default))
    return messages


def html_body(message):
    """Text (whitespace normalized) and link targets of the HTML part of message."""
    part = message.get_body(preferencelist=("html",))
    check(part is not None, f"the follow-up email {message['Subject']!r} has no HTML body")
    document = lxml.html.fromstring(part.get_content())
    return " ".join(document.text_content().split()), document.xpath("//a/@href")


def check_email(env, ids, messages):
    company = env["res.company"].browse(ids["company"])
    collector = env["res.users"].browse(ids["collector"])
    customer = env["res.partner"].browse(ids["customer"])
    contact = env["res.partner"].browse(ids["contact"])
    invoice = env["account.move"].browse(ids["invoice"])

    def recipients(message):
        return {address.lower() for _name, address in getaddresses(message.get_all("To", []))}

    to_contact = [message for message in messages if contact.email in recipients(message)]
    check(
        len(to_contact) == 1,
        f"expected exactly 1 email to the invoice contact {contact.email}, got "
        f"{len(to_contact)} (the SMTP server received {len(messages)} in all)",
    )
    to_customer = [message for message in messages if customer.email in recipients(message)]
    check(
        not to_customer,
        f"the follow-up also went to {customer.email}, who is not an invoice contact",
    )
    message = to_contact[0]
    check(
        recipients(message) == {contact.email},
        f"To: is {message['To']!r}, expected the invoice contact {contact.email} alone",
    )
    expected_subject = EXPECTED_SUBJECT.format(company=company.name)
    check(
        message["Subject"] == expected_subject,
        f"Subject: is {message['Subject']!r}, expected {expected_subject!r}",
    )
    check(
        parseaddr(message["From"])[1] == company.email,
        f"From: is {message['From']!r}, expected the company's address {company.email}",
    )
    check(
        parseaddr(message.get("Reply-To", ""))[1] == collector.email,
        f"Reply-To: is {message.get('Reply-To')!r}, expected the collector {collector.email}",
    )
    text, links = html_body(message)
    amount = format_amount(env, invoice.amount_residual, invoice.currency_id)
    for label, expected in (
        ("the invoice number", invoice.name),
        ("the open amount", " ".join(amount.split())),
        ("the collector's signature", collector.name),
    ):
        check(expected in text, f"the follow-up email does not show {label} ({expected})")
    pay_url = invoice.get_base_url() + invoice.get_portal_url()
    check(pay_url in links, f"the follow-up email has no payment link to {pay_url}")
    # A letter from the company, not an Odoo notification of a record.
    for frame in ("Unfollow", "Follow-up History", "Powered by"):
        check(frame not in text, f"the follow-up email carries Odoo's notification frame ({frame})")
    check(
        not any("/mail/unfollow" in link for link in links),
        "the follow-up email has an unfollow link",
    )
    check(
        text.count(company.name) >= 2,
        f"the follow-up email does not show the company {company.name} in its header and footer",
    )


def check_history(env, ids):
    customer = env["res.partner"].browse(ids["customer"])
    history = env["credit.followup.history"].search(
        [("partner_id", "=", customer.id), ("company_id", "=", ids["company"])]
    )
    check(len(history) == 1, f"expected 1 follow-up history record, found {len(history)}")
    check(
        history.level_id.mail_template_id == env.ref(EXPECTED_TEMPLATE),
        f"the customer reached level {history.level_id.name!r}, expected the one sending "
        f"{EXPECTED_TEMPLATE}",
    )
    check(
        history.email_state == "sent",
        f"the follow-up history says the email is {history.email_state!r}, not 'sent'",
    )
    check(
        "Email sent to" in (history.summary or ""),
        f"the follow-up history does not say the email was sent: {history.summary!r}",
    )
    letter = history.letter_attachment_id
    check(
        letter and letter.raw.startswith(b"%PDF"),
        "the follow-up history keeps no PDF letter",
    )


def main(argv=None):
    args = parse_args(argv)
    started = time.monotonic()
    registry = open_registry(args)
    with tempfile.TemporaryDirectory(prefix="credit_collections_e2e_") as tmp:
        mail_dir = args.maildir or os.path.join(tmp, "maildir")
        try:
            with smtp_server(mail_dir) as server:
                with environment(registry) as env:
                    ids = prepare_data(env, server.port)
                run_followups(registry)
                send_queued_mail(registry)
                messages = read_mailbox(mail_dir)
            with environment(registry) as env:
                check_email(env, ids, messages)
                check_history(env, ids)
        except CheckFailed as failure:
            print(
                f"[credit_collections] end-to-end follow-up mail FAILED: {failure}", file=sys.stderr
            )
            return 1
    print(
        f"[credit_collections] end-to-end follow-up mail OK: the scheduled action's reminder "
        f"reached the invoice contact through SMTP on 127.0.0.1 ({len(messages)} message(s) "
        f"received, {time.monotonic() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
