"""The demo's registers (issue 17 part 3): the past centres' life cycle (reviewer/data/demo/past_centres.xlsx
and indicators.xlsx) replayed up to the round date gives the centre register and the lifecycle's grants in
the subsidy ledger; the recognition ranking then reads both (一领域一中心, never paid twice)."""
from __future__ import annotations

from pathlib import Path

from reviewer.centres.evaluation import Scheme, evaluate, load_centres, load_indicators
from reviewer.centres.lifecycle import Replay, replay
from reviewer.centres.register import from_replay, occupied_fields
from reviewer.errors import UserError
from reviewer.policy import Policy


def demo_replay(data_dir: Path, policy: Policy) -> Replay:
    """The demo's past centres replayed to the policy's reference date (the round date)."""
    scheme = Scheme.from_policy(policy)
    cen = load_centres(Path(data_dir) / "past_centres.xlsx", policy)
    if cen.frame.empty:
        raise UserError(f"{data_dir}/past_centres.xlsx: no valid centre rows")
    ind = load_indicators(Path(data_dir) / "indicators.xlsx", policy, scheme, cen.frame)
    ev = evaluate(ind.frame, policy, cen.frame, scheme=scheme) if not ind.frame.empty else None
    return replay(cen.frame, ev, policy, policy.as_of_date(), scheme=scheme)


def demo_register(rp: Replay, policy: Policy) -> dict[str, str]:
    """field -> the register entry occupying it on the round date."""
    return occupied_fields(from_replay(rp.lives), policy.as_of_date())
