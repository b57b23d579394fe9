"""Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters with a check digit."""
from __future__ import annotations

import random

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_VALUE = {c: i for i, c in enumerate(CHARSET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_char(first17: str) -> str:
    """The 18th character for the first 17."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """None if `code` is a valid code, else what is wrong with it, in words."""
    if not isinstance(code, str):
        return "not text"
    if len(code) != 18:
        return f"has {len(code)} characters, expected 18"
    bad = [c for c in code if c not in _VALUE]
    if bad:
        return f"contains {bad[0]!r}, allowed are 0-9 and capital letters except I, O, S, V, Z"
    expected = check_char(code[:17])
    if code[17] != expected:
        return f"check digit is {code[17]!r}, expected {expected!r}"
    return None


def is_valid_credit_code(code: str) -> bool:
    return credit_code_problem(code) is None


def make_credit_code(rng: random.Random, division: str = "450100", kind: str = "91") -> str:
    """A syntactically valid code (for synthetic demo data): kind '91' enterprise, '12' public institution."""
    body = kind + division + "".join(rng.choice(CHARSET) for _ in range(9))
    return body + check_char(body)
