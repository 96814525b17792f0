"""Git facts a release depends on, through gitpython (imported lazily: it is slow to import).

Everything here is blocking (it runs git); async callers use asyncio.to_thread. Errors are
GitRefError / GitPushError carrying git's own message with credentials stripped from URLs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from cockpit.core.target import Target

if TYPE_CHECKING:
    import git

    from cockpit.runbook.config import Runbook

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]+@")
_SHA = re.compile(r"^[0-9a-f]{40}$")
# Never let git stop and wait for a password in the middle of a cutover.
_NO_PROMPT = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "", "SSH_ASKPASS": ""}
PUSH_TIMEOUT_S = 120


class GitRefError(Exception):
    """A ref that does not resolve, a path that is not a repository, a tag that cannot be made."""


class GitPushError(Exception):
    """A push that the remote (or the network) refused."""


@dataclass(frozen=True)
class Candidate:
    """A ref the release could roll back to."""

    ref: str
    sha: str
    subject: str
    when: datetime
    kind: Literal["tag", "commit"]

    @property
    def short(self) -> str:
        return self.sha[:7]


def scrub(text: str) -> str:
    """git's message without credentials in URLs (https://user:token@host -> https://***@host)."""
    return _USERINFO.sub(r"\1***@", text).strip()


def _git_message(e: BaseException) -> str:
    stderr = getattr(e, "stderr", None)
    text = stderr if isinstance(stderr, str) and stderr.strip() else str(e)
    text = text.strip().removeprefix("stderr:").strip().strip("'").strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return scrub(" ".join(lines[-3:])) if lines else type(e).__name__


@contextmanager
def _open(repo_path: str | Path) -> Iterator[git.Repo]:
    import git  # startup: gitpython is slow to import; loaded on first use

    path = Path(repo_path)
    try:
        repo = git.Repo(path)
    except git.NoSuchPathError:
        raise GitRefError(f"{path} does not exist (expected a git checkout)") from None
    except git.InvalidGitRepositoryError:
        raise GitRefError(f"{path} is not a git repository") from None
    except git.GitError as e:  # e.g. git missing, or dubious ownership
        raise GitRefError(f"cannot open git repository {path}: {_git_message(e)}") from None
    try:
        yield repo
    finally:
        repo.close()


def _check_ref_text(ref: str) -> None:
    if not ref or not ref.strip():
        raise GitRefError("empty git ref")
    if ref.startswith("-") or any(c in ref for c in "\0\n\r"):
        raise GitRefError(f"{ref!r} is not a valid git ref")


def _rev_parse(repo: git.Repo, ref: str) -> str:
    import git  # startup: gitpython is slow to import; loaded on first use

    _check_ref_text(ref)
    try:
        return repo.git.rev_parse("--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}").strip()
    except git.GitCommandError:
        raise GitRefError(f"unknown ref {ref!r} in {repo.working_dir}") from None


def resolve(repo_path: str | Path, ref: str) -> str:
    """The full commit SHA `ref` names; GitRefError when it names nothing (or not a commit)."""
    with _open(repo_path) as repo:
        return _rev_parse(repo, ref)


def resolve_target(runbook: Runbook, ref: str | None = None) -> Target:
    """The release target: `ref` (default [release] main) resolved in the runbook's repository."""
    ref = ref or runbook.release.main
    return Target(ref=ref, sha=resolve(runbook.repo_path, ref))


def _is_ancestor(repo: git.Repo, a: str, b: str) -> bool:
    import git  # startup: gitpython is slow to import; loaded on first use

    try:
        repo.git.merge_base("--is-ancestor", a, b)
        return True
    except git.GitCommandError as e:
        if e.status == 1:
            return False
        raise GitRefError(f"cannot compare {a[:12]} and {b[:12]}: {_git_message(e)}") from None


def is_ancestor(repo_path: str | Path, a: str, b: str) -> bool:
    """True when commit `a` is reachable from `b` (a commit is its own ancestor)."""
    with _open(repo_path) as repo:
        return _is_ancestor(repo, _rev_parse(repo, a), _rev_parse(repo, b))


