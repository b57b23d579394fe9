"""Issue 16 item 4: notifications really sent. The outbox is written in the act's transaction
(publication, replacement, reminder), the sender delivers by SMTP (a real aiosmtpd server on this
machine) and an SMS gateway (a local http.server stub), with retries, backoff, per-message status
and idempotent resend."""
from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from reviewer.errors import UserError
from reviewer.notify import templates
from reviewer.notify.channels import open_channels, wire_key
from reviewer.notify.sender import backoff, send_due
from reviewer.notify.settings import load_settings
from reviewer.store import outbox, publishing, replacement, repo
from reviewer.store.models import OutboxMessage, utcnow
from tests.notify_support import Mailbox, SmsStub, SmtpServer, notify_env
from tests.test_store_support import planned_store, run_cli, store_copy

FIRST, SITE = "初审评估", "现场考察"


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return planned_store(tmp_path_factory.mktemp("notify"), FIRST)


@pytest.fixture
def db(base, tmp_path):
    st, path, run_id = store_copy(base, tmp_path)
    yield st, path, run_id
    st.dispose()


def rows(st, **where):
    with st.read() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        for k, v in where.items():
            q = q.where(getattr(OutboxMessage, k) == v)
        return list(s.execute(q).scalars())


def policy_notify(st):
    with st.read() as s:
        return repo.round_policy(repo.get_round(s, "2026")).notify


LIMIT = 16   # messages per batch in these tests (a stage has ~290: sending them all is minutes on a busy machine)


def send(st, now=utcnow, after_send=None, limit=LIMIT):
    settings = load_settings()
    return send_due(st, open_channels(settings), policy_notify(st), scrub=settings.scrub, now=now,
                    after_send=after_send, limit=limit)


def test_publication_writes_one_invitation_per_expert_and_channel_in_its_transaction(db):
    st, _, _ = db
    with st.read() as s:
        r = repo.get_round(s, "2026")
        experts = sorted(set(repo.published_seats(s, r, FIRST)["expert_id"]))
        people = outbox.expert_recipients(s, r)
    inv = rows(st, kind="invitation")
    assert sorted({m.recipient_id for m in inv}) == experts
    assert len(inv) == sum(bool(people[e].email) + bool(people[e].phone) for e in experts)
    assert {m.status for m in inv} == {"queued"}
    # a publication that fails (here: the stage is already published) leaves no message behind
    n = len(rows(st))
    with pytest.raises(UserError):
        with st.write() as s:
            publishing.publish_run(s, repo.get_round(s, "2026"), FIRST, 1, user="张三", reason="again")
    assert len(rows(st)) == n


def test_invitations_really_delivered_by_smtp_and_sms_and_never_twice(db, monkeypatch):
    st, _, _ = db
    with SmtpServer(Mailbox()) as smtp, SmsStub() as sms:
        notify_env(monkeypatch, smtp, sms)
        res = send(st)
        emails, texts = rows(st, channel="email", status="sent"), rows(st, channel="sms", status="sent")
        assert len(res.sent) == len(emails) + len(texts) == LIMIT and not res.failed and emails and texts
        got = smtp.mailbox.messages
        assert sorted(e for _, tos in smtp.mailbox.envelopes for e in tos) == sorted(m.address for m in emails)
        m0 = next(m for m in got if m["To"].addresses[0].addr_spec == emails[0].address)
        assert m0["Subject"].startswith("【") and "初审评估评审邀请" in m0["Subject"]
        body = m0.get_content()
        assert emails[0].recipient_name in body and "专家" in body and "请于" in body
        assert "相差超过 15 分的，须在评分表“评审意见”栏写明理由" in body    # the opinion rule, as on the sheet
        assert m0["Message-ID"] == emails[0].provider_ref
        assert sorted(d["to"] for d in sms.delivered) == sorted(m.address for m in texts)
        assert all("邀请您参加初审评估评审" in d["text"] for d in sms.delivered)
        assert all(m.sent_at is not None and m.provider_ref for m in emails + texts)
        # the next batch sends the next messages, never one already sent; enqueueing again writes nothing
        n = len(rows(st))
        with st.write() as s:
            assert outbox.enqueue_invitations(s, repo.get_round(s, "2026"), FIRST, user="张三") == []
        assert len(rows(st)) == n
        second = send(st)
        assert len(second.sent) == LIMIT and not set(second.sent) & set(res.sent)
        assert len(got) == len(set(smtp.mailbox.ids())) and len(sms.delivered) == len(rows(st, channel="sms",
                                                                                            status="sent"))


