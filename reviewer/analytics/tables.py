"""Reading the analysts' long tables: scores (expert, application, score; optional criterion,
panel/stage, relation) and relations (expert, application, relation), Chinese or English headers.

A bad cell is one :class:`reviewer.errors.UserError` naming file, row, column, value and what was
expected; never a traceback."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reviewer.errors import UserError
from reviewer.scoring.scoretable import map_headers, read_table

__all__ = ["LONG_ALIASES", "long_scores", "relations_table", "seat_totals", "read_long"]

LONG_ALIASES: dict[str, list[str]] = {
    "expert_id": ["expert_id", "expert", "专家编号", "专家"],
    "application_id": ["application_id", "application", "申报编号", "申报", "centre_id", "中心编号"],
    "score": ["score", "得分", "分数"],
    "criterion": ["criterion", "评分项"],
    "panel": ["panel", "stage", "阶段", "专家组", "round", "批次"],
    "relation": ["relation", "relations", "关系"],
}


def _headers(raw: pd.DataFrame, source: str, need: list[str]) -> pd.DataFrame:
    mapping, _ = map_headers(list(raw.columns), LONG_ALIASES)
    df = raw.rename(columns=mapping)
    missing = [c for c in need if c not in df.columns]
    if missing:
        zh = {k: v[2] if len(v) > 2 else v[0] for k, v in LONG_ALIASES.items()}
        raise UserError(f"{source}: missing column(s) {', '.join(f'{zh[m]}/{m}' for m in missing)}; "
                        f"got {list(raw.columns)}")
    return df


def _ids(df: pd.DataFrame, cols: list[str], source: str) -> pd.DataFrame:
    for c in cols:
        v = df[c].astype(str).str.strip()
        blank = df[c].isna() | v.isin(["", "nan", "None"])
        if blank.any():
            i = int(np.flatnonzero(blank.to_numpy())[0])
            raise UserError(f"{source}: row {i + 2}, column {c}: empty; expected an id")
        df[c] = v.str.replace(r"\.0$", "", regex=True)
    return df


def long_scores(raw: pd.DataFrame, source: str) -> pd.DataFrame:
    """The score table checked: ids as text, score numeric (a blank score is missing, never 0),
    panel '' when absent, relation split on ; , 、 into one label per row of `relations_table`."""
    df = _headers(raw, source, ["expert_id", "application_id", "score"])
    df = _ids(df.copy(), ["expert_id", "application_id"], source)
    txt = df["score"].astype(str).str.strip()
    num = pd.to_numeric(df["score"], errors="coerce")
    bad = num.isna() & df["score"].notna() & ~txt.isin(["", "nan", "None"])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise UserError(f"{source}: row {i + 2}, column score/得分: value {df['score'].iloc[i]!r}; expected a number")
    df["score"] = num.astype(float)
    df["panel"] = df["panel"].astype(str).str.strip() if "panel" in df.columns else ""
    return df


def relations_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """(expert_id, application_id, relation), one label per row; labels in a cell may be separated
    by ; , or 、."""
    df = _headers(df, source, ["expert_id", "application_id", "relation"])
    df = _ids(df.copy(), ["expert_id", "application_id"], source)
    rel = df["relation"].where(df["relation"].notna(), "").astype(str)
    df = df.assign(relation=rel.str.split(r"[;,，；、]")).explode("relation")
    df["relation"] = df["relation"].astype(str).str.strip()
    df = df[~df["relation"].isin(["", "nan", "None", "无", "none"])]
    return df[["expert_id", "application_id", "relation"]].drop_duplicates().reset_index(drop=True)


def seat_totals(scores: pd.DataFrame) -> pd.DataFrame:
    """One total per (panel, application, expert): the score itself, or the sum of the criterion
    rows; a seat with a blank criterion has no total (missing, never a partial sum)."""
    keys = ["panel", "application_id", "expert_id"]
    g = scores.groupby(keys, sort=False)["score"]
    out = g.sum(min_count=1).to_frame("total")
    out.loc[g.apply(lambda s: s.isna().any()), "total"] = np.nan
    return out.reset_index()


def read_long(path: Path, relations: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(seat totals, relations) from a score file with a relation column and/or a relations file."""
    raw = long_scores(read_table(Path(path)), str(path))
    parts = []
    if "relation" in raw.columns:
        parts.append(relations_table(raw[["expert_id", "application_id", "relation"]], str(path)))
    if relations is not None:
        parts.append(relations_table(read_table(Path(relations)), str(relations)))
    if not parts:
        raise UserError(f"{path}: no relation column (关系/relation) and no --relations file; nothing to audit")
    rel = pd.concat(parts, ignore_index=True).drop_duplicates()
    return seat_totals(raw), rel
