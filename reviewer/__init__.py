"""Expert review of manufacturing innovation centre pilots (制造业创新中心试点): domain, import, screening,
conflicts, planning, scoring, ranking, evaluation."""

__version__ = "0.1.0"
