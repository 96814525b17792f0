"""Exports of the release log, streamed from entries() (a log of millions never sits in memory).

- TSV: seed 003's `.deploy/release-log.tsv` — one line per entry with the columns its gate record
  asks for (target sha, rollback ref, decision), plus seq and hash so a line can be traced.
- Markdown: a `RELEASE_LOG.md` — one section per release, one line per entry.
- JSON Lines: Entry.to_json() per line, hashes included (re-verifiable elsewhere).
"""

from __future__ import annotations

import json
import re
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from cockpit.core import kinds
from cockpit.core.log.base import LogFilter
from cockpit.core.log.entry import Entry, format_at
from cockpit.core.sentences import sentence
from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:
    from cockpit.core.log.readonly import Reader

FORMATS = ("tsv", "md", "jsonl")
FORMAT_OF_SUFFIX = {".tsv": "tsv", ".md": "md", ".markdown": "md", ".jsonl": "jsonl", ".ndjson": "jsonl"}

TSV_COLUMNS = ["timestamp_utc", "release", "environment", "actor", "event", "target_sha", "rollback_ref",
               "decision", "detail", "seq", "hash"]


def target_sha(p: dict[str, Any]) -> str:
    t = p.get("target")
    if isinstance(t, dict) and t.get("sha"):
        return str(t["sha"])
    for key in ("target_sha", "sha"):
        if p.get(key):
            return str(p[key])
    return ""


def decision(e: Entry) -> str:
    if e.kind == kinds.DECISION_GO:
        return "GO"
    if e.kind == kinds.DECISION_NOGO:
        return "NO-GO"
    d = e.payload.get("decision")
    return str(d).upper() if isinstance(d, str) else ""


def detail(e: Entry) -> str:
    """The entry's sentence with what a person wrote (the file cannot be opened like the browser's
    detail); the whole payload is in the JSON Lines export."""
    return sentence(e, words=True)


def _tsv(v: Any) -> str:
    # textsafe's one policy: every control (C0, DEL, C1 such as the 8-bit CSI) shown escaped, never sent to
    # whatever displays the file; tabs and line breaks become a space, so a value is one cell.
    return printable(str(v), one_line=True)


def tsv_row(e: Entry) -> list[str]:
    p = e.payload
    return [format_at(e.at), e.release_id, e.environment, e.actor.name, e.kind, target_sha(p),
            str(p.get("rollback_ref") or p.get("rollback_sha") or ""), decision(e), detail(e), str(e.seq), e.hash]


def write_tsv(entries: Iterator[Entry], out: TextIO) -> int:
    out.write("\t".join(TSV_COLUMNS) + "\n")
    n = 0
    for e in entries:
        out.write("\t".join(_tsv(v) for v in tsv_row(e)) + "\n")
        n += 1
    return n


# JSON escapes only C0 controls; DEL and C1 (the 8-bit CSI) would reach a terminal that shows the file.
# Inside JSON they can stand only in strings, where \u escapes mean the same characters.
_JSON_UNESCAPED = re.compile(r"[\x7f-\x9f]")


def write_jsonl(entries: Iterator[Entry], out: TextIO) -> int:
    n = 0
    for e in entries:
        line = json.dumps(e.to_json(), ensure_ascii=False, separators=(",", ":"))
        out.write(_JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m.group(0)):04x}", line) + "\n")
        n += 1
    return n


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_escape(text: str) -> str:
    """Remote text stays text: no links, HTML, emphasis or table breaks sneak into the document."""
    return _MD_SPECIAL.sub(r"\\\1", printable(str(text), one_line=True))


def write_markdown(log: Reader, out: TextIO, flt: LogFilter = LogFilter(), title: str = "Release log") -> int:
    """One section per release (in order of first appearance), one line per entry. Two streaming
    passes: release ids first (few), then each release's entries."""
    releases: dict[str, None] = {}
    for e in log.entries(flt):
        releases.setdefault(e.release_id, None)
    out.write(f"# {md_escape(title)}\n")
    n = 0
    for rid in releases:
        out.write(f"\n## {md_escape(rid) or '(no release)'}\n\n")
        sub = LogFilter(release_id=rid, environment=flt.environment, actor=flt.actor, kind=flt.kind,
                        since=flt.since, until=flt.until, text=flt.text)
        for e in log.entries(sub):
            line = f"- `{format_at(e.at)}` **{md_escape(e.kind)}** {md_escape(e.environment)}: {md_escape(detail(e))}"
            sha = printable(target_sha(e.payload), one_line=True).replace("`", "'")[:40]
            if sha:
                line += f"; target `{sha}`"
            out.write(line + f" (seq {e.seq}, `{e.hash[:12]}`)\n")
            n += 1
    return n


def export(log: Reader, fmt: str, out: TextIO, flt: LogFilter = LogFilter(), *, title: str = "Release log") -> int:
    """Write the log (narrowed by flt) in tsv | md | jsonl; return the number of entries written."""
    if fmt == "tsv":
        return write_tsv(log.entries(flt), out)
    if fmt == "jsonl":
        return write_jsonl(log.entries(flt), out)
    if fmt == "md":
        return write_markdown(log, out, flt, title)
    raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


def export_to_file(log: Reader, fmt: str, path: str | Path, flt: LogFilter = LogFilter(), *,
                   title: str = "Release log") -> int:
    """Export to a file atomically (written beside it, fsync'd, renamed): a reader never sees half."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            n = export(log, fmt, out, flt, title=title)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n


def format_of(path: str) -> str:
    """tsv | md | jsonl from the file name; ValueError naming the choices otherwise."""
    fmt = FORMAT_OF_SUFFIX.get(Path(path).suffix.lower())
    if fmt is None:
        raise ValueError(f"{Path(path).name or path!r}: end the file name in .tsv, .md or .jsonl")
    return fmt


def export_to_named_file(log: Reader, path: str, flt: LogFilter = LogFilter(), *,
                         title: str = "Release log") -> tuple[Path, int, str]:
    """Export to `path` in the format its name says, atomically; (absolute path, count, format)."""
    fmt = format_of(path)
    target = Path(path).expanduser().resolve()
    if not target.parent.is_dir():
        raise OSError(f"the folder {target.parent} does not exist")
    return target, export_to_file(log, fmt, target, flt, title=title), fmt
