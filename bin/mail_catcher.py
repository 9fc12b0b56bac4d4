#!/usr/bin/env python3
"""A local mail catcher for bin/demo: what Odoo sends is kept, never delivered.

An SMTP server on 127.0.0.1 (aiosmtpd) stores every message it receives as an
.eml file in a folder, and a small web page on 127.0.0.1 lists them (date,
from, to, subject) with a link to read each one and to its .eml file. Both
listen on free ports unless given; once both answer, their addresses are
written to --ready-file as one line "SMTP_PORT HTTP_PORT" (written whole: a
reader never sees half of it). SIGTERM or SIGINT stops both.

    bin/mail_catcher.py --dir FOLDER [--smtp-port N] [--http-port N] [--ready-file FILE]

Only aiosmtpd besides the standard library (requirements-test.txt).
"""

import argparse
import email
import email.policy
import html
import http.server
import logging
import os
import signal
import socket
import sys
import threading
import time
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class EmlFolder:
    """aiosmtpd handler: each message received becomes FOLDER/<time>-<n>.eml,
    written under a temporary name first so that the page never lists half a
    message."""

    def __init__(self, folder):
        self.folder = folder
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            name = f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:04d}.eml"
        path = os.path.join(self.folder, name)
        with open(path + ".part", "wb") as file:
            file.write(envelope.original_content or envelope.content)
        os.replace(path + ".part", path)
        return "250 Message accepted for delivery"


def read_message(path):
    with open(path, "rb") as file:
        return email.message_from_binary_file(file, policy=email.policy.default)


def message_names(folder):
    """The .eml files of folder, newest first."""
    return sorted((name for name in os.listdir(folder) if name.endswith(".eml")), reverse=True)


def message_date(message, path):
    try:
        return parsedate_to_datetime(message["Date"]).strftime("%Y-%m-%d %H:%M:%S %z")
    except (TypeError, ValueError):
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(path)))


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4em .6em; text-align: left; }}
th {{ background: #f4f4f4; }}
</style></head>
<body><h1>{title}</h1>{body}</body></html>
"""


def render_index(folder):
    names = message_names(folder)
    rows = []
    for name in names:
        path = os.path.join(folder, name)
        message = read_message(path)
        link = quote(name)
        rows.append(
            "<tr><td>{date}</td><td>{sender}</td><td>{to}</td>"
            '<td><a href="/message/{link}">{subject}</a></td>'
            '<td><a href="/eml/{link}">.eml</a></td></tr>'.format(
                date=html.escape(message_date(message, path)),
                sender=html.escape(str(message["From"] or "")),
                to=html.escape(str(message["To"] or "")),
                subject=html.escape(str(message["Subject"] or "(no subject)")),
                link=link,
            )
        )
    summary = (
        f"<p>{len(names)} message(s) kept in <code>{html.escape(folder)}</code>, newest first. "
        "Nothing is delivered to anyone.</p>"
    )
    table = (
        "<table><tr><th>Date</th><th>From</th><th>To</th><th>Subject</th><th>File</th></tr>"
        + "".join(rows)
        + "</table>"
        if rows
        else "<p>No message yet.</p>"
    )
    return PAGE.format(title="Emails sent by Odoo", body=summary + table)


def render_message(message):
    """The message as it reads: its HTML part as it is, else its text."""
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return "<pre>(no body)</pre>"
    content = part.get_content()
    if part.get_content_type() == "text/html":
        return content
    return f"<pre>{html.escape(content)}</pre>"


class Page(http.server.BaseHTTPRequestHandler):
    folder = None

    def do_GET(self):
        if self.path in ("/", "/index.html"):
            return self._send(render_index(self.folder), "text/html")
        for prefix in ("/message/", "/eml/"):
            if self.path.startswith(prefix):
                name = os.path.basename(unquote(self.path[len(prefix) :]))
                path = os.path.join(self.folder, name)
                if not name.endswith(".eml") or not os.path.isfile(path):
                    break
                if prefix == "/eml/":
                    with open(path, "rb") as file:
                        return self._send(file.read(), "text/plain")
                return self._send(render_message(read_message(path)), "text/html", sandbox=True)
        self.send_error(404, "No such message")

    def _send(self, body, content_type, sandbox=False):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(200)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        # An email's HTML is shown as it is, without running anything it holds.
        if sandbox:
            self.send_header("Content-Security-Policy", "sandbox")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", required=True, help="folder where the .eml files are kept")
    parser.add_argument("--smtp-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--http-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--ready-file", help="written with 'SMTP_PORT HTTP_PORT' once ready")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # aiosmtpd logs every SMTP command at INFO level.
    logging.basicConfig(level=logging.WARNING)
    folder = os.path.abspath(args.dir)
    os.makedirs(folder, exist_ok=True)
    controller = Controller(EmlFolder(folder), hostname=HOST, port=args.smtp_port or free_port())
    controller.start()
    Page.folder = folder
    page = http.server.ThreadingHTTPServer((HOST, args.http_port), Page)
    page.daemon_threads = True
    threading.Thread(target=page.serve_forever, daemon=True).start()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    if args.ready_file:
        with open(args.ready_file + ".part", "w", encoding="utf-8") as file:
            file.write(f"{controller.port} {page.server_address[1]}\n")
        os.replace(args.ready_file + ".part", args.ready_file)
    print(
        f"mail catcher: SMTP on {HOST}:{controller.port}, page at "
        f"http://{HOST}:{page.server_address[1]}/, messages in {folder}",
        flush=True,
    )
    try:
        while not stop.wait(1):
            pass
    finally:
        page.shutdown()
        page.server_close()
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