def test_replacement_notifies_the_new_and_the_replaced_expert_in_the_same_transaction(db, monkeypatch):
    st, _, _ = db
    with st.write() as s:
        r = repo.get_round(s, "2026")
        x = repo.published_seats(s, r, FIRST).iloc[0]
        new, _ = replacement.pick_replacement(s, r, FIRST, x.application_id, x.expert_id)
        seat = replacement.replace_expert(s, r, FIRST, x.application_id, x.expert_id, new, reason="请假 declined",
                                          user="张三")
    new_rows, old_rows = rows(st, kind="replacement_new"), rows(st, kind="replacement_old")
    assert {m.recipient_id for m in new_rows} == {new} and {m.recipient_id for m in old_rows} == {x.expert_id}
    assert all(f"seat{seat.id}" in m.idempotency_key for m in new_rows + old_rows)
    with st.write() as s:   # (only the notices in this test: the stage's invitations are set aside)
        s.execute(update(OutboxMessage).where(OutboxMessage.kind == "invitation").values(status="failed"))
    with SmtpServer(Mailbox()) as smtp, SmsStub() as sms:
        notify_env(monkeypatch, smtp, sms)
        send(st)
        subjects = {m["To"].addresses[0].addr_spec: str(m["Subject"]) for m in smtp.mailbox.messages}
    new_mail = next(m.address for m in new_rows if m.channel == "email")
    old_mail = next(m.address for m in old_rows if m.channel == "email")
    assert "补抽评审邀请" in subjects[new_mail] and "评审安排变更" in subjects[old_mail]
    assert any(x.application_id in d["text"] and "取消" in d["text"] for d in sms.delivered)


def test_crash_between_send_and_record_loses_nothing_and_resends_with_the_same_message_id(db, monkeypatch):
    """A sender dying after the server accepted a message but before recording it: the message is
    sent again on the next run after the claim timeout, with the same Message-ID (SMTP is
    at-least-once) and the same SMS idempotency key (the gateway sends the text once)."""
    st, _, _ = db
    crash_at = 5

    class Killed(Exception):
        pass

    count = {"n": 0}

    def crash(msg):
        count["n"] += 1
        if count["n"] == crash_at:
            raise Killed(msg.id)

    with SmtpServer(Mailbox()) as smtp, SmsStub() as sms:
        notify_env(monkeypatch, smtp, sms)
        with pytest.raises(Killed):
            send(st, after_send=crash)
        stuck = rows(st, status="sending")
        assert len(stuck) == 1 and len([m for m in rows(st) if m.status == "sent"]) == crash_at - 1
        # too early: the claim is still fresh, so it is not taken again (the others go on)
        assert stuck[0].id not in send(st, limit=1).sent
        later = lambda: utcnow() + dt.timedelta(seconds=policy_notify(st).claim_timeout_seconds + 1)
        send(st, now=later, limit=LIMIT - crash_at)
        all_rows = [m for m in rows(st) if m.status != "queued"]
        assert {m.status for m in all_rows} == {"sent"} and len(all_rows) == LIMIT
        emails = [m for m in all_rows if m.channel == "email"]
        ids = smtp.mailbox.ids()
        assert set(ids) == {m.provider_ref for m in emails}             # nothing lost
        dup = len(ids) - len(set(ids))
        assert dup == (1 if stuck[0].channel == "email" else 0)         # only the one in flight, same Message-ID
        assert sorted(d["idempotency_key"] for d in sms.delivered) == sorted(
            wire_key(m.idempotency_key) for m in all_rows if m.channel == "sms")  # each text once
        assert stuck[0].id in {m.id for m in all_rows if m.attempts == 2}


