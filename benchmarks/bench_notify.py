"""Notification benchmark: sending the outbox to a local SMTP server (aiosmtpd) and SMS stub.

    python benchmarks/bench_notify.py [--messages N] [--db URL]

A fresh store (SQLite in a scratch folder unless --db), N messages enqueued (half e-mail, half SMS:
N/2 recipients with both addresses), then one `send_due` batch: each message claimed, sent and
recorded in its own short transaction (three commits per message). Reports the enqueue time, the
send time and messages per second, with the load average (the machine is shared: note it).
Writes benchmarks/results/notify.json and notify.md.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["REVIEWER_HOME"] = tempfile.mkdtemp(prefix="bench-notify-home-")

from reviewer.notify.channels import EmailChannel, HttpSmsGateway, SmsChannel  # noqa: E402
from reviewer.notify.sender import send_due  # noqa: E402
from reviewer.notify.settings import NotifySettings, SmsSettings, SmtpSettings  # noqa: E402
from reviewer.policy import Notify  # noqa: E402
from reviewer.store import Store, outbox  # noqa: E402


class Sink:
    def __init__(self):
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        return "250 OK"


class Gateway(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *a):
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--db", default=None)
    a = ap.parse_args()
    st = Store(a.db or f"sqlite:///{tempfile.mkdtemp(prefix='bench-notify-')}/s.sqlite")
    t0 = time.perf_counter()
    with st.write() as s:
        for i in range(a.messages // 2):
            who = outbox.Recipient("expert", f"ZJ{i:05d}", f"专家{i}", f"zj{i}@example.cn", f"138{i:08d}")
            outbox.enqueue(s, None, kind="invitation", recipient=who, key=f"bench|{i}", cause="bench", user="bench",
                           context={"round_name": "基准", "name": who.name, "stage": "初审评估", "count": 3,
                                    "applications": "GX-1、GX-2、GX-3", "stage_date": "2026-12-20", "place": "南宁",
                                    "deadline": "2026-12-17 00:00", "contact": "评审办", "outlier_points": "15"})
    t_enqueue = time.perf_counter() - t0
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    http = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    settings = NotifySettings(SmtpSettings("127.0.0.1", port, "none"),
                              SmsSettings(f"http://127.0.0.1:{http.server_address[1]}/send", "k"), "bench")
    channels = {"email": EmailChannel(settings.smtp, settings), "sms": SmsChannel(HttpSmsGateway(settings.sms, settings))}
    t0 = time.perf_counter()
    res = send_due(st, channels, Notify())
    t_send = time.perf_counter() - t0
    ctl.stop()
    http.shutdown()
    out = {"messages": a.messages, "sent": len(res.sent), "smtp_received": sink.n, "enqueue_s": round(t_enqueue, 3),
           "send_s": round(t_send, 3), "per_second": round(len(res.sent) / t_send, 1),
           "backend": st.backend, "loadavg": os.getloadavg(), "machine": platform.processor() or platform.machine(),
           "cpus": os.cpu_count()}
    results = ROOT / "benchmarks" / "results"
    (results / "notify.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    (results / "notify.md").write_text(
        "# Notification sending (outbox → local SMTP + SMS stub)\n\n"
        f"{out['messages']} messages ({out['backend']}): enqueue {out['enqueue_s']} s, send {out['send_s']} s "
        f"= {out['per_second']} messages/s (three commits per message); SMTP received {out['smtp_received']}.\n"
        f"Machine: {out['cpus']} CPUs, load average {', '.join(f'{x:.1f}' for x in out['loadavg'])} "
        "(shared; times inflated under load).\n", encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
