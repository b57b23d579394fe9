"""Issue 11: one composition check. A lock is checked against the panel's counting rules by asking the
solver's compiled rules (reviewer.panels.seatchecks.lock_composition), not by a second copy of the
rules in the store's guards."""
from __future__ import annotations

import re
from pathlib import Path

from reviewer.conflicts.detector import detect_conflicts
from reviewer.demo.pipeline import demo_policy
from reviewer.panels import seatchecks
from reviewer.policy import load_policy
from reviewer.store import guards
from tests.test_store_support import demo_loaded

ROOT = Path(__file__).resolve().parent.parent
POL = demo_policy(load_policy())


def test_guards_hold_no_copy_of_the_composition_rules():
    text = (ROOT / "reviewer" / "store" / "guards.py").read_text(encoding="utf-8")
    copies = re.findall(r"min_per_category|tech_industry|min_field_matched_technical|chair_title_levels|"
                        r"min_tech_industry|panel_size\(", text)
    assert not copies, f"guards.py re-derives composition rules: {copies}"


def test_too_many_locked_economists_are_refused_naming_rule_and_experts():
    data, _ = demo_loaded()
    cs = detect_conflicts(data, POL)
    econ, employers = [], set()
    for e in data.experts:
        if e.category == "经济" and not cs.pair(e.expert_id, "GX2026-003") and e.employer_key not in employers:
            econ.append(e.expert_id)
            employers.add(e.employer_key)
    assert seatchecks.lock_composition(data, POL, "认定评审", "GX2026-003", econ[:1], conflicts=cs) == []
    found = seatchecks.lock_composition(data, POL, "认定评审", "GX2026-003", econ[:2], conflicts=cs)
    assert [rule for rule, _ in found] == ["panel_size"]
    assert all(e in found[0][1] for e in econ[:2]) and "经济专家" in found[0][1] and "8" in found[0][1]
    same = next((a.expert_id, b.expert_id) for a in data.experts for b in data.experts
                if a.expert_id < b.expert_id and a.employer_key == b.employer_key
                and not cs.pair(a.expert_id, "GX2026-003") and not cs.pair(b.expert_id, "GX2026-003"))
    found = seatchecks.lock_composition(data, POL, "认定评审", "GX2026-003", same, conflicts=cs)
    assert "one_per_employer" in [rule for rule, _ in found]      # the checker's own finding


def test_a_technical_expert_of_another_field_cannot_be_locked_on_a_five_seat_panel():
    """The README's example: 初审评估's only 技术 seat is its chair, who must match the field."""
    data, _ = demo_loaded()
    ctx = guards.LockContext()
    errors, _ = guards.lock_findings(data, POL, "初审评估", "ZJ0001", "GX2026-003", ctx)
    assert any("ZJ0001" in e and "领域不匹配的技术专家" in e and "电子信息" in e for e in errors), errors
    errors, _ = guards.lock_findings(data, POL, "认定评审", "ZJ0001", "GX2026-003", ctx)
    assert not [e for e in errors if "领域不匹配" in e], errors   # 7 seats: room for an unmatched 技术 expert
