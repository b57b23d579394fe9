"""The round page's meeting settings (issue 17 part 2): the meeting of each stage (date, time, place,
contact, 参会人数) and the site-visit window, read and saved through reviewer.store.round_settings (the
same checks as `reviewer round settings`), audited, with the settings version so a concurrent edit is refused."""
from __future__ import annotations

from reviewer.app import store as app_store
from reviewer.store import repo, round_settings, seat_obstacles


def current(round_id: str) -> tuple[dict, int, list[str]]:
    """(settings, version, the policy's stages) of the round."""
    with app_store.store().read() as s:
        r = repo.get_round(s, round_id)
        return dict(r.settings or {}), r.version, list(repo.round_policy(r).stages.order)


def save(round_id: str, *, stage: str, meeting: dict, site_start: str | None, site_end: str | None,
         user: str, version: int, reason: str = "") -> list[str]:
    """Save a stage's meeting and the site-visit window (blank values are left as they are). A moved
    meeting puts the published seats of experts unavailable on the new day into 补抽 (日期冲突,
    reviewer.store.seat_obstacles); returns what that did, as lines for the page."""
    with app_store.store().write() as s:
        r = repo.get_round(s, round_id)
        changes = round_settings.changes(r.settings, repo.round_policy(r), stage=stage, meeting_values=meeting,
                                         site_start=site_start or None, site_end=site_end or None)
        if not changes:
            return []
        repo.update_round_settings(s, r, changes, user=user, reason=reason or "会议设置 meeting settings",
                                   expected_version=version)
        rep = seat_obstacles.sync_schedule(s, r, user=user)
    return seat_obstacles.refill(app_store.store(), rep).lines()
