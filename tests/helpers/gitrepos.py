"""Real git repositories for tests: a bare 'origin' and a clone with a `main` history."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


def git(cwd: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True,
                         env={"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
                              "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
                              "HOME": str(cwd), "PATH": "/usr/bin:/bin:/usr/local/bin"})
    return out.stdout.strip()


@dataclass
class Repo:
    path: Path
    origin: Path
    main_shas: list[str]          # oldest first; main_shas[-1] is the head of origin/main
    feature_sha: str              # a commit on a feature branch, not on main

    def git(self, *args: str) -> str:
        return git(self.path, *args)

    def commit(self, message: str, branch: str = "main", push: bool = True) -> str:
        self.git("checkout", "-q", branch)
        (self.path / "history.txt").open("a").write(message + "\n")
        self.git("add", "history.txt")
        self.git("commit", "-q", "-m", message)
        sha = self.git("rev-parse", "HEAD")
        if push:
            self.git("push", "-q", "origin", branch)
            self.git("fetch", "-q", "origin")
        return sha


def make_repo(root: Path, commits: int = 3) -> Repo:
    """origin (bare) + a working clone; main has `commits` commits; feature/x one more, unmerged."""
    origin = root / "origin.git"
    work = root / "work"
    origin.mkdir(parents=True)
    git(origin, "init", "-q", "--bare", "-b", "main")
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    git(work, "remote", "add", "origin", str(origin))
    shas = []
    for i in range(commits):
        (work / "history.txt").open("a").write(f"commit {i}\n")
        git(work, "add", "history.txt")
        git(work, "commit", "-q", "-m", f"commit {i}")
        shas.append(git(work, "rev-parse", "HEAD"))
    git(work, "push", "-q", "origin", "main")
    git(work, "checkout", "-q", "-b", "feature/x")
    (work / "feature.txt").write_text("feature\n")
    git(work, "add", "feature.txt")
    git(work, "commit", "-q", "-m", "feature work")
    feature = git(work, "rev-parse", "HEAD")
    git(work, "push", "-q", "origin", "feature/x")
    git(work, "checkout", "-q", "main")
    git(work, "fetch", "-q", "origin")
    return Repo(path=work, origin=origin, main_shas=shas, feature_sha=feature)
