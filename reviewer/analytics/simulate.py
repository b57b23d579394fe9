"""Synthetic panels for checking the relation-bias audit's error rates (issue 18 acceptance).

`synthetic_panels` draws one round: ``n_panels`` panels of ``panel_size`` seats from a pool of
``n_experts`` experts; application quality ~ N(75, quality_sd), expert leniency ~ N(0, leniency_sd),
noise ~ N(0, noise_sd); each seat carries the relation with probability ``share_related`` and a
related seat gets ``bias`` points more. Vectorised numpy; the test runs a few hundred seeds.
"""
from __future__ import annotations

import numpy as np

__all__ = ["synthetic_panels"]


def synthetic_panels(rng: np.random.Generator, *, n_panels: int = 60, panel_size: int = 6, n_experts: int = 120,
                     share_related: float = 0.1, bias: float = 0.0, quality_sd: float = 7.0,
                     leniency_sd: float = 2.5, noise_sd: float = 2.0) -> dict[str, np.ndarray]:
    """Arrays over seats: total, panel, expert, related (see the module doc)."""
    panel = np.repeat(np.arange(n_panels), panel_size)
    # each panel draws distinct experts from the pool
    expert = np.argsort(rng.random((n_panels, n_experts)), axis=1)[:, :panel_size].ravel()
    quality = rng.normal(75, quality_sd, n_panels)
    leniency = rng.normal(0, leniency_sd, n_experts)
    related = rng.random(panel.size) < share_related
    total = quality[panel] + leniency[expert] + rng.normal(0, noise_sd, panel.size) + bias * related
    return {"total": total, "panel": panel, "expert": expert, "related": related}
