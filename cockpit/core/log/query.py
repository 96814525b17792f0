"""LogFilter → SQL WHERE clause, one builder for both stores (they differ only in a few spellings)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import format_at


@dataclass(frozen=True)
class Dialect:
    param: str                 # "%s" (psycopg) or "?" (sqlite3)
    actor_name: str            # SQL expression of actor's name
    text_blob: str             # SQL expression the free-text search looks in
    like: str                  # case-insensitive LIKE
    at_param: bool             # True: pass datetimes; False: pass format_at text

    def at(self, value: Any) -> Any:
        return value if self.at_param else format_at(value)


POSTGRES = Dialect(
    param="%s", actor_name="(actor->>'name')",
    text_blob="(kind || ' ' || release_id || ' ' || environment || ' ' || actor::text || ' ' || payload::text)",
    like="ILIKE", at_param=True)

SQLITE = Dialect(
    param="?", actor_name="json_extract(actor, '$.name')",
    text_blob="(kind || ' ' || release_id || ' ' || environment || ' ' || actor || ' ' || payload)",
    like="LIKE", at_param=False)


def like_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def where(flt: LogFilter, d: Dialect, *, after_seq: int | None = None,
          before_seq: int | None = None) -> tuple[str, list[Any]]:
    """`WHERE ...` (or "") and its parameters; seq bounds are the keyset of a page."""
    conds: list[str] = []
    params: list[Any] = []
    p = d.param
    if flt.release_id is not None:
        conds.append(f"release_id = {p}")
        params.append(flt.release_id)
    if flt.environment is not None:
        conds.append(f"environment = {p}")
        params.append(flt.environment)
    if flt.actor is not None:
        conds.append(f"{d.actor_name} = {p}")
        params.append(flt.actor)
    if flt.kind is not None:
        if flt.kind.endswith("."):
            # A prefix range, not LIKE: it stays an index range scan.
            conds.append(f"kind >= {p} AND kind < {p}")
            params += [flt.kind, flt.kind[:-1] + chr(ord(".") + 1)]
        else:
            conds.append(f"kind = {p}")
            params.append(flt.kind)
    if flt.since is not None:
        conds.append(f"at >= {p}")
        params.append(d.at(flt.since))
    if flt.until is not None:
        conds.append(f"at < {p}")
        params.append(d.at(flt.until))
    if flt.text:
        conds.append(f"{d.text_blob} {d.like} {p} ESCAPE '\\'")
        params.append(f"%{like_escape(flt.text)}%")
    if after_seq is not None:
        conds.append(f"seq > {p}")
        params.append(after_seq)
    if before_seq is not None:
        conds.append(f"seq < {p}")
        params.append(before_seq)
    return (" WHERE " + " AND ".join(conds)) if conds else "", params
