"""The 现场考察 inputs a round keeps (site15c, issue 15), beside `models.py` (which imports this module so
the table is always part of `Base.metadata`; models.py is at its size limit)."""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from reviewer.store.models_base import Base, utcnow


class SiteInput(Base):
    """One imported 现场考察 input file of a round, validated and stored whole as JSON: kind
    `unavailable` (专家不可用日期: expert -> dates), `sites` (考察点: application -> visit length, address,
    contact, phone, locked day), `travel_limits` (专家出行限制: expert -> most consecutive days) or
    `holidays` (节假日: date -> 班/休). Rows are never edited or deleted: a re-import adds a row and stamps
    the previous one `replaced_at`, so a site-plan run that recorded the ids (and content hashes) of the
    rows it used is reproduced from exactly those, whatever was imported later."""
    __tablename__ = "site_inputs"
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(300), default="")
    file_sha256: Mapped[str] = mapped_column(String(64), default="")
    sha256: Mapped[str] = mapped_column(String(64))          # of the canonical JSON content
    rows: Mapped[int] = mapped_column(Integer, default=0)    # entries (experts, sites, dates) stored
    content: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100), default="")
    replaced_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
