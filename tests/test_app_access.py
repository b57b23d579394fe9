"""Access to the staff app (issue 13 items 2-4, issue 12 items 14 and 16): sessions with idle and
absolute timeouts and sign-out everywhere, the wrong-password limit, expert-link lifetimes and
revocation, and the one function that makes error text fit for users."""
from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from typer.testing import CliRunner

from reviewer.app import auth
from reviewer.app.base import user_text
from reviewer.cli.main import app as cli
from reviewer.cli.main import main
from reviewer.errors import UserError
from reviewer.policy import Access, load_policy

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
LIMITS = Access(session_idle_minutes=30, session_max_hours=12, login_max_failures=3, client_max_failures=5,
                login_failure_window_minutes=10, login_lockout_minutes=15, expert_link_days=14,
                expert_link_max_days=60)


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("REVIEWER_HOME", str(tmp_path))
    monkeypatch.delenv("REVIEWER_DB_URL", raising=False)
    monkeypatch.delenv(auth.DEMO_ENV, raising=False)
    auth.add_user("zhang", "secret-pass-1", role="staff")
    return tmp_path


def test_the_policy_has_the_access_values():
    a = load_policy().access
    assert a.session_idle_minutes > 0 and a.session_max_hours > 0
    assert a.login_max_failures >= 1 and a.expert_link_days <= a.expert_link_max_days


# ---------------------------------------------------------------- sessions

def test_session_idle_timeout_and_activity_keeps_it_alive(home):
    sid = auth.start_session(auth.verify("zhang", "secret-pass-1"), now=T0)
    m = dt.timedelta(minutes=1)
    assert auth.session_user(sid, now=T0 + 20 * m, limits=LIMITS).username == "zhang"
    assert auth.session_user(sid, now=T0 + 45 * m, limits=LIMITS).username == "zhang"   # 25 min after last use
    assert auth.session_user(sid, now=T0 + 76 * m, limits=LIMITS) is None               # 31 min idle
    assert auth.session_user(sid, now=T0 + 77 * m, limits=LIMITS) is None               # and it is gone


def test_session_absolute_timeout_even_when_active(home):
    sid = auth.start_session(auth.verify("zhang", "secret-pass-1"), now=T0)
    t, ended = T0, None
    for _ in range(13 * 3):       # active every 20 minutes for 13 hours
        t += dt.timedelta(minutes=20)
        if auth.session_user(sid, now=t, limits=LIMITS) is None:
            ended = t
            break
    assert ended is not None and dt.timedelta(hours=12) < ended - T0 <= dt.timedelta(hours=12, minutes=20)


def test_sign_out_everywhere_new_password_and_deactivation_end_sessions(home):
    u = auth.verify("zhang", "secret-pass-1")
    a, b = auth.start_session(u), auth.start_session(u)
    assert auth.end_all_sessions("zhang") == 2
    assert auth.session_user(a) is None and auth.session_user(b) is None
    c = auth.start_session(u)
    auth.add_user("zhang", "new-secret-pass-2", role="staff", replace=True)
    assert auth.session_user(c) is None
    d = auth.start_session(auth.verify("zhang", "new-secret-pass-2"))
    auth.set_active("zhang", False)
    assert auth.session_user(d) is None


def test_only_a_hash_of_the_session_id_is_stored(home):
    sid = auth.start_session(auth.verify("zhang", "secret-pass-1"))
    dump = "\n".join(sqlite3.connect(home / "auth.sqlite").iterdump())
    assert sid not in dump


# ---------------------------------------------------------------- wrong-password limit

def test_account_locks_after_n_failures_even_for_the_right_password(home):
    m = dt.timedelta(minutes=1)
    for k in range(3):
        with pytest.raises(UserError, match="用户名或密码不正确"):
            auth.sign_in("zhang", "wrong", client="10.0.0.1", limits=LIMITS, now=T0 + k * m)
    with pytest.raises(UserError, match="锁定"):
        auth.sign_in("zhang", "secret-pass-1", client="10.0.0.2", limits=LIMITS, now=T0 + 3 * m)
    # after the lock-out time the right password works, and the count starts again
    assert auth.sign_in("zhang", "secret-pass-1", client="10.0.0.2", limits=LIMITS, now=T0 + 20 * m).username == "zhang"
    with pytest.raises(UserError, match="不正确"):
        auth.sign_in("zhang", "wrong", client="10.0.0.2", limits=LIMITS, now=T0 + 21 * m)
    log = auth.sign_in_log()
    assert [e["event"] for e in log][:3] == ["fail", "ok", "locked"]
    assert all("secret" not in str(e) and "wrong" not in str(e) for e in log)


def test_failures_spread_beyond_the_window_do_not_lock(home):
    for k in range(6):
        with pytest.raises(UserError, match="不正确"):
            auth.sign_in("zhang", "wrong", limits=LIMITS, now=T0 + dt.timedelta(minutes=11 * k))


def test_one_client_trying_many_names_is_locked(home):
    m = dt.timedelta(minutes=1)
    for k in range(5):
        with pytest.raises(UserError, match="不正确"):
            auth.sign_in(f"guess{k}", "wrong", client="10.9.9.9", limits=LIMITS, now=T0 + k * m)
    with pytest.raises(UserError, match="锁定"):
        auth.sign_in("zhang", "secret-pass-1", client="10.9.9.9", limits=LIMITS, now=T0 + 6 * m)
    # another client is not locked
    assert auth.sign_in("zhang", "secret-pass-1", client="10.0.0.7", limits=LIMITS, now=T0 + 6 * m)


