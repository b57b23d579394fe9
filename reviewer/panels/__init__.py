"""Panels (专家组): affinity of experts to applications (`affinity`), the round's planning problem
(`problem`), the tables of a plan (`tables`) and the one planning service over the solver
(`service`: plan, repair, check of a panels table). `planning` keeps the former names for callers
not yet switched to the service."""
