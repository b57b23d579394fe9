"""The safety time limit of a build whose result must not depend on time (the random draw's lottery).

Rule "work limits shape the result, a time limit only aborts": everything that decides which plans
a lottery holds and with what weights stops on counted work (iterations, plan counts, HiGHS node
limits, solves run to optimality). The wall clock is only a safety net: when it runs out the build
raises `TimeLimitReached` with a clear message; it never returns a smaller or different lottery.
Why: a random draw (随机抽取) must be re-run to the same plan by an auditor on any machine under any
load, so the same (inputs, policy, parameters, seed) must give the same plan or no plan at all.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

# HiGHS through scipy: status 1 = "iteration or time limit reached" (milp and linprog alike)
LIMIT_STATUS = 1
# A limit status this close to the deadline is the clock, not a work limit: abort (never guess)
CLOCK_MARGIN = 0.25


class TimeLimitReached(RuntimeError):
    """The safety time limit ran out before a result-shaping computation finished."""

    def __init__(self, what: str, seconds: float):
        self.what, self.seconds = what, float(seconds)
        super().__init__(f"{what}: 安全时限 {seconds:g} 秒已到，未完成，未返回任何结果 the safety time limit of "
                         f"{seconds:g} s ran out before it finished; nothing was returned (a partial result "
                         f"would depend on the machine's speed and load)")


@dataclass
class SafetyNet:
    """A deadline on the wall clock that can only abort. `what` names the build in the message."""

    seconds: float
    what: str = "抽签方案构建 lottery build"
    start: float = field(default_factory=time.perf_counter)
    clock: object = time.perf_counter  # replaceable in tests (a slow machine)

    @property
    def deadline(self) -> float:
        return self.start + self.seconds

    def expired(self) -> bool:
        return self.clock() >= self.deadline

    def check(self) -> None:
        """Raise TimeLimitReached when the deadline has passed."""
        if self.expired():
            raise TimeLimitReached(self.what, self.seconds)

    def remaining(self) -> float:
        """Seconds left (for a solver's own time limit); raises when none are left."""
        self.check()
        return min(max(self.deadline - self.clock(), 1e-3), 1e7)

    def after_limit_status(self, status: int) -> bool:
        """After a HiGHS call given `remaining()` as its time limit: True when it stopped on a work
        limit (node limit) — a deterministic outcome the caller may use; raises when it stopped on
        the clock (or so close to the deadline that the two cannot be told apart)."""
        if status != LIMIT_STATUS:
            return False
        if self.clock() >= self.deadline - CLOCK_MARGIN:
            raise TimeLimitReached(self.what, self.seconds)
        return True

    def never_limited(self, status: int) -> None:
        """After a HiGHS call without a work limit: any limit status is the clock, so abort."""
        if status == LIMIT_STATUS:
            raise TimeLimitReached(self.what, self.seconds)


def unlimited() -> SafetyNet:
    return SafetyNet(float("inf"))
