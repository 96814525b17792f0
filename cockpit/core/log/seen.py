"""What this machine last saw of each environment's current release, kept beside the spool.

The incident path must not depend on the shared store: when it is away, a kill switch or a rollback
still has to know which release is live, its flag snapshot and its rollback ref. So every entry a
release reads or writes here is also appended to `<spool>.seen.<environment>.jsonl` (a cache: no
fsync, rewritten when another release becomes current). With the store away, the release is folded
from these entries plus the ones waiting in the spool (cockpit.core.session.find_current).
Several processes may append at once: readers keep one entry per uid (or seq), in order.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from cockpit.core import kinds
from cockpit.core.log.entry import Entry


class SeenCache:
    def __init__(self, directory: Path, name: str) -> None:
        self.dir, self.name = Path(directory), name

    def _path(self, environment: str) -> Path:
        # Environment names come from the runbook; a digest keeps any of them a safe file name.
        slug = hashlib.sha256(environment.encode()).hexdigest()[:12]
        return self.dir / f"{self.name}.seen.{slug}.jsonl"

    def note(self, environment: str, entries: Iterable[Entry], *, fresh: bool = False) -> None:
        """Remember these entries of the environment's current release; fresh=True starts over (a read of
        the whole release, or another release became current). Never raises: it is only a cache."""
        lines = [json.dumps({**e.to_json(), "uid": e.uid}, ensure_ascii=False, separators=(",", ":")) + "\n"
                 for e in entries]
        if not lines and not fresh:
            return
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            path = self._path(environment)
            if fresh or any(json.loads(line)["kind"] == kinds.SESSION_OPENED and self._other(path, line)
                            for line in lines):
                tmp = path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text("".join(lines), encoding="utf-8")
                os.replace(tmp, path)
            else:
                with open(path, "a", encoding="utf-8") as f:
                    f.write("".join(lines))
        except (OSError, ValueError):
            pass

    def _other(self, path: Path, line: str) -> bool:
        """Whether this session.opened starts a release other than the cached one."""
        first = self.entries_of(path)[:1]
        return bool(first) and first[0].release_id != json.loads(line)["release_id"]

    def current(self, environment: str) -> list[Entry]:
        """The cached release's entries, oldest first (empty when nothing was seen here)."""
        return self.entries_of(self._path(environment))

    @staticmethod
    def entries_of(path: Path) -> list[Entry]:
        try:
            raw = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return []
        seen: dict[str, Entry] = {}
        for line in raw:
            try:
                d = json.loads(line)
                e = Entry.from_json(d)
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line (a killed writer): the rest still counts
            e = Entry(**{**e.__dict__, "uid": d.get("uid", "")})
            key = e.uid or f"seq:{e.seq}"
            if key not in seen or seen[key].seq <= 0 < e.seq:  # the stored copy of a once-spooled entry wins
                seen[key] = e
        stored = sorted((e for e in seen.values() if e.seq > 0), key=lambda e: e.seq)
        return stored + [e for e in seen.values() if e.seq <= 0]  # spooled when written: after the stored ones
