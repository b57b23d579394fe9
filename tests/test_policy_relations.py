"""The policy's fields are checked against each other when it loads (issue 11, item 11): each
wrong relation is one clear message naming the keys."""
from __future__ import annotations

import re

import pytest

from reviewer.errors import UserError
from reviewer.policy import DEFAULT_POLICY_PATH, load_policy

TEXT = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


def _load(tmp_path, old: str, new: str):
    assert re.search(old, TEXT, flags=re.M), old
    p = tmp_path / "policy.toml"
    p.write_text(re.sub(old, new, TEXT, count=1, flags=re.M), encoding="utf-8")
    return load_policy(p)


@pytest.mark.parametrize("old,new,message", [
    (r"^recommend_min_score = .*$", "recommend_min_score = 175", r"\[decision\] recommend_min_score 175.*total 100"),
    (r"^cultivation_min_score = .*$", "cultivation_min_score = 80",
     r"\[decision\] cultivation_min_score 80.*above.*recommend_min_score 75"),
    (r"^recommend_min_family = .*$", 'recommend_min_family = { "B" = 95.0 }',
     r"\[decision\] recommend_min_family B 95.*family B.*maximum"),
    (r'^"认定评审" = 7$', '"认定评审" = 6', r"\[stages.panel\] 认定评审 = 6.*odd.*panel_size_odd"),
    (r'^"初审评估" = 5$', '"初审评估" = 3', r"\[stages.panel\] 初审评估 = 3.*at least 5.*min_panel_size"),
    (r"^trim_k = .*$", "trim_k = 3", r"\[aggregation\] trim_k 3.*trim_min_n 5"),
    (r'^"优" = 85$', '"优" = 120', r"\[rubric.bands\] 优 = 120.*total 100"),
])
def test_a_wrong_relation_between_fields_is_refused_naming_the_keys(tmp_path, old, new, message):
    with pytest.raises(UserError, match=message):
        _load(tmp_path, old, new)


def test_the_default_policy_keeps_odd_panels_of_at_least_five_and_an_even_size_loads_when_allowed(tmp_path):
    pol = load_policy()
    assert pol.stages.panel_size_odd and pol.stages.min_panel_size == 5
    p = tmp_path / "policy.toml"
    p.write_text(TEXT.replace("panel_size_odd = true", "panel_size_odd = false").replace('"认定评审" = 7', '"认定评审" = 6'),
                 encoding="utf-8")
    even = load_policy(p)
    assert not even.stages.panel_size_odd and even.panel_size("认定评审") == 6
