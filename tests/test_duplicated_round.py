"""The benchmark's tie-heavy round generator (benchmarks/duplicated_round.py, issue 14): copies are
exact (so experts are interchangeable), ids unique, and every conflict rule fires on every copy."""
import importlib.util
from pathlib import Path

from reviewer.conflicts.detector import detect_conflicts
from reviewer.demo.pipeline import demo_policy
from reviewer.intake.io import load_round_from
from reviewer.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("duplicated_round", ROOT / "benchmarks" / "duplicated_round.py")
dup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dup)


def test_duplicated_demo_round_copies_everything_and_its_conflicts():
    policy = demo_policy(load_policy())
    base, _ = load_round_from(ROOT / "reviewer" / "data" / "demo" / "applications.xlsx", policy)
    d = dup.duplicated_round(base, 2, 3)
    assert len(d.applications) == 2 * len(base.applications) and len(d.experts) == 3 * len(base.experts)
    assert len({a.application_id for a in d.applications}) == len(d.applications)
    assert len({e.expert_id for e in d.experts}) == len(d.experts)
    e0 = base.experts[0]
    copy = d.expert(dup.copy_id(e0.expert_id, 2))
    assert copy.model_dump(exclude={"expert_id", "history"}) == e0.model_dump(exclude={"expert_id", "history"})
    assert all(h.expert_id == copy.expert_id for h in copy.history) and len(copy.history) == len(e0.history)
    a0 = base.applications[0]
    acopy = d.application(dup.copy_id(a0.application_id, 1))
    assert all(m.application_id == acopy.application_id for m in acopy.members)
    assert len(d.declarations) == 6 * len(base.declarations)
    # every excluded pair of the original is excluded for each of its 2 x 3 copies
    n_base = int(detect_conflicts(base, policy).excluded_matrix().sum())
    assert n_base > 0 and int(detect_conflicts(d, policy).excluded_matrix().sum()) == 6 * n_base
