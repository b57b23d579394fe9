"""Expertise affinity of experts to applications: field match plus a text similarity between the
expert's specialties and the application's technology description.

Chinese text has no spaces, so the text part uses character n-grams (2-3) with TF-IDF
(scikit-learn), which needs no dictionary and matches 轻量化 in 车身轻量化 as well as in
轻量化车身. The result is a sparse matrix, cached on disk by the hash of its inputs.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from reviewer.intake.model import Application, Expert


@dataclass(frozen=True)
class AffinityWeights:
    field: float = 0.6      # expert lists the application's field
    text: float = 0.4       # cosine of specialty vs technology description
    min_text: float = 0.02  # text similarities below this are noise and stored as 0 (keeps it sparse)


def field_match(experts: list[Expert], applications: list[Application]) -> sp.csr_matrix:
    """bool[E, A]: the expert's fields include the application's field."""
    rows, cols = [], []
    by_field: dict[str, list[int]] = {}
    for j, a in enumerate(applications):
        by_field.setdefault(a.field, []).append(j)
    for i, e in enumerate(experts):
        for f in e.fields:
            for j in by_field.get(f, ()):
                rows.append(i)
                cols.append(j)
    data = np.ones(len(rows), dtype=bool)
    return sp.csr_matrix((data, (rows, cols)), shape=(len(experts), len(applications)), dtype=bool)


def text_similarity(expert_texts: list[str], application_texts: list[str], min_text: float = 0.0) -> sp.csr_matrix:
    """float[E, A]: TF-IDF cosine over character 2-3-grams, fitted on both sides together."""
    if not expert_texts or not application_texts:
        return sp.csr_matrix((len(expert_texts), len(application_texts)))
    docs = [t or "" for t in expert_texts] + [t or "" for t in application_texts]
    if not any(d.strip() for d in docs):
        return sp.csr_matrix((len(expert_texts), len(application_texts)))
    vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True, min_df=1)
    X = vec.fit_transform(docs)  # rows are L2-normalised, so X @ X.T is the cosine
    E, A = X[: len(expert_texts)], X[len(expert_texts):]
    S = (E @ A.T).tocsr()
    if min_text > 0:
        S.data[S.data < min_text] = 0.0
        S.eliminate_zeros()
    return S


def expert_text(e: Expert) -> str:
    return f"{e.specialties} {' '.join(e.fields)}"


def application_text(a: Application) -> str:
    return f"{a.field} {a.name} {a.tech_description}"


def affinity_matrix(experts: list[Expert], applications: list[Application],
                    weights: AffinityWeights = AffinityWeights(), cache_dir: Path | None = None) -> sp.csr_matrix:
    """float[E, A] in [0, 1]: weights.field * field match + weights.text * text similarity."""
    key = None
    if cache_dir is not None:
        h = hashlib.sha256(json.dumps([[expert_text(e) for e in experts], [application_text(a) for a in applications],
                                       [weights.field, weights.text, weights.min_text]],
                                      ensure_ascii=False).encode()).hexdigest()[:16]
        key = Path(cache_dir) / f"affinity_{h}.npz"
        if key.exists():
            return sp.load_npz(key).tocsr()
    F = field_match(experts, applications).astype(float)
    T = text_similarity([expert_text(e) for e in experts], [application_text(a) for a in applications], weights.min_text)
    S = (weights.field * F + weights.text * T).tocsr()
    if key is not None:
        key.parent.mkdir(parents=True, exist_ok=True)
        sp.save_npz(key, S)
    return S