def test_temporary_failures_retry_with_exponential_backoff_then_fail_with_the_reason(db, monkeypatch):
    st, _, _ = db
    cfg = policy_notify(st)
    assert [backoff(cfg, n).total_seconds() for n in (1, 2, 3)] == [cfg.backoff_seconds, 2 * cfg.backoff_seconds,
                                                                     4 * cfg.backoff_seconds]
    assert backoff(cfg, 30).total_seconds() == cfg.backoff_max_seconds
    clock = {"t": utcnow()}
    now = lambda: clock["t"]
    with SmsStub(fail_first=10 ** 6) as sms:     # the gateway answers 503 to everything
        notify_env(monkeypatch, None, sms)
        first = send(st, now=now)
        assert first.retry and not first.sent and first.skipped   # e-mail not configured: left queued
        m = rows(st, id=first.retry[0])[0]
        assert m.status == "queued" and m.attempts == 1 and "HTTP 503" in m.last_error
        assert m.next_attempt_at == clock["t"] + backoff(cfg, 1)
        assert not set(first.retry) & set(send(st, now=now).retry)   # not due again before the backoff
        for _ in range(cfg.max_attempts - 1):
            clock["t"] += dt.timedelta(seconds=cfg.backoff_max_seconds + 1)
            send(st, now=now)
        m = rows(st, id=first.retry[0])[0]
        assert m.status == "failed" and m.attempts == cfg.max_attempts and "HTTP 503" in m.last_error
        assert all(x.status == "queued" for x in rows(st, channel="email"))


def test_address_refused_is_failed_for_good_and_resend_requeues_the_same_message(db, monkeypatch, capsys):
    st, path, _ = db
    with SmtpServer(Mailbox(answers=["550 5.1.1 mailbox unavailable"])) as smtp:
        notify_env(monkeypatch, smtp, None)
        res = send(st)
        assert len(res.failed) == 1
        bad = rows(st, id=res.failed[0])[0]
        assert bad.status == "failed" and "550" in bad.last_error
        code, out = run_cli(["notify", "status", "--db", str(path), "--status", "failed"], capsys)
        assert code == 0 and "失败 failed 1" in out and bad.address in out
        code, out = run_cli(["notify", "resend", str(bad.id), "--db", str(path)], capsys)
        assert code == 0 and "1 条失败消息重新排队" in out
        send(st)
        again = rows(st, id=bad.id)[0]
        assert again.status == "sent" and again.idempotency_key == bad.idempotency_key
        assert smtp.mailbox.ids().count(again.provider_ref) == 1
        assert len(rows(st)) == len({m.idempotency_key for m in rows(st)})


def test_passwords_and_keys_never_reach_the_store_or_the_messages(db, monkeypatch, capsys):
    st, path, _ = db
    secret = "Pw-for-smtp-7731"
    with SmtpServer(Mailbox(), password="another-password") as smtp, SmsStub(key="right-key") as sms:
        notify_env(monkeypatch, smtp, sms, password=secret, user="pingshen")
        monkeypatch.setenv("REVIEWER_SMS_KEY", "wrong-key-" + secret)
        code, out = run_cli(["notify", "send", "--db", str(path), "--limit", "6"], capsys)
        assert code == 1 and secret not in out
        failed = rows(st, status="failed")
        assert failed and all(secret not in m.last_error for m in failed)
        assert any("登录失败" in m.last_error for m in failed) and any("401" in m.last_error for m in failed)
        assert all(r["headers"]["Authorization"] == f"Bearer wrong-key-{secret}" for r in sms.requests)
        assert secret not in sms.url
    assert secret.encode() not in path.read_bytes()
    assert secret not in repr(load_settings())


