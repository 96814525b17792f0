"""A runbook validated before, read back without pydantic: how a flag command starts fast.

Validating a runbook (pydantic's import and the runbook's models) takes 70-100 ms, the largest part of
what a kill switch did before its first request. Its outcome depends only on the file's text, where the
file is (relative paths start there) and the code that validates it. So after each successful
validation, `load` writes the validated runbook, as data, to the user's cache, keyed by all three;
`recall` gives it back as a read-only RunbookCopy (the model's fields and methods, no pydantic) while
all three are unchanged, else None, and the caller validates. A runbook that fails validation is never
written, so it is refused with its key and line every time: the cache only repeats `parse_runbook`'s
verdicts.

The copy is for the flag commands (the incident path) and `log verify` (an auditor's check, which only
reads the runbook's fields); every other command acts on the model.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import timedelta
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit import __version__
from cockpit.runbook.methods import CheckMethods, RunbookMethods, SigningMethods

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook

_FORMAT = "2"
"""Bumped when the layout below changes: older entries are then misses."""
_KEEP = 128
"""Entries kept (one per runbook path); the oldest go first."""


class Uncacheable(Exception):
    """A value the cache does not carry (e.g. a TOML date in a json expectation): that runbook is validated
    every time."""


# -- the copy ---------------------------------------------------------------------------------


class Frozen:
    """One model's fields as read-only attributes."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.__dict__.update(fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


class RunbookCopy(RunbookMethods, Frozen):
    """config.Runbook as validated before."""


class CheckCopy(CheckMethods, Frozen):
    """A check of config.Runbook as validated before."""


class SigningCopy(SigningMethods, Frozen):
    """signing.SigningConfig as validated before."""


# Which methods a model carries decides its copy's class (every other model is plain fields).
_COPIES: dict[str, type[Frozen]] = {"runbook": RunbookCopy, "check": CheckCopy, "signing": SigningCopy,
                                    "plain": Frozen}


def _encode(value: Any) -> list[Any]:
    """A validated value as JSON that says its type, so it reads back as the same value."""
    fields = getattr(type(value), "model_fields", None)
    if fields is not None:
        methods = ("runbook" if isinstance(value, RunbookMethods) else "check" if isinstance(value, CheckMethods)
                   else "signing" if isinstance(value, SigningMethods) else "plain")
        return ["m", methods, {name: _encode(getattr(value, name)) for name in fields}]
    if value is None or isinstance(value, (str, bool, int, float)):
        return ["v", value]
    if isinstance(value, timedelta):
        return ["t", value.days, value.seconds, value.microseconds]
    if isinstance(value, Path):
        return ["p", str(value)]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return ["d", {k: _encode(v) for k, v in value.items()}]
    if isinstance(value, list):
        return ["l", [_encode(v) for v in value]]
    raise Uncacheable(type(value).__name__)


def _decode(node: list[Any]) -> Any:
    tag = node[0]
    if tag == "v":
        return node[1]
    if tag == "m":
        return _COPIES[node[1]]({name: _decode(v) for name, v in node[2].items()})
    if tag == "t":
        return timedelta(days=node[1], seconds=node[2], microseconds=node[3])
    if tag == "p":
        return Path(node[1])
    if tag == "d":
        return {k: _decode(v) for k, v in node[1].items()}
    if tag == "l":
        return [_decode(v) for v in node[1]]
    raise ValueError(f"unknown tag {tag!r}")


# -- the cache ---------------------------------------------------------------------------------


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "release-cockpit" / "validated"


def _code() -> str:
    """The validating code: this package's files (size, mtime), pydantic's version (its pinned pydantic_core's
    too), the cockpit's version. Any change makes every entry a miss."""
    h = hashlib.sha256(f"{_FORMAT}\0{__version__}\0".encode())
    for p in sorted(Path(__file__).parent.glob("*.py")):
        st = p.stat()
        h.update(f"{p.name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    spec = find_spec("pydantic")
    if spec is None or spec.origin is None:
        raise Uncacheable("pydantic not found")
    h.update((Path(spec.origin).parent / "version.py").read_bytes())
    return h.hexdigest()


def _key(text: str, where: Path) -> str:
    h = hashlib.sha256(_code().encode())
    h.update(f"\0{where}\0".encode("utf-8", "surrogateescape"))
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _entry(where: Path) -> Path:
    return _cache_dir() / f"{hashlib.sha256(str(where).encode('utf-8', 'surrogateescape')).hexdigest()[:32]}.json"


def recall(path: str | Path) -> RunbookCopy | None:
    """The runbook at `path` as validated before, when its text, its place and the validating code are
    unchanged; None otherwise (validate it then: `load`). Never raises."""
    try:
        where = Path(path).resolve()
        text = where.read_text(encoding="utf-8")  # as config.read_runbook reads it
        stored = json.loads(_entry(where).read_text(encoding="utf-8"))
        if stored.get("key") != _key(text, where):
            return None
        copy = _decode(stored["runbook"])
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, RuntimeError, Uncacheable):
        return None  # RuntimeError: no home directory to cache in
    return copy if isinstance(copy, RunbookCopy) else None


def load(path: str | Path) -> Runbook:
    """config.load_runbook, and on success the validated runbook is written for `recall`."""
    from cockpit.runbook.config import parse_runbook, read_runbook  # startup: pydantic loads only on a miss

    path = Path(path)
    text = read_runbook(path)
    runbook = parse_runbook(text, path)
    remember(path, text, runbook)
    return runbook


def remember(path: Path, text: str, runbook: Runbook) -> None:
    """Write what `parse_runbook(text, path)` returned, for `recall`. A cache: never raises."""
    try:
        where = path.resolve()
        data = json.dumps({"key": _key(text, where), "runbook": _encode(runbook)}, ensure_ascii=False)
        entry = _entry(where)
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".", suffix=".tmp")  # created 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(data)
            os.replace(tmp, entry)
        except BaseException:
            os.unlink(tmp)
            raise
        _prune(entry.parent)
    except (OSError, ValueError, RuntimeError, Uncacheable):
        pass


def _prune(directory: Path) -> None:
    entries = list(directory.glob("*.json"))
    if len(entries) > _KEEP:
        for p in sorted(entries, key=_mtime)[:len(entries) - _KEEP // 2]:
            p.unlink(missing_ok=True)


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0
