"""`smoke` evidence: results another tool wrote, as KEY=VALUE lines, JUnit XML or JSON.

The document comes from a file (relative to the runbook) or an http(s) URL. It is untrusted:
XML is parsed with defusedxml (no DTDs, no entities, no external references), sizes are capped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from cockpit.runbook.config import SmokeCheck
from cockpit.core.checks.compare import dotted, matches, show
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.fetch import FetchFailed, client_for, fetch, origin_of
from cockpit.core.checks.result import Found, redact_url
from cockpit.runbook.textsafe import one_line
from cockpit.core.evidence import Status, cap_excerpt, utcnow
from cockpit.runbook.durations import format_duration, humanize
from cockpit.runbook.placeholders import expand

MAX_BYTES = 20_000_000  # a big JUnit report is a few MB; anything past this is not a smoke summary


class _Refused(Exception):
    """The document cannot be judged; `status` says whether that is a fail or an error."""

    def __init__(self, status: Status, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class _Doc:
    body: bytes
    modified: datetime
    """File mtime, the HTTP Last-Modified header, or now."""
    where: str


def guess_format(source: str) -> str:
    name = source.lower().split("?", 1)[0]
    if name.endswith(".xml"):
        return "junit"
    if name.endswith(".json"):
        return "json"
    return "env"


def origin(check: SmokeCheck, ctx: CheckContext) -> Hashable | None:
    """The origin of a URL source (take waits for a slot of it before the clock starts); a file has none."""
    source = expand(check.source, ctx.placeholders())
    return origin_of(source) if _is_url(source) else None


async def run(check: SmokeCheck, ctx: CheckContext) -> Found:
    source = expand(check.source, ctx.placeholders())
    fmt = check.format or guess_format(source)
    try:
        if fmt in ("env", "json") and not check.key:
            raise _Refused(Status.ERROR, f"format {fmt} needs key (which {fmt} key holds the result)")
        doc = await (_from_url(check, ctx, source) if _is_url(source) else _from_file(ctx, source))
        status, detail, facts, stamp = _judge(check, fmt, doc)
    except _Refused as e:
        return Found(e.status, e.detail, data={"source": redact_url(source), "format": fmt})
    produced = stamp or doc.modified
    age = utcnow() - produced
    data: dict[str, Any] = {
        "source": doc.where, "format": fmt, "key": check.key,
        "produced_at": produced.isoformat(), "age_s": round(age.total_seconds(), 1), **facts,
    }
    if status is Status.PASS and check.max_age is not None and age > check.max_age:
        status = Status.STALE
        detail = f"{detail}, but the results are {humanize(age)} old (max_age {format_duration(check.max_age)})"
    return Found(status, detail, cap_excerpt(doc.body), data)


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


async def _from_url(check: SmokeCheck, ctx: CheckContext, url: str) -> _Doc:
    where = redact_url(url)
    async with client_for(ctx) as client:
        try:
            got = await fetch(client, url, timeout_s=check.timeout.total_seconds(), max_bytes=MAX_BYTES)
        except FetchFailed as e:
            raise _Refused(Status.FAIL, f"smoke results not fetched from {where}: {e.detail}") from None
    if got.oversize:
        raise _Refused(Status.ERROR, f"smoke results at {where} are larger than {MAX_BYTES} bytes")
    if not 200 <= got.status_code < 300:
        raise _Refused(Status.FAIL, f"smoke results not fetched from {where}: HTTP {got.status_code}")
    modified = utcnow()
    if "last-modified" in got.headers:
        try:
            modified = parsedate_to_datetime(got.headers["last-modified"]).astimezone(UTC)
        except (TypeError, ValueError):
            pass  # an unreadable header: judge freshness as of now, like no header
    return _Doc(got.body, modified, where)


async def _from_file(ctx: CheckContext, source: str) -> _Doc:
    path = ctx.runbook.resolve_path(source)

    def read() -> tuple[bytes, float]:
        with path.open("rb") as f:
            body = f.read(MAX_BYTES + 1)
            return body, Path(f.name).stat().st_mtime

    try:
        body, mtime = await asyncio.to_thread(read)
    except FileNotFoundError:
        raise _Refused(Status.FAIL, f"smoke results file not found: {source} ({path})") from None
    except IsADirectoryError:
        raise _Refused(Status.ERROR, f"smoke results source {source} is a directory, not a file") from None
    except OSError as e:
        raise _Refused(Status.ERROR, f"cannot read smoke results {source}: {e.strerror or e}") from None
    if len(body) > MAX_BYTES:
        raise _Refused(Status.ERROR, f"smoke results file {source} is larger than {MAX_BYTES} bytes")
    return _Doc(body, datetime.fromtimestamp(mtime, UTC), source)


# -- judging ----------------------------------------------------------------------------


def _judge(check: SmokeCheck, fmt: str, doc: _Doc) -> tuple[Status, str, dict[str, Any], datetime | None]:
    if fmt == "junit":
        return _judge_junit(check, doc)
    text = doc.body.decode("utf-8", errors="replace")
    assert check.key is not None
    if fmt == "env":
        values: Any = parse_env(text)
        found = _env_lookup(values, check.key)
        missing = found is _NOTHING
        keys = list(values)
    else:
        try:
            values = json.loads(text)
        except ValueError as e:
            raise _Refused(Status.ERROR, f"{doc.where} is not valid JSON: {one_line(e, 120)}") from None
        try:
            found = dotted(values, check.key)
            missing = False
        except KeyError:
            found, missing = None, True
        keys = list(values) if isinstance(values, dict) else []
    if missing:
        known = ", ".join(keys[:12]) + (", …" if len(keys) > 12 else "") if keys else "none"
        raise _Refused(Status.FAIL, f"key {check.key} not found in {doc.where} (keys there: {one_line(known, 150)})")
    stamp = _timestamp(check, fmt, doc, values) if check.timestamp_key else None
    shown = one_line(found if isinstance(found, str) else show(found), 80)
    if matches(found, check.expect):
        return Status.PASS, f"{check.key} = {shown}", {"value": found}, stamp
    return Status.FAIL, f"{check.key} is {shown}, expected {show(check.expect)}", {"value": found}, stamp


_NOTHING = object()


def _env_lookup(values: dict[str, str], key: str) -> Any:
    if key in values:
        return values[key]
    folded = {k.casefold(): v for k, v in values.items()}
    return folded.get(key.casefold(), _NOTHING)


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines as shell scripts write them: comments, quotes and `export ` tolerated."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            continue  # not an assignment: ignore, like a shell sourcing the file would not
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[key] = value
    return out


def _timestamp(check: SmokeCheck, fmt: str, doc: _Doc, values: Any) -> datetime:
    key = check.timestamp_key
    assert key is not None
    if fmt == "env":
        raw = _env_lookup(values, key)
    else:
        try:
            raw = dotted(values, key)
        except KeyError:
            raw = _NOTHING
    if raw is _NOTHING:
        raise _Refused(Status.FAIL, f"timestamp_key {key} not found in {doc.where}")
    stamp = parse_timestamp(raw)
    if stamp is None:
        raise _Refused(
            Status.ERROR,
            f"timestamp_key {key} in {doc.where} holds {one_line(show(raw), 60)}, not an ISO 8601 time or epoch seconds",
        )
    return stamp


def parse_timestamp(raw: Any) -> datetime | None:
    """ISO 8601 (naive = UTC) or epoch seconds (milliseconds recognised by size)."""
    if isinstance(raw, bool):
        return None
    try:
        if isinstance(raw, (int, float)) or (isinstance(raw, str) and raw.strip().replace(".", "", 1).isdigit()):
            seconds = float(raw)
            if seconds > 1e11:  # milliseconds, as JavaScript writes Date.now()
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(raw, str):
            stamp = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _judge_junit(check: SmokeCheck, doc: _Doc) -> tuple[Status, str, dict[str, Any], datetime | None]:
    from xml.etree.ElementTree import ParseError  # startup: XML loads only for a JUnit report

    # startup: defusedxml loads only for a JUnit report
    import defusedxml
    import defusedxml.ElementTree as SafeET

    try:
        root = SafeET.fromstring(doc.body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as e:
        raise _Refused(Status.ERROR, f"{doc.where}: refused unsafe XML ({type(e).__name__}: DTDs and entities are not accepted)") from None
    except ParseError as e:
        raise _Refused(Status.ERROR, f"{doc.where} is not well-formed XML: {one_line(e, 120)}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise _Refused(Status.ERROR, f"{doc.where} is not a JUnit report (root element <{one_line(root.tag, 40)}>)")

    cases = []  # (id, outcome, message)
    for case in root.iter("testcase"):
        name = case.get("name", "")
        classname = case.get("classname", "")
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, message = ("failed" if child.tag == "failure" else "errored"), child.get("message", "")
                break
            if child.tag == "skipped":
                outcome, message = "skipped", child.get("message", "")
        cases.append((f"{classname}.{name}" if classname else name, name, outcome, message))

    stamp = None
    if check.timestamp_key:
        suite = root if root.tag == "testsuite" else (root.find("testsuite") if root.get(check.timestamp_key) is None else root)
        raw = suite.get(check.timestamp_key) if suite is not None else None
        if raw is None:
            raise _Refused(Status.FAIL, f"timestamp attribute {check.timestamp_key} not found in {doc.where}")
        stamp = parse_timestamp(raw)
        if stamp is None:
            raise _Refused(Status.ERROR, f"timestamp attribute {check.timestamp_key} in {doc.where} holds {one_line(raw, 60)!r}, not a time")

    if check.key:
        chosen = [c for c in cases if c[0] == check.key] or [c for c in cases if c[1] == check.key]
        if not chosen:
            raise _Refused(Status.FAIL, f"test {check.key} not found in {doc.where} ({len(cases)} tests there)")
    else:
        chosen = cases
    counts = {k: sum(1 for c in chosen if c[2] == k) for k in ("passed", "failed", "errored", "skipped")}
    facts = {"tests": len(chosen), **counts}
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    bad = [c for c in chosen if c[2] in ("failed", "errored")]
    if bad:
        first = bad[0]
        why = f": {one_line(first[3], 100)}" if first[3] else ""
        return Status.FAIL, f"{summary} — {first[0]} {first[2]}{why}", facts, stamp
    if not chosen:
        return Status.FAIL, f"{doc.where} holds no test cases", facts, stamp
    if check.key and counts["skipped"]:
        return Status.FAIL, f"test {check.key} was skipped", facts, stamp
    if counts["passed"] == 0:
        return Status.FAIL, f"no test passed ({summary})", facts, stamp
    label = f"test {check.key}" if check.key else "all tests"
    return Status.PASS, f"{label}: {summary}", facts, stamp
