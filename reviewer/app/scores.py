"""Scores in the staff app: importing returned score sheets or long tables, checked against who was
assigned; the round's score table; outlier, deviation and reliability checks of a stage."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from reviewer.app import store as app_store
from reviewer.app.base import memo, user_text
from reviewer.app.imports import load_bundle, safe_name
from reviewer.app.rounds import DEMO_ROUND_ID, audit, policy_for, round_dir
from reviewer.errors import UserError
from reviewer.policy import Policy, load_policy
from reviewer.resources import DEMO_DIR
from reviewer.scoring.gating import families
from reviewer.scoring.opinions import OPINION_COLUMNS, opinions_from_table
from reviewer.scoring.reliability import expert_deviation, flag_outliers, reliability_report
from reviewer.scoring.scoresheets import import_score_sheets, is_score_sheet
from reviewer.scoring.scoretable import read_table, validate_scores
from reviewer.store import keys

SCORE_COLS = ["panel", "application_id", "expert_id", "criterion", "score", "confidence"]
ISSUE_COLS = ["severity", "file", "row", "column", "value", "expected"]


def _demo_scores() -> pd.DataFrame:
    """The bundled demo scores (reviewer/data/demo/scores.csv, package data, read-only)."""
    def make():
        df, _ = validate_scores(read_table(DEMO_DIR / "scores.csv"), DEMO_DIR / "scores.csv", load_policy())
        return df
    return memo(("demo_scores",), make)


def _demo_panels() -> pd.DataFrame:
    """The panels the bundled demo scores were given under (reviewer/data/demo/demo_panels.csv)."""
    def make():
        ref = pd.read_csv(DEMO_DIR / "demo_panels.csv", dtype=str)
        return ref.rename(columns={"阶段": "stage", "申报编号": "application_id", "专家编号": "expert_id",
                                   "角色": "role_zh"})
    return memo(("demo_panels",), make)


def scores(round_id: str) -> pd.DataFrame:
    """The round's scores (SCORE_COLS, stage as `panel`): the store's valid scores, the one record the
    app reads and writes. The demo round shows the bundled demo scores for stages the store has no
    scores of yet (read-only package data, never written)."""
    key = ("scores", app_store.url(), round_id, app_store.scores_version(round_id))

    def make():
        st = app_store.scores_frame(round_id).rename(columns={"stage": "panel"})
        st = st[SCORE_COLS] if not st.empty else pd.DataFrame(columns=SCORE_COLS)
        if round_id == DEMO_ROUND_ID:
            demo = _demo_scores()
            demo = demo[~demo["panel"].isin(set(st["panel"]))]
            st = pd.concat([x for x in (st, demo[[c for c in SCORE_COLS if c in demo.columns]]) if not x.empty],
                           ignore_index=True) if not demo.empty else st
        for c in ("panel", "application_id", "expert_id", "criterion"):
            st[c] = st[c].astype(str)
        st["score"] = pd.to_numeric(st["score"], errors="coerce")
        st["confidence"] = pd.to_numeric(st["confidence"], errors="coerce") if "confidence" in st.columns else np.nan
        return st.reset_index(drop=True)

    return memo(key, make)


def assignments(round_id: str) -> pd.DataFrame:
    """Who was assigned to what, per stage: published plans, else (demo round) the demo's reference panels.
    Memoised under the store's version (a publication or replacement, from here or the CLI, makes a new
    key); a copy, so a caller cannot change the cached table."""
    load_bundle(round_id)
    return memo(("assignments", app_store.url(), round_id, app_store.version()), lambda: _assignments(round_id)).copy()


def _assignments(round_id: str) -> pd.DataFrame:
    frames = []
    ref = _demo_panels() if round_id == DEMO_ROUND_ID else pd.DataFrame(columns=["stage", "application_id",
                                                                                 "expert_id"])
    for s in policy_for(round_id).stages.order:
        pub = app_store.published_seats(round_id, s, include_replaced=True) \
            if app_store.publication(round_id, s) is not None else pd.DataFrame()
        if not pub.empty:
            frames.append(pub[["stage", "application_id", "expert_id", "status"]].assign(source="published"))
        elif (ref["stage"] == s).any():
            frames.append(ref[ref["stage"] == s][["stage", "application_id", "expert_id"]].assign(source="reference"))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["stage", "application_id",
                                                                                    "expert_id", "source"])
    out["status"] = out["status"].fillna("active") if "status" in out.columns else "active"
    return out


def stage_panels(round_id: str, stage: str) -> dict[str, list[str]]:
    """application_id -> the experts of its active seats in `stage` (published, else the demo's
    reference panels): the panels the quorum of an aggregation counts against."""
    a = assignments(round_id)
    a = a[(a["stage"] == stage) & (a["status"] == "active")]
    return {app: sorted(g["expert_id"].astype(str)) for app, g in a.groupby("application_id")}


# ---------------------------------------------------------------- importing score files

def _issue(file: str, expected: str, column: str | None = None, value=None, row=None) -> dict:
    return {"file": file, "row": row, "column": column, "value": value, "expected": expected, "severity": "error"}


def _issue_rows(issues) -> list[dict]:
    return [{"file": Path(i.file).name, "row": i.row, "column": i.column,
             "value": None if i.value is None else str(i.value), "expected": i.expected, "severity": i.severity}
            for i in issues]


_LINE = re.compile(r"^(?P<file>.+?): row (?P<row>\d+), column (?P<col>'[^']*'|\S+)[^:]*: (?P<rest>.*)$")


def _line_rows(lines: list[str]) -> list[dict]:
    out = []
    for line in lines:
        m = _LINE.match(line)
        if m:
            out.append(_issue(Path(m["file"]).name, m["rest"], m["col"].strip("'"), row=int(m["row"])))
        else:
            out.append(_issue("", line))
    return out


def _read_sheets(paths: dict[Path, str], policy: Policy, asg: pd.DataFrame, issues: list[dict], sheet_key: bytes,
                 refused: list[dict], progress: Callable[[int], None], said: list[pd.DataFrame]) -> pd.DataFrame:
    """Score sheets made by the system, in one pass (import_score_sheets checks each signature with
    the round's sheet key, the rows against the assignments, and the same seat in two sheets of the
    upload); a sheet refused for its signature is added to `refused` (for the audit log), its 评审意见
    to `said`. `paths`:
    saved file -> upload name; the rows carry the upload name in `_upload`."""
    if not paths:
        return pd.DataFrame(columns=[*SCORE_COLS, "_upload"])
    res = import_score_sheets(list(paths), policy, asg, sheet_key=sheet_key, progress=progress)
    issues += _issue_rows(res.issues)
    refused += res.refused
    said.append(res.opinions)
    df = res.scores
    df = df[~df["void"].astype(bool)] if not df.empty else df
    upload = df["file"].map(lambda f: paths.get(Path(f), Path(f).name)) if not df.empty else []
    df = df.rename(columns={"stage": "panel"})[[c for c in SCORE_COLS if c in df.columns or c == "panel"]]
    return df.assign(_upload=upload)


def _read_long_table(p: Path, name: str, policy: Policy, asg: pd.DataFrame, issues: list[dict],
                     said: list[pd.DataFrame]) -> pd.DataFrame | None:
    """A long table (阶段, 申报编号, 专家编号, 评分项, 得分, optional 评审意见); scores by unassigned experts
    are rejected; its 评审意见 go to `said`."""
    try:
        raw = read_table(p)
        df, errs = validate_scores(raw, p, policy, source_rows=True)
    except UserError as e:
        shown = Path(name).name
        detail = user_text(str(e), {str(p): shown}).removeprefix(shown + ":").strip()
        issues.append(_issue(shown, f"无法读取为评分表（需要列 专家编号、申报编号、得分，可选 阶段、评分项）"
                                    f" / not a score table: {detail}"))
        return None
    issues += _line_rows(errs)
    if "panel" not in df.columns:
        issues.append(_issue(Path(name).name, "a 阶段/panel column naming the stage of each score", "阶段"))
        return None
    if not asg.empty and not df.empty:
        ok = set(zip(asg.stage, asg.application_id, asg.expert_id))
        stages_known = set(asg.stage)
        bad = [(i, r) for i, r in enumerate(df.itertuples(index=False))
               if r.panel in stages_known and (r.panel, r.application_id, r.expert_id) not in ok]
        for _, r in bad[:200]:
            issues.append(_issue(Path(name).name, f"an expert assigned to {r.application_id} in {r.panel}; score rejected",
                                 "专家编号", r.expert_id))
        if bad:
            df = df.drop(index=[i for i, _ in bad]).reset_index(drop=True)
    said.append(opinions_from_table(raw, df.rename(columns={"panel": "stage"}), Path(name).name))
    return df


def _only(new: pd.DataFrame, expert_id: str | None, issues: list[dict]) -> pd.DataFrame:
    """An expert's own upload: rows of anyone else are rejected."""
    if expert_id is None or new.empty:
        return new
    other = new["expert_id"] != expert_id
    if other.any():
        issues.append(_issue("", "your own scores only; these rows were rejected", "专家编号",
                             ", ".join(sorted(set(new.expert_id[other])))))
    return new[~other]


