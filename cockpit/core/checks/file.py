"""`file` evidence: a file exists and, with max_age, is younger than it (e.g. the last backup).

A path with glob characters (`backups/db-*.sql.gz`) is judged by its newest match.
"""

from __future__ import annotations

import asyncio
import glob
import os
from datetime import UTC, datetime
from pathlib import Path

from cockpit.runbook.config import FileCheck
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.result import Found
from cockpit.core.evidence import Status, utcnow
from cockpit.runbook.durations import format_duration, humanize
from cockpit.runbook.placeholders import expand


async def run(check: FileCheck, ctx: CheckContext) -> Found:
    written = expand(check.path, ctx.placeholders())
    path = ctx.runbook.resolve_path(written)
    found = await asyncio.to_thread(_newest, path)
    if found is None:
        return Found(Status.FAIL, f"{written} not found ({path})", data={"path": str(path)})
    real, st = found
    modified = datetime.fromtimestamp(st.st_mtime, UTC)
    age = utcnow() - modified
    is_dir = os.path.isdir(real)
    what = "directory" if is_dir else _size(st.st_size)
    name = written if real == path else f"{written} → {real.name}"
    data = {"path": str(real), "modified": modified.isoformat(), "age_s": round(age.total_seconds(), 1),
            "size": None if is_dir else st.st_size}
    if check.max_age is not None and age > check.max_age:
        return Found(Status.STALE, f"{name} is {humanize(age)} old (max_age {format_duration(check.max_age)})", data=data)
    return Found(Status.PASS, f"{name} exists, {humanize(age)} old, {what}", data=data)


def _newest(path: Path) -> tuple[Path, os.stat_result] | None:
    text = str(path)
    if glob.has_magic(text):
        best: tuple[Path, os.stat_result] | None = None
        for match in glob.iglob(text):
            try:
                st = os.stat(match)
            except OSError:
                continue
            if best is None or st.st_mtime > best[1].st_mtime:
                best = (Path(match), st)
        return best
    try:
        return path, path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000  # type: ignore[assignment]
    return f"{n} bytes"
