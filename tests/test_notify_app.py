"""The app's notifications page (issue 16 item 4): the outbox of the round after a publication, sending
what is due to a local SMTP server, each message's status."""
from __future__ import annotations

from reviewer.app import panels as svc_panels
from reviewer.app import rounds as svc_rounds
from reviewer.app import store as app_store
from tests.notify_support import Mailbox, SmtpServer, notify_env
from tests.test_app_pages import appdata, button, frames, start, texts  # noqa: F401

STAGE = "初审评估"


def test_notify_page_empty_then_sends_the_invitations_of_a_published_stage(appdata, monkeypatch):
    app_store._STORES.clear()
    at = start("views/notify.py")
    assert "发件箱为空" in texts(at)
    rid = svc_rounds.ensure_demo_round()
    svc_panels.plan_stage(rid, STAGE, seed=1, time_limit=20)
    svc_panels.publish(rid, STAGE)
    with SmtpServer(Mailbox()) as smtp:
        notify_env(monkeypatch, smtp, None)
        at = start("views/notify.py")
        shown = [f for f in frames(at) if "状态" in f.columns][0]
        assert set(shown["状态"]) == {"待发送"} and set(shown["kind"]) == {"邀请"}   # codes shown in words
        assert "email" in texts(at)
        button(at, "发送到期消息").click().run()
        assert not at.exception
        assert "已发送 sent" in texts(at)
        n_mail = int((shown["channel"] == "电子邮件").sum())   # channel shown in words
        assert len(smtp.mailbox.messages) == n_mail
    shown = [f for f in frames(at) if "状态" in f.columns][0]
    assert set(shown.loc[shown["channel"] == "电子邮件", "状态"]) == {"已发送"}
    assert set(shown.loc[shown["channel"] == "短信", "状态"]) == {"待发送"}   # SMS not configured: left queued