def _submit(round_id: str, new: pd.DataFrame, policy: Policy, user: str | None, source: str,
            as_expert: str | None, said: pd.DataFrame | None = None) -> None:
    """Submit to the store (one transaction): a new row replaces (voids) the earlier valid score of the
    same stage, application, expert and criterion there (reviewer.store.repo.submit_scores, with the
    score rules of the CLI; `as_expert` for an expert's own upload)."""
    rec = new.rename(columns={"panel": "stage"})
    rec = rec.assign(family=families(policy, rec["stage"], rec["criterion"]), void=False)   # the stage's instrument
    if said is not None and as_expert is not None:
        said = said[said["expert_id"] == as_expert]
    app_store.submit_scores(round_id, rec, user, source=source, as_expert=as_expert, said=said)


@dataclass
class ScoreUpload:
    """What one upload did: rows added, the issues (file, row, column, value, expected), and one
    line per file (FILE_COLS: file, kind, rows, errors, warnings, result_zh)."""
    rows: int
    issues: pd.DataFrame
    files: pd.DataFrame


FILE_COLS = ["file", "kind", "rows", "errors", "warnings", "result_zh"]


def _file_results(files: list[tuple[str, bytes]], kinds: dict[str, str], rows_by_file: dict[str, int],
                  issues: list[dict]) -> pd.DataFrame:
    out = []
    for name, _ in files:
        shown = Path(name).name
        mine = [i for i in issues if i["file"] in (shown, safe_name(name))]
        errs = sum(1 for i in mine if i["severity"] == "error")
        warns = len(mine) - errs
        n = rows_by_file.get(name, 0)
        result = ("已导入" if not errs else "部分导入（错误行已拒绝）") if n else ("未导入：有错误" if errs else "无评分")
        out.append({"file": shown, "kind": kinds.get(name, ""), "rows": n, "errors": errs, "warnings": warns,
                    "result_zh": result})
    return pd.DataFrame(out, columns=FILE_COLS)


