"""The demo round is dated: conflict windows and "not in the future" are judged on this day, so
the demo (its generation and its run) gives the same result whenever it runs."""
from __future__ import annotations

import datetime as dt

from reviewer.policy import Policy

REFERENCE_DATE = dt.date(2026, 11, 1)
DEMO_AS_OF = REFERENCE_DATE.isoformat()


def demo_policy(policy: Policy) -> Policy:
    """`policy` dated on the demo's reference day, unless it names its own date (meta.as_of)."""
    if policy.meta.as_of:
        return policy
    return policy.model_copy(update={"meta": policy.meta.model_copy(update={"as_of": DEMO_AS_OF})})
