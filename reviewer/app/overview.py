"""The round at a glance (the Round page): counts and, per stage, plan, publication and scores."""
from __future__ import annotations

import pandas as pd

from reviewer.app.imports import load_bundle
from reviewer.app.panels import plan_state
from reviewer.app.rounds import policy_for
from reviewer.app.scores import scores
from reviewer.app.screening import screening


def round_state(round_id: str) -> pd.DataFrame:
    load_bundle(round_id)
    sc = scores(round_id)
    rows = []
    for s in policy_for(round_id).stages.order:
        run, pub, seats = plan_state(round_id, s)
        n_scores = int((sc["panel"] == s).sum()) if not sc.empty else 0
        rows.append({"stage": s,
                     "planned": "—" if seats is None else ("有方案" if not seats.empty else "无可行方案"),
                     "published": "已发布" if pub is not None else "未发布",
                     "panels": 0 if seats is None else int(seats.application_id.nunique()),
                     "seed": "" if run is None or run["seed"] is None else str(run["seed"]),
                     "scored": "已录入" if n_scores else "未录入",
                     "score_rows": n_scores})
    return pd.DataFrame(rows)


def round_overview(round_id: str) -> dict:
    b = load_bundle(round_id)
    counts = screening(round_id).counts() if b.data.applications else {}
    return {"applications": len(b.data.applications), "experts": len(b.data.experts),
            "drawable": sum(1 for e in b.data.experts if e.drawable),
            "pass": counts.get("pass", 0), "fail": counts.get("fail", 0), "review": counts.get("needs-review", 0),
            "import_errors": sum(1 for i in b.report.all_issues if i.severity == "error"),
            "as_of": b.policy.as_of_date().isoformat()}