def upload_scores(round_id: str, files: list[tuple[str, bytes]], user: str | None = None,
                  only_expert: str | None = None,
                  progress: Callable[[int, int, str], None] | None = None) -> ScoreUpload:
    """Add returned score sheets (.xlsx made by the system) or long score tables (.csv/.xlsx with
    专家编号, 申报编号, 得分 ...). Scores by an expert not assigned to that application are rejected.
    New rows replace earlier rows of the same stage, application and expert; all rows of the upload
    go to the store in one transaction. `only_expert`: an expert's own upload; rows of anyone else are
    rejected, and the store checks it again (`as_expert`). A sheet refused for its signature is
    recorded in the audit log. One unreadable file is an issue of that file; the others are read.
    `progress(i, n, name)` is called after each file is read (i of n)."""
    if not files:
        raise UserError("no file uploaded")
    policy = policy_for(round_id)
    asg = assignments(round_id)
    sheet_key = keys.round_sheet_key(round_id)
    folder = round_dir(round_id) / "inputs" / f"scores-{dt.datetime.now():%Y%m%d-%H%M%S-%f}"
    folder.mkdir(parents=True)
    frames, issues, refused, kinds, sheets, tables = [], [], [], {}, {}, []
    said = [pd.DataFrame(columns=OPINION_COLUMNS)]
    for name, content in files:
        p = folder / safe_name(name)
        p.write_bytes(content)
        kinds[name] = "评分表" if is_score_sheet(p) else "长表"
        if kinds[name] == "评分表":
            sheets[p] = name
        else:
            tables.append((p, name))
    done = [0]

    def step(_: int = 0, name: str = "") -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(files), name)

    frames.append(_read_sheets(sheets, policy, asg, issues, sheet_key, refused,
                               lambda i, n, path: step(name=Path(sheets.get(Path(path), path)).name), said))
    for p, name in tables:
        df = _read_long_table(p, name, policy, asg, issues, said)
        if df is not None:
            frames.append(df.assign(_upload=name))
        step(name=Path(name).name)
    app_store.record_sheet_refusals(round_id, refused, only_expert or user)   # evidence, whatever happens next
    frames = [f for f in frames if not f.empty]
    new = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*SCORE_COLS, "_upload"])
    new = _only(new, only_expert, issues)
    rows_by_file = new.groupby("_upload").size().to_dict() if not new.empty else {}
    for c in SCORE_COLS:
        if c not in new.columns:
            new[c] = np.nan
    new = new[SCORE_COLS]
    if not new.empty:
        _submit(round_id, new, policy, only_expert or user, ", ".join(n for n, _ in files), only_expert,
                pd.concat(said, ignore_index=True))
    audit(round_id, only_expert or user, "import_scores", {"files": [n for n, _ in files], "rows": int(len(new)),
                                                            "errors": sum(1 for i in issues if i["severity"] == "error")})
    out = pd.DataFrame(issues, columns=ISSUE_COLS)
    out["row"] = out["row"].astype("Int64")
    out["expected"] = out["expected"].map(lambda t: user_text(t) if isinstance(t, str) else t)
    return ScoreUpload(int(len(new)), out, _file_results(files, kinds, rows_by_file, issues))