def test_settings_file_with_a_password_must_be_private(tmp_path, monkeypatch):
    home = tmp_path / "h"
    home.mkdir()
    notify_env(monkeypatch, None, None)
    f = home / "notify.toml"
    f.write_text('[smtp]\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\npassword = "x-secret"\n'
                 '[sms]\nurl = "http://sms.example.com/send"\nkey = "k"\n', encoding="utf-8")
    f.chmod(0o644)
    with pytest.raises(UserError, match="chmod 600"):
        load_settings(home)
    f.chmod(0o600)
    cfg = load_settings(home)
    assert cfg.smtp.port == 2525 and cfg.smtp.password == "x-secret" and "x-secret" not in repr(cfg)
    with pytest.raises(UserError, match="https"):
        open_channels(cfg)                      # an SMS key would travel in clear text to a remote host


def test_templates_are_overridable_from_the_home_folder_and_a_missing_field_is_a_clear_error(db, monkeypatch,
                                                                                             tmp_path):
    st, _, _ = db
    home = tmp_path / "home"
    monkeypatch.setenv("REVIEWER_HOME", str(home))    # (sending writes no audit entry: the store key is not needed)
    written = templates.copy_templates(home)
    assert len(written) == 2 * len(outbox.KINDS) and templates.copy_templates(home) == []
    (home / "notify_templates" / "invitation.email.txt").write_text(
        "主题：请确认 ${stage}\n${name} 老师：请确认。", encoding="utf-8")
    (home / "notify_templates" / "invitation.sms.txt").write_text("${name} ${no_such_field}", encoding="utf-8")
    with SmtpServer(Mailbox()) as smtp, SmsStub() as sms:
        notify_env(monkeypatch, smtp, sms)
        res = send(st)
        assert all(str(m["Subject"]) == f"请确认 {FIRST}" for m in smtp.mailbox.messages)
        assert "老师：请确认。" in smtp.mailbox.messages[0].get_content()
        failed = rows(st, status="failed")
        assert {m.channel for m in failed} == {"sms"} and len(failed) == len(res.failed)
        assert "${no_such_field}" in failed[0].last_error and "invitation.sms.txt" in failed[0].last_error
        assert not sms.delivered


def test_reminders_before_the_deadline_once_per_expert_and_slot_skip_who_has_finished(db, capsys):
    st, path, _ = db
    assert outbox.reminder_slot(dt.datetime(2026, 12, 10), dt.datetime(2026, 12, 6), [72, 24]) is None
    assert outbox.reminder_slot(dt.datetime(2026, 12, 10), dt.datetime(2026, 12, 7, 1), [72, 24]) == 72
    assert outbox.reminder_slot(dt.datetime(2026, 12, 10), dt.datetime(2026, 12, 9, 1), [72, 24]) == 24
    assert outbox.reminder_slot(dt.datetime(2026, 12, 10), dt.datetime(2026, 12, 10, 1), [72, 24]) is None
    args = ["notify", "remind", "--db", str(path), "--round", "2026", "--stage", FIRST,
            "--deadline", "2026-12-10T18:00"]
    code, out = run_cli(args + ["--now", "2026-12-01T09:00"], capsys)
    assert code == 0 and "没有到期的提醒" in out and not rows(st, kind="reminder")
    with st.read() as s:
        open_now = outbox.open_experts(s, repo.get_round(s, "2026"), FIRST)
    code, out = run_cli(args + ["--now", "2026-12-08T09:00"], capsys)
    assert code == 0 and "72 小时" in out
    first = rows(st, kind="reminder")
    assert {m.recipient_id for m in first} == set(open_now)
    assert "2026-12-10 18:00（北京时间）" in first[0].context["deadline"]
    run_cli(args + ["--now", "2026-12-08T10:00"], capsys)      # the same slot again: nothing new
    assert len(rows(st, kind="reminder")) == len(first)
    run_cli(args + ["--now", "2026-12-10T08:00"], capsys)      # the 24 h reminder
    assert len(rows(st, kind="reminder")) == 2 * len(first)
    code, out = run_cli(["notify", "remind", "--db", str(path), "--round", "2026", "--stage", "认定评审",
                         "--deadline", "2026-12-10T18:00"], capsys)
    assert code == 2 and "not published" in out


