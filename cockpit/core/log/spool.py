"""Never lose an entry: a local fsync'd spool in front of the store.

`SpooledLog` is what the cockpit uses (open.py builds it). An append goes to the store; when the
store is unreachable (LogUnavailable) the entry is written to an append-only JSON-lines file and
fsync'd (file and folder) before the call returns, so an acknowledged entry survives kill -9.

The acknowledgement of a spooled append is a `PendingEntry`: an Entry with seq 0 and empty
hashes (a real entry's seq starts at 1), so callers that fold entries keep working; `is_pending()`
tells them apart. It gets its real seq when the spool is replayed.

Replay happens on open, before every append (so order is kept: waiting entries first) and before
reads. Each entry carries NewEntry.uid and stores keep one entry per uid, so a crash between the
store's commit and the spool's rewrite replays nothing twice. Several processes may share one
spool folder: a flock on `<name>.lock` serialises them.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cockpit.core.log.base import Guard, Keep, LockInfo, LogFilter, LogUnavailable, ReleaseLog, VerifyResult
from cockpit.core.log.chain import prepare
from cockpit.core.log.entry import Actor, Entry, NewEntry
from cockpit.core.log.follow import StoreFollower
from cockpit.core.log.seen import SeenCache
from cockpit.runbook.textsafe import representable


@dataclass(frozen=True)
class PendingEntry(Entry):
    """An entry that is safe in the local spool but not yet in the chain (seq 0, no hashes)."""


def is_pending(entry: Entry) -> bool:
    return isinstance(entry, PendingEntry)


def _pending(new: NewEntry) -> PendingEntry:
    return PendingEntry(seq=0, at=new.at, release_id=new.release_id, environment=new.environment, actor=new.actor,
                        kind=new.kind, payload=new.payload, prev_hash="", hash="", uid=new.uid)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    """`<dir>/<name>.jsonl`: one NewEntry (with its uid) per line, oldest first."""

    def __init__(self, directory: str | Path, name: str = "spool"):
        self.dir = Path(directory)
        self.path = self.dir / f"{name}.jsonl"
        self.rejected_path = self.dir / f"{name}.rejected.jsonl"
        self._lock_path = self.dir / f"{name}.lock"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive across processes (flock) for the duration of a read-modify-write."""
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def add(self, new: NewEntry) -> None:
        """Append and fsync; returns only when the entry is on disk. Call under locked()."""
        line = json.dumps({**new.to_json(), "uid": new.uid}, ensure_ascii=False, separators=(",", ":")) + "\n"
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self._drop_torn_tail(fd)
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.dir)

    @staticmethod
    def _drop_torn_tail(fd: int) -> None:
        """A writer killed mid-line leaves a line without '\\n': it was never acknowledged, drop it."""
        size = os.fstat(fd).st_size
        if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
            return
        data = os.pread(fd, size, 0)  # spools are small: entries written during one outage
        os.ftruncate(fd, data.rfind(b"\n") + 1)

    def read(self) -> list[NewEntry]:
        """Waiting entries, oldest first. A torn last line is ignored; an unreadable line elsewhere
        is moved to `<name>.rejected.jsonl` (kept for a human, never silently dropped)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        lines = data.split(b"\n")
        complete, torn = lines[:-1], lines[-1]  # torn == b"" when the file ends with '\n'
        out: list[NewEntry] = []
        bad: list[bytes] = []
        for raw in complete:
            if not raw.strip():
                continue
            try:
                out.append(NewEntry.from_json(json.loads(raw)))
            except (ValueError, KeyError, TypeError):
                bad.append(raw)
        if bad:
            self.reject(bad)
            self.rewrite(out)
        del torn
        return out

    def reject(self, lines: list[bytes]) -> None:
        """Keep what cannot be replayed, for a human; never drop it silently."""
        with open(self.rejected_path, "ab") as f:
            f.write(b"".join(line.rstrip(b"\n") + b"\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())

    def rejected_count(self) -> int:
        try:
            with open(self.rejected_path, "rb") as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def count(self) -> int:
        try:
            with open(self.path, "rb") as f:
                return sum(1 for line in f if line.endswith(b"\n") and line.strip())
        except FileNotFoundError:
            return 0

    def rewrite(self, remaining: list[NewEntry]) -> None:
        """Replace the spool atomically (temp file, fsync, rename, fsync folder). Call under locked()."""
        if not remaining:
            try:
                self.path.unlink()
            except FileNotFoundError:
                return
            _fsync_dir(self.dir)
            return
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            for new in remaining:
                f.write(json.dumps({**new.to_json(), "uid": new.uid}, ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8") + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        _fsync_dir(self.dir)


class Store(ReleaseLog, Protocol):
    def describe(self) -> str: ...


class SpooledLog:
    """A ReleaseLog that spools appends while its store is unreachable (see the module docstring)."""

    def __init__(self, store_factory: Callable[[], Store], spool_dir: str | Path, *, name: str = "spool",
                 replay: bool = True, retry_interval: float = 2.0):
        self._factory = store_factory
        self._store: Store | None = None
        self.spool = Spool(spool_dir, name)
        self.seen = SeenCache(Path(spool_dir), name)
        """The last state seen here of each environment's release, for when the store is away."""
        self._lock = threading.RLock()
        self._retry_interval = retry_interval
        self._failed_at = 0.0
        self.last_error = ""
        """Why the store was last unreachable ("" once it answers again)."""
        if replay:
            try:
                self.replay()
            except LogUnavailable:
                pass

    # -- the store ------------------------------------------------------------------------
    def store(self) -> Store:
        """The connected store; raises LogUnavailable while it is away."""
        with self._lock:
            if self._store is None:
                if self._failed_at and time.monotonic() - self._failed_at < self._retry_interval:
                    raise LogUnavailable(self.last_error or "the release log is unreachable")
                try:
                    self._store = self._factory()
                except LogUnavailable as e:
                    self._unavailable(e)
                    raise
            return self._store

    def _unavailable(self, e: LogUnavailable) -> None:
        self._failed_at = time.monotonic()
        self.last_error = str(e)

    def _call(self, fn: Callable[[Store], Any]) -> Any:
        store = self.store()
        try:
            result = fn(store)
        except LogUnavailable as e:
            self._unavailable(e)
            raise
        self.last_error = ""
        self._failed_at = 0.0
        return result

    @property
    def available(self) -> bool:
        try:
            self.store()
            return not self.last_error
        except LogUnavailable:
            return False

    def describe(self) -> str:
        with self._lock:
            if self._store is not None:
                return self._store.describe()
        return getattr(self._factory, "description", "release log")

    # -- spool ------------------------------------------------------------------------------
    def pending_count(self) -> int:
        return self.spool.count()

    def pending(self) -> list[PendingEntry]:
        """Entries waiting in the spool, oldest first (the UI may fold them in, marked pending)."""
        with self.spool.locked():
            return [_pending(n) for n in self.spool.read()]

    def replay(self) -> int:
        """Send waiting entries to the store, in order; return how many. Raises LogUnavailable
        (keeping the rest spooled) when the store is away."""
        with self._lock, self.spool.locked():
            return self._replay_locked()

    def _replay_locked(self) -> int:
        waiting = self.spool.read()
        if not waiting:
            return 0
        done = 0
        try:
            for new in waiting:
                try:
                    self._call(lambda s, n=new: s.append(n))  # idempotent per uid
                except LogUnavailable:
                    raise
                except Exception as e:  # the store refuses this entry for good: set it aside, keep order for the rest
                    self.spool.reject([json.dumps({**new.to_json(), "uid": new.uid, "error": representable(str(e)[:500])},
                                                  ensure_ascii=False).encode("utf-8")])
                done += 1
        finally:
            if done:
                self.spool.rewrite(waiting[done:])
        return done

    # -- ReleaseLog ---------------------------------------------------------------------------
    def append(self, entry: NewEntry) -> Entry:
        """The stored Entry, or a PendingEntry once the entry is fsync'd in the spool."""
        new = prepare(entry)  # refuse a bad payload now, not at replay time
        with self._lock, self.spool.locked():
            try:
                self._replay_locked()
                return self._call(lambda s: s.append(new))
            except LogUnavailable:
                self.spool.add(new)
                return _pending(new)

    def append_guarded(self, entry: NewEntry, guard: Guard) -> Entry:
        """Guarded appends (the release lock) need the shared truth: never spooled. Raises
        LogUnavailable while the store is away, AppendRefused when the guard says no."""
        with self._lock, self.spool.locked():
            self._replay_locked()
            return self._call(lambda s: s.append_guarded(entry, guard))

    def _read(self, fn: Callable[[Store], Any]) -> Any:
        if self.spool.count():
            self.replay()  # reads see every acknowledged entry, or raise LogUnavailable
        return self._call(fn)

    def entries(self, flt: LogFilter = LogFilter()) -> Iterator[Entry]:
        return self._read(lambda s: s.entries(flt))

    def page(self, flt: LogFilter = LogFilter(), *, after_seq: int | None = None, before_seq: int | None = None,
             limit: int = 100, newest_first: bool = False) -> list[Entry]:
        return self._read(lambda s: s.page(flt, after_seq=after_seq, before_seq=before_seq, limit=limit,
                                           newest_first=newest_first))

    def head(self) -> Entry | None:
        return self._read(lambda s: s.head())

    def count(self, flt: LogFilter = LogFilter()) -> int:
        return self._read(lambda s: s.count(flt))

    def verify(self, progress: Callable[[int, int], None] | None = None, *,
               keep: Keep | None = None) -> VerifyResult:
        return self._call(lambda s: s.verify(progress, keep=keep))

    # -- the lock table and following: the shared truth only, never spooled ----------------------
    def lock_row(self, environment: str) -> LockInfo | None:
        return self._call(lambda s: s.lock_row(environment))

    def renew_lease(self, environment: str, release_id: str, actor: Actor, expires_at: datetime) -> LockInfo:
        return self._call(lambda s: s.renew_lease(environment, release_id, actor, expires_at))

    def follower(self) -> StoreFollower:
        """Follows the store while it answers; wakes when it comes back (what was spooled may now be read)."""
        return StoreFollower(self.store)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