def import_scores(round_id: str, files: list[tuple[str, bytes]], user: str | None = None,
                  only_expert: str | None = None,
                  progress: Callable[[int, int, str], None] | None = None) -> tuple[int, pd.DataFrame]:
    """`upload_scores`, returning (rows added, issues table)."""
    u = upload_scores(round_id, files, user, only_expert, progress)
    return u.rows, u.issues


# ---------------------------------------------------------------- a stage's scores and checks

def scored_stages(round_id: str) -> list[str]:
    sc = scores(round_id)
    have = set(sc["panel"].dropna()) if not sc.empty else set()
    return [s for s in policy_for(round_id).stages.order if s in have]


def stage_scores(round_id: str, stage: str) -> pd.DataFrame:
    sc = scores(round_id)
    if sc.empty:
        return sc
    d = sc[sc["panel"] == stage].reset_index(drop=True)
    if "confidence" in d.columns and d["confidence"].isna().all():
        d = d.drop(columns=["confidence"])
    return d


def score_checks(round_id: str, stage: str) -> dict[str, pd.DataFrame]:
    """Outlier flags, systematic expert deviation and reliability of one stage's scores."""
    key = ("checks", stage, app_store.url(), round_id, app_store.scores_version(round_id))

    def make():
        d = stage_scores(round_id, stage)
        if d.empty:
            raise UserError(f"{stage}: no scores yet")
        return {"outliers": flag_outliers(d, policy_for(round_id)), "deviation": expert_deviation(d),
                "reliability": reliability_report(d)}

    return memo(key, make)


def expert_totals_table(round_id: str, stage: str) -> pd.DataFrame:
    d = stage_scores(round_id, stage)
    if d.empty:
        return pd.DataFrame(columns=["application_id", "expert_id", "total"])
    return d.groupby(["application_id", "expert_id"], as_index=False)["score"].sum().rename(columns={"score": "total"})


# ---------------------------------------------------------------- written opinions (评审意见, 专家组综合意见)

def opinions(round_id: str, stage: str) -> dict[str, pd.DataFrame]:
    """The stage's 评审意见 (experts), 专家组综合意见 with dissent (panels), and the outlying totals
    that still have no opinion (reviewer.store.opinions)."""
    return app_store.opinion_tables(round_id, stage)


def record_panel_opinion(round_id: str, stage: str, application_id: str, text: str, dissent: str,
                         user: str | None) -> None:
    """The chair's consensus opinion; `dissent`: one line per dissenting member, "EXPERT_ID: text"
    (or "EXPERT_ID：text")."""
    parsed = {}
    for k, line in enumerate([x for x in (dissent or "").splitlines() if x.strip()], start=1):
        expert, sep, why = line.replace("：", ":", 1).partition(":")
        if not sep or not expert.strip():
            raise UserError(f"不同意见第 {k} 行 dissent line {k} {line!r}: expected 专家编号: 意见 (EXPERT_ID: text)")
        parsed[expert.strip()] = why.strip()
    app_store.record_panel_opinion(round_id, stage, application_id, text, parsed, user)