def test_site_visit_notice_goes_to_the_host_unit_contact_when_the_site_stage_is_published(db, capsys,
                                                                                         monkeypatch):
    st, path, run_id = db
    with st.read() as s:
        apps = sorted(set(repo.run_seats(s, run_id).query("stage == @SITE")["application_id"]))
    code, out = run_cli(["notify", "host-contact", "--db", str(path), "--round", "2026", "-a", apps[0],
                         "--name", "王主任", "--email", "wang@host.example.cn", "--phone", "13800000000"], capsys)
    assert code == 0, out
    code, out = run_cli(["notify", "host-contact", "--db", str(path), "--round", "2026", "-a", "NOPE",
                         "--email", "x@y.cn"], capsys)
    assert code == 2 and "NOPE" in out
    with st.write() as s:
        publishing.publish_run(s, repo.get_round(s, "2026"), SITE, run_id, user="张三", reason="发布现场考察")
    notices = rows(st, kind="site_visit")
    assert sorted({m.recipient_id for m in notices}) == apps
    mine = [m for m in notices if m.recipient_id == apps[0]]
    assert {m.channel for m in mine} == {"email", "sms"} and {m.recipient_name for m in mine} == {"王主任"}
    assert all(m.status == "failed" and "无邮箱和手机号" in m.last_error for m in notices if m.recipient_id != apps[0])
    with st.write() as s:   # (only the notices in this test: the invitations are set aside)
        s.execute(update(OutboxMessage).where(OutboxMessage.kind == "invitation").values(status="failed"))
    with SmtpServer(Mailbox()) as smtp:
        notify_env(monkeypatch, smtp, None)
        send(st)
        site = [m for m in smtp.mailbox.messages if "现场考察通知" in str(m["Subject"])]
    assert len(site) == 1 and site[0]["To"].addresses[0].addr_spec == "wang@host.example.cn"
    assert "专家名单不予公开" in site[0].get_content()


def test_send_without_any_channel_is_a_clear_error(db, monkeypatch, capsys):
    _, path, _ = db
    notify_env(monkeypatch, None, None)
    code, out = run_cli(["notify", "send", "--db", str(path)], capsys)
    assert code == 2 and "REVIEWER_SMTP_HOST" in out


def test_a_sender_process_killed_mid_batch_loses_nothing_and_repeats_only_the_message_in_flight(db, monkeypatch):
    """`reviewer notify send` in a real process, killed (SIGKILL) by the SMTP server the moment it has
    received the 5th message (before the sender hears 250 and records it). The next run sends the
    rest; the message in flight comes again with the same Message-ID (at-least-once), nothing else twice."""
    st, path, _ = db
    proc: dict = {}

    def kill_at(n):
        if n == 5:
            os.kill(proc["p"].pid, signal.SIGKILL)

    with SmtpServer(Mailbox(on_data=kill_at)) as smtp:
        notify_env(monkeypatch, smtp, None)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
        proc["p"] = subprocess.Popen([sys.executable, "-m", "reviewer.cli.main", "notify", "send", "--db", str(path),
                                      "--limit", "12"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc["p"].communicate(timeout=600)
        assert proc["p"].returncode == -signal.SIGKILL
        assert len(rows(st, status="sent")) == 4 and len(rows(st, status="sending")) == 1
        later = lambda: utcnow() + dt.timedelta(seconds=policy_notify(st).claim_timeout_seconds + 1)
        send(st, now=later, limit=8)
        sent = rows(st, status="sent")
        ids = smtp.mailbox.ids()
    assert len(sent) == 12 and set(ids) == {m.provider_ref for m in sent}      # nothing lost
    assert len(ids) == 13 and len(set(ids)) == 12                              # one repeat, same Message-ID