def test_unknown_names_lock_the_same_way(home):
    """Locking says nothing about which accounts exist."""
    for k in range(3):
        with pytest.raises(UserError, match="不正确"):
            auth.sign_in("nobody", "x", limits=LIMITS, now=T0 + dt.timedelta(seconds=k))
    with pytest.raises(UserError, match="锁定"):
        auth.sign_in("nobody", "x", limits=LIMITS, now=T0 + dt.timedelta(seconds=5))


# ---------------------------------------------------------------- demo mode (issue 12 item 14)

def test_demo_mode_needs_the_flag_and_no_account(home, monkeypatch):
    assert not auth.demo_mode()
    monkeypatch.setenv(auth.DEMO_ENV, "1")
    assert not auth.demo_mode()                 # an account exists
    auth.set_active("zhang", False)
    assert auth.demo_mode()
    monkeypatch.delenv(auth.DEMO_ENV)
    assert not auth.demo_mode()                 # all accounts deactivated is not demo mode


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """`reviewer ARGS` as from a shell: (exit code, stdout + stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as e:
        code = e.code or 0
    out = capsys.readouterr()
    return code, out.out + out.err


def test_cli_app_demo_is_refused_on_a_home_with_accounts(home, capsys):
    code, out = run_cli(["app", "--demo"], capsys)
    assert code != 0
    assert "--demo" in out and "Traceback" not in out


# ---------------------------------------------------------------- expert links (issue 12 item 16)

@pytest.mark.parametrize("days", ["365000", "inf", "nan", "-1", "0", "abc", "61"])
def test_link_lifetime_is_bounded(home, days):
    with pytest.raises(UserError, match="有效天数"):
        auth.issue_token("ZJ0001", days=days, limits=LIMITS)


def test_link_default_lifetime_comes_from_the_policy(home):
    _, expires = auth.issue_token("ZJ0001", limits=LIMITS)
    left = expires - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=13, hours=23) < left <= dt.timedelta(days=14)


@pytest.mark.parametrize("days", ["365000", "inf", "nan"])
def test_cli_token_refuses_absurd_days_without_a_traceback(home, days, capsys):
    code, out = run_cli(["token", "ZJ0001", "--days", days], capsys)
    assert code != 0
    assert "Traceback" not in out and "有效天数" in out


def test_cli_token_refuses_an_unknown_expert(home, capsys):
    code, out = run_cli(["token", "ZJ9999X"], capsys)
    assert code != 0 and "ZJ9999X" in out


def test_cli_token_revoke_ends_the_links(home):
    res = CliRunner().invoke(cli, ["token", "ZJ0001", "--days", "7", "--url", "https://review.example"])
    assert res.exit_code == 0, res.output
    tok = res.stdout.strip().splitlines()[-1].split("token=")[1]
    assert auth.resolve_token(tok).expert_id == "ZJ0001"
    res = CliRunner().invoke(cli, ["token", "revoke", "ZJ0001"])
    assert res.exit_code == 0, res.output
    assert "revoked 1" in res.output
    assert auth.resolve_token(tok) is None
    assert [x["status"] for x in auth.expert_links()] == ["revoked"]


# ---------------------------------------------------------------- text shown to users (issue 13 item 4)

def test_user_text_names_uploads_and_hides_server_paths_and_classes(tmp_path):
    saved = tmp_path / "rounds" / "demo-2026" / "inputs" / "scores-1" / "dl_template.xlsx"
    msg = f"KeyError: {saved}: missing column(s) ['expert_id','score'] (see {tmp_path}/rounds/x/audit.jsonl)"
    out = user_text(msg, {str(saved): "我的评分.xlsx"})
    assert "我的评分.xlsx" in out and "audit.jsonl" in out
    assert str(tmp_path) not in out and "/rounds/" not in out and "KeyError" not in out
    assert user_text("阶段 初审评估：1/2 已完成") == "阶段 初审评估：1/2 已完成"


# ---------------------------------------------------------------- the accounts page's service (issue 13 item 8)

def test_only_an_admin_manages_accounts_and_every_act_is_logged(home):
    from reviewer.app import accounts as svc_accounts
    auth.add_user("boss", "admin-pass-123", role="admin")
    boss, zhang = auth.verify("boss", "admin-pass-123"), auth.verify("zhang", "secret-pass-1")
    with pytest.raises(UserError, match="管理员"):
        svc_accounts.add_account(zhang, "li", "analyst", "李", "analyst-pass-1", "analyst-pass-1")
    with pytest.raises(UserError, match="不一致"):
        svc_accounts.add_account(boss, "li", "analyst", "李", "analyst-pass-1", "analyst-pass-2")
    svc_accounts.add_account(boss, "li", "analyst", "李", "analyst-pass-1", "analyst-pass-1")
    assert auth.verify("li", "analyst-pass-1").role == "analyst"
    sid = auth.start_session(auth.verify("li", "analyst-pass-1"))
    svc_accounts.reset_password(boss, "li", "analyst-pass-9", "analyst-pass-9")
    assert auth.session_user(sid) is None and auth.verify("li", "analyst-pass-9")
    svc_accounts.set_active(boss, "li", False)
    assert auth.verify("li", "analyst-pass-9") is None
    with pytest.raises(UserError, match="最后一个管理员"):
        svc_accounts.set_active(boss, "boss", False)
    svc_accounts.set_active(boss, "li", True)
    acts, _ = svc_accounts.activity()
    assert list(acts["action"])[::-1] == ["add", "password_reset", "deactivate", "activate"]
    assert not acts.astype(str).apply(lambda c: c.str.contains("analyst-pass")).any().any()
