"""Witnesses kept in the release's git repository, and pushed to its remote: outside the database's reach.

One witness is one ref, refs/cockpit/witness/<seq>, pointing at a small blob that says which head it saw
(SEQ:HASH), of which release, environment and kind, and when. One ref per witness: creating one never
conflicts with another cockpit's (no merge, no force push), and `git ls-remote` lists them all. A ref is
created once; a second write of the same seq with other content is refused, never overwritten.

git runs as a subprocess with argv lists (never a shell) and no prompt: a witness is not worth a cutover
waiting for a password.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path

from cockpit.core.gitrepo import scrub
from cockpit.core.log.entry import Entry, format_at
from cockpit.core.log.witness import Witness

PREFIX = "refs/cockpit/witness/"
FETCHED = "refs/cockpit/fetched/"
TIMEOUT_S = 60
_ZERO = "0" * 40
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}


class WitnessError(Exception):
    """git could not write, push or read a witness (its message, credentials stripped)."""


def _git_bytes(repo: Path, *args: str, stdin: bytes | None = None, timeout: float = TIMEOUT_S) -> bytes:
    env = {**os.environ, **_ENV}
    if "GIT_SSH_COMMAND" not in os.environ:
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
    try:
        done = subprocess.run(["git", "-C", str(repo), *args], input=stdin, capture_output=True, timeout=timeout,
                              env=env, start_new_session=True)  # no terminal: nothing can prompt
    except FileNotFoundError:
        raise WitnessError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise WitnessError(f"git {args[0]} did not finish within {timeout:.0f}s") from None
    if done.returncode != 0:
        said = [ln for ln in done.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
        raise WitnessError(f"git {args[0]} failed: {scrub(said[-1]) if said else f'exit {done.returncode}'}")
    return done.stdout


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> str:
    return _git_bytes(repo, *args, stdin=stdin).decode("utf-8", "replace")


def text(entry: Entry) -> str:
    return (f"cockpit witness v1\nhead {entry.seq}:{entry.hash}\nrelease {entry.release_id}\n"
            f"environment {entry.environment}\nkind {entry.kind}\nat {format_at(entry.at)}\n")


def parse_text(body: str, source: str) -> Witness | None:
    fields = dict(line.split(" ", 1) for line in body.splitlines()[1:] if " " in line)
    if not body.startswith("cockpit witness v1") or ":" not in fields.get("head", ""):
        return None
    seq, _, hash_ = fields["head"].partition(":")
    if not seq.isdigit() or len(hash_) != 64:
        return None
    return Witness(int(seq), hash_.lower(), source, fields.get("release", ""), fields.get("environment", ""),
                   fields.get("kind", ""), fields.get("at", ""))


def write(repo: Path, entry: Entry) -> str:
    """Write the witness of `entry` (the head just appended) in the repository; returns its ref."""
    ref = f"{PREFIX}{entry.seq}"
    blob = _git(repo, "hash-object", "-w", "--stdin", stdin=text(entry).encode()).strip()
    try:
        _git(repo, "update-ref", ref, blob, _ZERO)
    except WitnessError:
        existing = _git(repo, "rev-parse", "--verify", "--quiet", ref).strip()
        if existing != blob:
            raise WitnessError(f"{ref} already exists with other content: not overwritten") from None
    return ref


_pushing = threading.Lock()


def push(repo: Path, remote: str) -> None:
    """Push every witness of the repository (so one that failed earlier goes with the next); one push at a
    time per process. Refs are only ever created: nothing is forced."""
    with _pushing:
        _git(repo, "push", "--quiet", "--no-verify", remote, f"{PREFIX}*:{PREFIX}*")


def _read_refs(repo: Path, namespace: str, label: str) -> list[Witness]:
    listing = _git(repo, "for-each-ref", "--format=%(objectname) %(refname)", namespace)
    refs = [line.split(" ", 1) for line in listing.splitlines() if " " in line]
    if not refs:
        return []
    out = _git_bytes(repo, "cat-file", "--batch", stdin="".join(f"{sha}\n" for sha, _ in refs).encode())
    witnesses, pos = [], 0
    for _, name in refs:  # cat-file --batch: "<sha> <type> <size>\n<content>\n" per object, sizes in bytes
        header_end = out.index(b"\n", pos)
        header = out[pos:header_end].split()
        size = int(header[2]) if len(header) == 3 else 0
        body = out[header_end + 1:header_end + 1 + size].decode("utf-8", "replace")
        pos = header_end + 1 + size + 1
        w = parse_text(body, f"{label} {name.removeprefix(namespace)}")
        if w is not None:
            witnesses.append(w)
    return witnesses


def read(repo: Path, remotes: Iterable[str] = ()) -> tuple[list[Witness], list[str]]:
    """Every witness in the repository and on each remote (fetched into refs/cockpit/fetched/<remote>/),
    and the problems met reading them (a remote that did not answer is said, not hidden)."""
    problems: list[str] = []
    try:
        found = _read_refs(repo, PREFIX, "git")
    except WitnessError as e:
        return [], [f"{repo}: {e}"]
    for remote in remotes:
        into = f"{FETCHED}{_safe(remote)}/"
        try:
            _git(repo, "fetch", "--quiet", "--no-tags", remote, f"+{PREFIX}*:{into}*")
            found += _read_refs(repo, into, f"remote {scrub(remote)}")
        except WitnessError as e:
            problems.append(f"remote {scrub(remote)}: {e}")
    return found, problems


def _safe(remote: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in scrub(remote))[:80] or "remote"
