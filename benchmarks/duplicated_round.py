"""Tie-heavy rounds for the planner's benchmark (issue 14): the demo round with its applications and its
expert pool duplicated, so that many experts are interchangeable (same category, employer, fields,
specialties, history) and the objective has ties everywhere.

    duplicated_round(data, app_copies, expert_copies) -> RoundData

Copy k >= 1 of application A0001 is A0001~k (its members and platforms follow); copy k of expert
E0001 is E0001~k with the same history; a declaration is copied for every copy of its expert and
application. Copies keep every other field, so the same conflict rules fire on every copy.

    SIZES: the four rounds of the issue (40 x 400 is the demo round itself).
"""
from __future__ import annotations

from reviewer.intake.model import RoundData

# name -> (application copies, expert copies): 40 x 400, 80 x 1,200, 200 x 2,800, 200 x 5,200
SIZES = {"40x400": (1, 1), "80x1200": (2, 3), "200x2800": (5, 7), "200x5200": (5, 13)}


def copy_id(original: str, k: int) -> str:
    return original if k == 0 else f"{original}~{k}"


def duplicated_round(data: RoundData, app_copies: int, expert_copies: int) -> RoundData:
    """`data` with every application copied `app_copies` times and every expert `expert_copies` times."""
    if app_copies < 1 or expert_copies < 1:
        raise ValueError("copies must be at least 1")
    apps = []
    for k in range(app_copies):
        for a in data.applications:
            aid = copy_id(a.application_id, k)
            apps.append(a.model_copy(update={
                "application_id": aid,
                "members": tuple(m.model_copy(update={"application_id": aid}) for m in a.members),
                "platforms": tuple(p.model_copy(update={"application_id": aid}) for p in a.platforms)}))
    experts = []
    for k in range(expert_copies):
        for e in data.experts:
            eid = copy_id(e.expert_id, k)
            experts.append(e.model_copy(update={
                "expert_id": eid, "history": tuple(h.model_copy(update={"expert_id": eid}) for h in e.history)}))
    declarations = []
    for d in data.declarations:
        for ka in range(app_copies):
            for ke in range(expert_copies):
                declarations.append(d.model_copy(update={"application_id": copy_id(d.application_id, ka),
                                                         "expert_id": copy_id(d.expert_id, ke)}))
    return RoundData(applications=tuple(apps), experts=tuple(experts), declarations=tuple(declarations))
