"""[documents] of the policy: what the official documents (reviewer.documents.official) take from the
policy rather than from the store — the organiser, the 公示 period and where objections go, the
experts' fee rates and the withholding of individual income tax on them.

Every default is labelled DEFAULT in reviewer/data/policy.toml with its source; an empty text is
printed in a document as a labelled blank (（未录入）), never invented.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

ROLES = ("chair", "member")   # the seat roles of the store (组长, 成员)


class TaxBracket(BaseModel):
    """One row of the withholding table of 劳务报酬所得: taxable income up to `up_to` yuan (0 = no upper
    limit) is withheld at `rate` less `quick_deduction`."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    up_to: float = Field(ge=0)
    rate: float = Field(ge=0, le=1)
    quick_deduction: float = Field(ge=0)


# 国家税务总局公告2018年第61号 附件《个人所得税预扣率表二》(居民个人劳务报酬所得预扣预缴适用).
DEFAULT_BRACKETS = (TaxBracket(up_to=20_000, rate=0.2, quick_deduction=0),
                    TaxBracket(up_to=50_000, rate=0.3, quick_deduction=2_000),
                    TaxBracket(up_to=0, rate=0.4, quick_deduction=7_000))


class Documents(BaseModel):
    """[documents]. Defaults apply to a stored round policy written before this section existed."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    organiser: str = "广西壮族自治区工业和信息化厅"
    publicity_days: int = Field(5, ge=1, le=60)
    publicity_day_kind: str = "工作日"
    objection_contact: str = ""
    objection_phone: str = ""
    objection_address: str = ""
    objection_email: str = ""
    fee_daily: dict[str, float] = {"chair": 2400.0, "member": 1500.0}
    fee_days: dict[str, float] = {"初审评估": 1.0, "现场考察": 0.0, "认定评审": 1.0}
    fee_source: str = ("DEFAULT 参照《中央财政科研项目专家咨询费管理办法》（财科教〔2017〕128号）：会议形式，"
                       "高级专业技术职称人员每人每天1500—2400元")
    tax_withholding: bool = True
    tax_small_income: float = Field(4000, ge=0)
    tax_small_deduction: float = Field(800, ge=0)
    tax_deduction_share: float = Field(0.2, ge=0, le=1)
    tax_brackets: tuple[TaxBracket, ...] = DEFAULT_BRACKETS
    tax_note: str = ("劳务费属劳务报酬所得，由支付单位依法预扣预缴个人所得税（《中华人民共和国个人所得税法》；"
                     "国家税务总局公告2018年第61号：每次收入不超过4000元的减除费用800元，4000元以上的减除20%，"
                     "适用20%至40%的超额累进预扣率）。")

    @model_validator(mode="after")
    def _check(self) -> "Documents":
        wrong = sorted(set(self.fee_daily) - set(ROLES))
        if wrong or set(ROLES) - set(self.fee_daily):
            raise ValueError(f"[documents] fee_daily must give exactly {', '.join(ROLES)} (yuan per day); "
                             f"got {', '.join(sorted(self.fee_daily))}")
        if any(v < 0 for v in (*self.fee_daily.values(), *self.fee_days.values())):
            raise ValueError("[documents] fee_daily and fee_days must not be negative")
        tops = [b.up_to for b in self.tax_brackets]
        if not tops or tops[-1] != 0 or any(t <= 0 for t in tops[:-1]) or tops[:-1] != sorted(tops[:-1]):
            raise ValueError("[documents] tax_brackets: rising up_to limits, the last one 0 (no upper limit)")
        return self

    def withheld_tax(self, income: float) -> float:
        """Individual income tax withheld on one payment of `income` yuan of 劳务报酬所得 (0 when
        withholding is off): taxable = income - 800 up to 4000, else income x (1 - 20%); then the
        bracket's rate less its quick deduction; rounded to the fen."""
        if not self.tax_withholding or income <= 0:
            return 0.0
        if income <= self.tax_small_income:
            taxable = max(0.0, income - self.tax_small_deduction)
        else:
            taxable = income * (1 - self.tax_deduction_share)
        b = next(b for b in self.tax_brackets if b.up_to == 0 or taxable <= b.up_to)
        return round(max(0.0, taxable * b.rate - b.quick_deduction) + 1e-9, 2)
