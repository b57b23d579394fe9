"""随机抽取验证 Verify a random draw in the staff app: the round's committed draws, and for one of them the
commitment, the revealed seed and MATCH / MISMATCH naming what differs (reviewer.store.draws, the same
check as `reviewer verify-draw RUN_ID`: the draw recomputed from the stored inputs, policy, parameters
and revealed seed, compared with the commitment, the run's stored seats and the published panels)."""
from __future__ import annotations

import pandas as pd

from reviewer.app import store as app_store
from reviewer.errors import UserError
from reviewer.store import draws as store_draws

SEED_MODE_ZH = {"secret": "秘密种子（加盐哈希承诺）", "public value": "由承诺后公布的公开数值导出"}
COLUMNS = ["run_id", "stages", "commitment", "committed_at", "seed_mode", "seed", "public_value", "revealed_at",
           "lottery_version"]


def drawn_runs(round_id: str) -> pd.DataFrame:
    """The round's draws made under a commitment, newest first (empty table when there are none)."""
    with app_store.store().read() as s:
        rows = store_draws.drawn_runs(s, round_id)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["seed_mode"] = [SEED_MODE_ZH.get(m, m) for m in df["seed_mode"]]
    return df


def verify(round_id: str, run_id: int) -> dict:
    """Recompute run `run_id`'s draw and compare: {"ok", "verdict", "notes", "differences", "run"}.
    A run of another round, or one that cannot be verified, is a UserError naming why."""
    runs = drawn_runs(round_id)
    row = runs[runs["run_id"] == int(run_id)]
    if row.empty:
        raise UserError(f"运行 run #{run_id} 不是本轮经承诺的随机抽取 is not a committed draw of round {round_id}")
    v = store_draws.verify_draw(app_store.store(), int(run_id))
    return {"ok": v.ok, "verdict": "一致 MATCH" if v.ok else "不一致 MISMATCH", "notes": list(v.notes),
            "differences": list(v.differences), "run": row.iloc[0].to_dict()}
