"""Expert packs of a published stage in the staff app (reviewer.documents.packs, from the store's
published seats) and the experts who get them."""
from __future__ import annotations

import tempfile

import pandas as pd

from reviewer.app import auth
from reviewer.app import store as app_store
from reviewer.app.conflicts import experts_table
from reviewer.app.imports import load_bundle
from reviewer.app.rounds import audit
from reviewer.documents.packs import make_packs as _make_packs
from reviewer.errors import UserError


def published_stages(round_id: str, stages) -> list[str]:
    """Those of `stages` that are published."""
    load_bundle(round_id)
    return [s for s in stages if app_store.publication(round_id, s) is not None]


def published_experts(round_id: str, stage: str) -> pd.DataFrame:
    seats = app_store.published_seats(round_id, stage) if app_store.publication(round_id, stage) else pd.DataFrame(
        columns=["expert_id"])
    ex = experts_table(load_bundle(round_id).data).rename(columns={"name": "expert_name"})
    return ex[ex["expert_id"].isin(set(seats["expert_id"]))][["expert_id", "expert_name", "category", "employer"]] \
        .reset_index(drop=True)


def make_packs(round_id: str, stage: str, user: str | None = None) -> dict:
    """Every expert's pack of a published stage: the zip, the staff summary and a table of what each expert got."""
    load_bundle(round_id)
    if app_store.publication(round_id, stage) is None:
        raise UserError(f"{stage}: not published yet; packs are made from a published assignment only")
    with tempfile.TemporaryDirectory() as tmp:
        res = _make_packs(app_store.store(), round_id, stage, tmp)
        names = {e.expert_id: e.name for e in load_bundle(round_id).data.experts}
        rows = [{"expert_id": e, "expert_name": names.get(e, ""), "files": len(fs),
                 "file_names": "、".join(p.name for p in fs)} for e, fs in sorted(res.packs.items())]
        out = {"zip": res.zip_path.read_bytes(), "zip_name": res.zip_path.name,
               "summary": res.summary_path.read_bytes(), "summary_name": res.summary_path.name,
               "n_experts": len(res.packs), "experts": pd.DataFrame(rows)}
    audit(round_id, user, "packs", {"stage": stage, "experts": out["n_experts"]})
    return out


# ---------------------------------------------------------------- personal links

STATUS_ZH = {"valid": "有效", "expired": "已过期", "revoked": "已撤销"}


def _base(base_url: str) -> str:
    base = (base_url or "").strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UserError(f"系统地址 {base_url!r}：应以 http:// 或 https:// 开头（可在政策文件 [access] app_url 中设置） / "
                        "app address: expected http(s)://host:port (set [access] app_url in the policy)")
    return base


def make_links(round_id: str, stage: str, base_url: str, days: float, user: str | None = None) -> pd.DataFrame:
    """A personal link for every expert of a published stage (lifetime bounded by the policy's
    [access] expert_link_max_days); the tokens are shown once, only their hashes are kept."""
    base = _base(base_url)
    experts = published_experts(round_id, stage)
    if experts.empty:
        raise UserError(f"{stage}: 尚未发布 / not published: links are made for published seats only")
    auth.link_days(days)
    toks = auth.issue_tokens(list(experts["expert_id"]), days=days, round_id=round_id)
    rows = [{"expert_id": r.expert_id, "expert_name": r.expert_name, "link": f"{base}/?token={tok}",
             "expires": exp.isoformat()} for r, (tok, exp) in zip(experts.itertuples(index=False), toks)]
    audit(round_id, user, "expert_links", {"stage": stage, "n": len(rows), "days": days})
    return pd.DataFrame(rows)


def links_issued(round_id: str) -> pd.DataFrame:
    """The round's links (never the tokens): expert, name, issued, expiry, status."""
    df = pd.DataFrame(auth.expert_links(round_id), columns=["expert_id", "round_id", "created", "expires", "status"])
    names = {e.expert_id: e.name for e in load_bundle(round_id).data.experts}
    df["expert_name"] = df["expert_id"].map(names).fillna("")
    df["status_zh"] = df["status"].map(STATUS_ZH)
    return df


def revoke_links(round_id: str, expert_id: str, reason: str, user: str | None = None) -> int:
    """End an expert's links of this round at once (reason required; logged)."""
    if not (reason or "").strip():
        raise UserError("撤销链接须写明理由 / revoking a link needs a reason")
    n = auth.revoke_tokens(expert_id, round_id)
    audit(round_id, user, "revoke_links", {"expert_id": expert_id, "n": n, "reason": reason.strip()})
    return n


def reissue_link(round_id: str, stage: str, expert_id: str, base_url: str, days: float, reason: str,
                 user: str | None = None) -> pd.DataFrame:
    """A new personal link for one expert of a published stage (lost or forwarded link): the expert's
    earlier links of this round end at once, the new one is shown once; reason required, logged."""
    if not (reason or "").strip():
        raise UserError("重新生成链接须写明理由 / re-issuing a link needs a reason")
    base = _base(base_url)
    experts = published_experts(round_id, stage)
    row = experts[experts["expert_id"] == expert_id]
    if row.empty:
        raise UserError(f"{expert_id} 不是 {stage} 已发布专家组的专家 / {expert_id} has no published seat in {stage}")
    auth.link_days(days)
    n = auth.revoke_tokens(expert_id, round_id)
    tok, exp = auth.issue_token(expert_id, days=days, round_id=round_id)
    audit(round_id, user, "reissue_link", {"stage": stage, "expert_id": expert_id, "revoked": n, "days": days,
                                           "reason": reason.strip()})
    return pd.DataFrame([{"expert_id": expert_id, "expert_name": row["expert_name"].iloc[0],
                          "link": f"{base}/?token={tok}", "expires": exp.isoformat()}])
