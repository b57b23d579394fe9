"""Local servers for the notification tests: a real SMTP server (aiosmtpd) and an SMS gateway stub
(http.server). Nothing leaves the machine."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    """aiosmtpd handler keeping every accepted message; `answers` (a list of SMTP replies) are
    given, in turn, before accepting; `on_data(n)` runs before the n-th message is accepted."""

    def __init__(self, answers=(), on_data=None):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.answers = list(answers)
        self.on_data = on_data
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.on_data is not None:
                self.on_data(len(self.messages) + 1)
            if self.answers:
                return self.answers.pop(0)
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.messages]


class SmtpServer:
    def __init__(self, mailbox: Mailbox, password: str | None = None):
        self.mailbox, self.port = mailbox, free_port()
        kw = {}
        if password is not None:
            def auth(server, session, envelope, mechanism, data):
                ok = getattr(data, "password", b"") == password.encode()
                return AuthResult(success=ok, handled=False)
            kw = {"authenticator": auth, "auth_require_tls": False}
        self.controller = Controller(mailbox, hostname="127.0.0.1", port=self.port, **kw)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


class SmsStub:
    """An SMS gateway: POST JSON, Bearer key, honours Idempotency-Key (a repeated key is not sent again)."""

    def __init__(self, key: str = "sms-secret-key", fail_first: int = 0, status: int = 503):
        self.key, self.fail_first, self.status = key, fail_first, status
        self.delivered: list[dict] = []       # texts actually "sent" to phones
        self.requests: list[dict] = []        # every request (headers and body)
        stub = self

        class H(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8"))
                stub.requests.append({"headers": dict(self.headers), "body": body, "path": self.path})
                if stub.fail_first > 0:
                    stub.fail_first -= 1
                    return self._answer(stub.status, {"error": "busy"})
                if self.headers.get("Authorization") != f"Bearer {stub.key}":
                    return self._answer(401, {"error": "bad key"})
                key = self.headers.get("Idempotency-Key")
                if key not in {d["idempotency_key"] for d in stub.delivered}:
                    stub.delivered.append(body)
                return self._answer(200, {"id": f"sms-{key[-12:]}"})

            def _answer(self, code, obj):
                raw = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def notify_env(monkeypatch, smtp: SmtpServer | None, sms: SmsStub | None, password: str = "", user: str = ""):
    for k in ("REVIEWER_SMTP_HOST", "REVIEWER_SMTP_PORT", "REVIEWER_SMTP_SECURITY", "REVIEWER_SMTP_USER",
              "REVIEWER_SMTP_PASSWORD", "REVIEWER_SMTP_FROM", "REVIEWER_SMS_URL", "REVIEWER_SMS_KEY"):
        monkeypatch.delenv(k, raising=False)
    if smtp is not None:
        monkeypatch.setenv("REVIEWER_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("REVIEWER_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("REVIEWER_SMTP_SECURITY", "none")
        monkeypatch.setenv("REVIEWER_SMTP_FROM", "评审办 <pingshen@gxgxt.example.cn>")
        if user:
            monkeypatch.setenv("REVIEWER_SMTP_USER", user)
            monkeypatch.setenv("REVIEWER_SMTP_PASSWORD", password)
    if sms is not None:
        monkeypatch.setenv("REVIEWER_SMS_URL", sms.url)
        monkeypatch.setenv("REVIEWER_SMS_KEY", sms.key)
