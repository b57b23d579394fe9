"""Panels (专家组): affinity of experts to applications and the planning service over the solver."""
