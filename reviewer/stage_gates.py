"""Stage gates of the policy (issue 17 part 1): what each review stage scores with and who advances.

The seed's stages are sequential: only what passes 初审评估 is visited (现场考察), only what passes
现场考察 goes to 认定评审. Each stage has

* its instrument: a rubric of the policy's ``[instruments]`` (DEFAULT: ``[rubric]``, the 100-point
  recognition rubric). A criterion marked ``veto = true`` is a verification item (材料不实 → out): an
  application whose panel scores it 0 on more than ``veto_share`` of its returned sheets is out of the
  round whatever its total;
* its advancement rule: a pass line on the aggregated total (``pass_line``), at most
  ``top_k_per_field`` applications per field (0 = no limit), or both.

The last stage has no gate: its ranking decides (reviewer.scoring.ranking). Advancement is proposed
from the stage's aggregated scores (reviewer.scoring.gating) and recorded by staff in the store
(reviewer.store.stages); planning a later stage takes only the applications that advanced.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class StageGate(BaseModel):
    """One stage's instrument and advancement rule ([stages.gates."STAGE"])."""
    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument: str = ""                        # a key of [instruments]; "" = [rubric]
    pass_line: float | None = Field(default=None, ge=0)   # aggregated total needed to advance
    top_k_per_field: int = Field(default=0, ge=0)         # best k per field advance (0 = no limit)
    veto_share: float = Field(default=0.5, ge=0, lt=1)    # vetoed when more than this share of sheets give 0

    @property
    def has_rule(self) -> bool:
        return self.pass_line is not None or self.top_k_per_field > 0

    def rule_text(self) -> str:
        """The advancement rule in words (Chinese / English)."""
        parts_zh, parts_en = [], []
        if self.pass_line is not None:
            parts_zh.append(f"得分 ≥ {self.pass_line:g}")
            parts_en.append(f"score >= {self.pass_line:g}")
        if self.top_k_per_field:
            parts_zh.append(f"每领域前 {self.top_k_per_field} 名")
            parts_en.append(f"best {self.top_k_per_field} per field")
        if not parts_zh:
            return "全部晋级（未设晋级规则） / all advance (no rule)"
        return "，且".join(parts_zh) + " / " + " and ".join(parts_en)
