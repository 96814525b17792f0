"""One release-log entry and its hash (ARCHITECTURE §6, a contract).

hash = sha256(prev_hash || canonical_json(entry)), canonical JSON = sorted keys, no spaces,
UTF-8. The hashed fields are seq, at, release_id, environment, actor, kind, payload: so a row
altered, deleted or inserted anywhere breaks the chain at that seq.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import socket
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from cockpit.runbook.textsafe import representable

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    name: str
    """The declared name (--as, COCKPIT_ACTOR, or the OS user)."""
    os_user: str
    host: str
    git_email: str = ""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Actor:
        return cls(name=d.get("name", ""), os_user=d.get("os_user", ""), host=d.get("host", ""),
                   git_email=d.get("git_email", ""))


_git_email_value = [""]
_git_email_lock = threading.Lock()
_git_email_thread: threading.Thread | None = None


def _read_git_email() -> None:
    import subprocess  # startup: readers of the log never ask git who they are

    try:
        out = subprocess.run(["git", "config", "--get", "user.email"], capture_output=True, timeout=5)
        # A config file is bytes: what is not UTF-8 is kept (as surrogates, escaped by current_actor).
        _git_email_value[0] = out.stdout.decode("utf-8", errors="surrogateescape").strip()
    except (OSError, subprocess.SubprocessError):
        pass


def _new_uid() -> str:
    import uuid  # startup: only writers need one (uuid imports platform)

    return uuid.uuid4().hex


def prefetch_git_email() -> threading.Thread:
    """Ask git for user.email (once per process) in a thread: a subprocess costs some ms of a command's start,
    more on a busy machine, and can run while the command loads; current_actor waits for the answer."""
    global _git_email_thread
    with _git_email_lock:
        if _git_email_thread is None:
            _git_email_thread = threading.Thread(target=_read_git_email, name="git-user-email", daemon=True)
            _git_email_thread.start()
        return _git_email_thread


def _git_email() -> str:
    prefetch_git_email().join()
    return _git_email_value[0]


def current_actor(name: str | None = None) -> Actor:
    """Who is acting: the declared name, else COCKPIT_ACTOR, else the OS user. Bytes that were not UTF-8
    (in --as, the environment, a host name) arrive as lone surrogates; they are kept as visible escapes."""
    try:
        os_user = getpass.getuser()
    except Exception:  # no passwd entry (containers): still log something true
        os_user = str(os.getuid())
    return Actor(
        name=representable(name or os.environ.get("COCKPIT_ACTOR") or os_user),
        os_user=representable(os_user),
        host=representable(socket.gethostname()),
        git_email=representable(_git_email()),
    )


def format_at(at: datetime) -> str:
    """UTC, microseconds, 'Z' — one spelling, so hashes are reproducible across stores."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_AT_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", re.ASCII)


def parse_at(s: str) -> datetime:
    # format_at's own shape goes through fromisoformat, several times faster than strptime (every entry read
    # has one); anything else through strptime, which decides as it always has.
    if _AT_SHAPE.fullmatch(s):
        return datetime.fromisoformat(s[:26]).replace(tzinfo=UTC)
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True)
class NewEntry:
    """An entry before the store gives it seq, prev_hash and hash."""

    release_id: str
    environment: str
    kind: str
    payload: dict[str, Any]
    actor: Actor
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    uid: str = field(default_factory=_new_uid, compare=False)
    """Identity for idempotent appends: a store keeps one entry per uid (not hashed; spool replay dedup)."""

    def to_json(self) -> dict[str, Any]:
        return {"at": format_at(self.at), "release_id": self.release_id, "environment": self.environment,
                "actor": self.actor.to_json(), "kind": self.kind, "payload": self.payload}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> NewEntry:
        return cls(release_id=d["release_id"], environment=d["environment"], kind=d["kind"],
                   payload=d["payload"], actor=Actor.from_json(d["actor"]), at=parse_at(d["at"]),
                   **({"uid": d["uid"]} if d.get("uid") else {}))


@dataclass(frozen=True)
class Entry:
    seq: int
    at: datetime
    release_id: str
    environment: str
    actor: Actor
    kind: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str
    uid: str = field(default="", compare=False)
    """The NewEntry's uid (not hashed; see NewEntry.uid)."""

    def hashed_fields(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": format_at(self.at), "release_id": self.release_id,
                "environment": self.environment, "actor": self.actor.to_json(), "kind": self.kind,
                "payload": self.payload}

    def to_json(self) -> dict[str, Any]:
        return {**self.hashed_fields(), "prev_hash": self.prev_hash, "hash": self.hash}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Entry:
        return cls(seq=int(d["seq"]), at=parse_at(d["at"]), release_id=d["release_id"],
                   environment=d["environment"], actor=Actor.from_json(d["actor"]), kind=d["kind"],
                   payload=d["payload"], prev_hash=d["prev_hash"], hash=d["hash"])

    def expected_hash(self) -> str:
        return chain_hash(self.prev_hash, self.hashed_fields())


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + canonical_json(fields)).hexdigest()


def seal(new: NewEntry, seq: int, prev_hash: str) -> Entry:
    """Give a new entry its place in the chain (called by a store inside its serialised append)."""
    # Round-trip the payload through canonical JSON so what is hashed is what is stored and read back.
    payload = json.loads(canonical_json(new.payload))
    at = parse_at(format_at(new.at))
    fields = {"seq": seq, "at": format_at(at), "release_id": new.release_id, "environment": new.environment,
              "actor": new.actor.to_json(), "kind": new.kind, "payload": payload}
    return Entry(seq=seq, at=at, release_id=new.release_id, environment=new.environment, actor=new.actor,
                 kind=new.kind, payload=payload, prev_hash=prev_hash, hash=chain_hash(prev_hash, fields),
                 uid=new.uid)