def validate_rollback_ref(repo_path: str | Path, rollback_ref: str, target_sha: str) -> list[str]:
    """What is wrong with rolling back to `rollback_ref` from `target_sha`, in words; [] when fine."""
    with _open(repo_path) as repo:
        try:
            rollback_sha = _rev_parse(repo, rollback_ref)
        except GitRefError:
            return [f"rollback ref {rollback_ref!r} does not exist in the repository"]
        try:
            target = _rev_parse(repo, target_sha)
        except GitRefError:
            return [f"target {target_sha[:12]} does not exist in the repository"]
        if rollback_sha == target:
            return [f"rollback ref {rollback_ref!r} is the target itself ({target[:7]}): rolling back to it changes nothing"]
        if not _is_ancestor(repo, rollback_sha, target):
            return [f"rollback ref {rollback_ref!r} ({rollback_sha[:7]}) is not an ancestor of the target {target[:7]}"]
        return []


def rollback_candidates(repo_path: str | Path, target_sha: str, limit: int = 20) -> list[Candidate]:
    """Known-good refs before the target, newest first: reachable tags, then the first-parent
    history (main's own commits when the target is on main). The target itself is excluded."""
    import git  # startup: gitpython is slow to import; loaded on first use

    with _open(repo_path) as repo:
        target = _rev_parse(repo, target_sha)
        out: list[Candidate] = []
        tagged: set[str] = set()
        fmt = "%(refname:short)%00%(objectname)%00%(*objectname)%00%(creatordate:iso-strict)%00%(contents:subject)"
        try:
            raw_tags = repo.git.for_each_ref("refs/tags", f"--merged={target}", "--sort=-creatordate", f"--format={fmt}")
        except git.GitCommandError as e:
            raise GitRefError(f"cannot list tags: {_git_message(e)}") from None
        for line in raw_tags.splitlines():
            name, obj, peeled, when, subject = (line.split("\0") + [""] * 5)[:5]
            sha = peeled or obj
            if sha == target or not sha:
                continue
            tagged.add(sha)
            out.append(Candidate(name, sha, subject, _when(when), "tag"))
        parents = repo.commit(target).parents
        if parents:
            raw_log = repo.git.log("--first-parent", f"--max-count={limit}", "--format=%H%x00%cI%x00%s", parents[0].hexsha)
            for line in raw_log.splitlines():
                sha, when, subject = (line.split("\0") + [""] * 3)[:3]
                if sha and sha not in tagged:
                    out.append(Candidate(sha[:12], sha, subject, _when(when), "commit"))
        out.sort(key=lambda c: (c.when, c.kind == "tag"), reverse=True)
        return out[:limit]


def _when(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text.strip())
        return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def create_tag(repo_path: str | Path, name: str, sha: str, message: str) -> None:
    """An annotated tag `name` on `sha`; GitRefError if it exists elsewhere or the name is invalid."""
    import git  # startup: gitpython is slow to import; loaded on first use

    _check_ref_text(name)
    with _open(repo_path) as repo:
        commit = _rev_parse(repo, sha)
        try:
            repo.git.check_ref_format(f"refs/tags/{name}")
        except git.GitCommandError:
            raise GitRefError(f"{name!r} is not a valid tag name") from None
        try:
            existing = repo.git.rev_parse("--verify", "--quiet", f"refs/tags/{name}^{{commit}}").strip()
        except git.GitCommandError:
            existing = ""
        if existing:
            if existing == commit:
                return  # already there: creating it again is a no-op (resumed session)
            raise GitRefError(f"tag {name!r} already exists on {existing[:7]}, not on {commit[:7]}")
        try:
            repo.git.tag("-a", "-m", message, "--end-of-options", name, commit)
        except git.GitCommandError as e:
            raise GitRefError(f"cannot create tag {name!r}: {_git_message(e)}") from None


def push_tag(repo_path: str | Path, remote: str, name: str) -> None:
    """Push refs/tags/<name> to `remote`; GitPushError with git's message (credentials stripped)."""
    import git  # startup: gitpython is slow to import; loaded on first use

    _check_ref_text(name)
    _check_ref_text(remote)
    with _open(repo_path) as repo:
        env = {**_NO_PROMPT}
        if "GIT_SSH_COMMAND" not in os.environ:
            env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes"
        try:
            with repo.git.custom_environment(**env):
                repo.git.push(remote, f"refs/tags/{name}:refs/tags/{name}", kill_after_timeout=PUSH_TIMEOUT_S)
        except git.GitCommandError as e:
            raise GitPushError(f"pushing tag {name!r} to {scrub(remote)!r} failed: {_git_message(e)}") from None


def is_sha(text: str) -> bool:
    return bool(_SHA.match(text))
