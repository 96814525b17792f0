"""The shop's state file: what the loopback service serves and what the fake kubectl/docker change.

The service (tests/seeds/shop.py, a thread of the test process) and the fakes (separate processes)
share one JSON file. Every change is a read-modify-write under an exclusive flock, written to a
temporary file and renamed, so a reader sees the old state or the new one, never half of one.

    {"app": "shop",                      the deployment the service is (its /version, /health)
     "namespace": "default",             kubectl's default namespace (the kubeconfig's)
     "app_dir": "/…/shop",               where `kubectl exec` runs commands (the pod's code)
     "flags": ["NAME", …],               declared flags
     "flags_in": "api" | "env",          api: the §5 flag API's store; env: the deployment's env vars
     "flag_store": {"NAME": false},      the §5 API's values (flags_in = api)
     "registry": {"repo:tag": IMAGE},    what `docker push` published (and CI built before the test)
     "local_images": {"repo:tag": IMAGE},  the docker host's images (`docker build`, `tag`, `pull`)
     "deployments": {"shop": DEPLOYMENT},
     "health": {"name": {"status_code": 503, "fields": {…}}},  programmed sub-health answers
     "subsystems": ["catalog", …],       /health/<name> answering ok unless programmed
     "routes": {"/path?query": {"status": 200, "body": …}},  programmed answers of any GET
     "hooks": [{"name", "body", "at"}],  webhooks received (POST /hooks/<name>)
     "flag_puts": [{"name", "enabled", "reason", "actor", "status"}]}

    IMAGE      = {"digest", "version", "sha", "requires_schema", "crash"}
    DEPLOYMENT = {"namespace", "container", "replicas", "image", "env", "revision",
                  "history": [{"revision", "image", "env"}],
                  "serving": IMAGE + {"image", "env", "revision", "since"} | None,   what the pods run
                  "rollout": {"state": "complete" | "failed", "reason"},
                  "runtime": "compose" (only for a compose service: images come from the docker host),
                  "banner": ["Starting {app} {version} ({short_sha})", …],   logged by every new pod
                  "log": [[unix_time, revision, line], …]}

A rollout (a changed image or env, a restart, an undo) resolves the image in the registry: found and
not crashing, the new pods serve it; else the rollout fails (ImagePullBackOff, CrashLoopBackOff) and
the old pods keep serving, as a rolling update does. A compose service is replaced whatever happens.
Programs change the state through this module only (there is no admin endpoint for it): the fakes
import it, and the tests through Shop's methods.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOG_KEEP = 500
"""Lines kept per deployment (a pod's log is not forever either)."""

TRUE_VALUES = ("true", "1", "on", "yes")

_NAME = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_IMAGE_REF = re.compile(rf"(?:{_HOST}/)?{_NAME}(?:/{_NAME})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?")
_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")


# -- the file ------------------------------------------------------------------------------------

def read(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write(path: str | Path, state: dict) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def update(path: str | Path) -> Iterator[dict]:
    """The state to change in place; written back when the block ends without an exception."""
    with open(f"{path}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = read(path)
            yield state
            write(path, state)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# -- images -------------------------------------------------------------------------------------

def normalize_image(ref: str) -> str | None:
    """`repo[:tag]` with the tag made explicit (`latest`), or None when docker would say
    "invalid reference format"."""
    if not _IMAGE_REF.fullmatch(ref):
        return None
    last = ref.rsplit("/", 1)[-1]
    return ref if ":" in last else f"{ref}:latest"


def image(version: str, sha: str, requires_schema: int, crash: bool = False) -> dict:
    body = json.dumps([version, sha, requires_schema, crash])
    return {"digest": "sha256:" + hashlib.sha256(body.encode()).hexdigest(), "version": version, "sha": sha,
            "requires_schema": requires_schema, "crash": crash}


# -- deployments --------------------------------------------------------------------------------

def deployment(image_ref: str, *, namespace: str, container: str, env: dict[str, str], replicas: int = 2,
               banner: list[str] | None = None) -> dict:
    return {"namespace": namespace, "container": container, "replicas": replicas, "image": image_ref,
            "env": dict(env), "revision": 1, "history": [{"revision": 1, "image": image_ref, "env": dict(env)}],
            "serving": None, "rollout": {"state": "complete", "reason": ""},
            "banner": banner or ["Starting {app} {version} ({short_sha}), revision {revision}"], "log": []}


def change_template(state: dict, name: str, *, image_ref: str | None = None, env: dict[str, str] | None = None,
                    restart: bool = False) -> bool:
    """A new pod template (image, env) or a restart: a new revision, rolled out. False if nothing changed."""
    dep = state["deployments"][name]
    new_image = dep["image"] if image_ref is None else image_ref
    new_env = dep["env"] if env is None else env
    if new_image == dep["image"] and new_env == dep["env"] and not restart:
        return False
    dep["image"], dep["env"] = new_image, dict(new_env)
    dep["revision"] = max(h["revision"] for h in dep["history"]) + 1
    dep["history"].append({"revision": dep["revision"], "image": new_image, "env": dict(new_env)})
    roll(state, name)
    return True


def undo(state: dict, name: str, to_revision: int | None = None) -> str | None:
    """Back to an earlier revision's template (it becomes the newest revision, as kubectl does);
    None when there is none to go back to."""
    dep = state["deployments"][name]
    history = sorted(dep["history"], key=lambda h: h["revision"])
    if to_revision is None:
        if len(history) < 2:
            return None
        target = history[-2]
    else:
        matches = [h for h in history if h["revision"] == to_revision]
        if not matches:
            return None
        target = matches[0]
    dep["history"] = [h for h in history if h["revision"] != target["revision"]]
    dep["image"], dep["env"] = target["image"], dict(target["env"])
    dep["revision"] = history[-1]["revision"] + 1
    dep["history"].append({"revision": dep["revision"], "image": dep["image"], "env": dict(dep["env"])})
    roll(state, name)
    return dep["image"]


def roll(state: dict, name: str) -> None:
    """New pods (or a compose service's new container) for the current template: they serve it if its
    image can be pulled and starts. A failing rolling update leaves the old pods serving; compose
    replaces the container whatever happens, so a crashing image takes the service down."""
    dep = state["deployments"][name]
    compose = dep.get("runtime") == "compose"
    ref = normalize_image(dep["image"])
    meta = (state["local_images"] if compose else state["registry"]).get(ref) if ref else None
    if ref is None:
        dep["rollout"] = {"state": "failed", "reason": f"InvalidImageName: {dep['image']}"}
    elif meta is None:
        dep["rollout"] = {"state": "failed",
                          "reason": f"ImagePullBackOff: manifest for {ref} not found: manifest unknown"}
    elif meta["crash"] and not compose:
        dep["rollout"] = {"state": "failed", "reason": f"CrashLoopBackOff: {ref} exits at start (code 1)"}
    else:
        dep["serving"] = {**meta, "image": ref, "env": dict(dep["env"]), "revision": dep["revision"],
                          "since": time.time()}
        dep["rollout"] = ({"state": "failed", "reason": f"container exited (1): {ref} crashes at start"}
                          if meta["crash"] else {"state": "complete", "reason": ""})
        for line in [] if meta["crash"] else dep["banner"]:
            log(state, name, line.format(app=name, version=meta["version"], sha=meta["sha"],
                                         short_sha=meta["sha"][:7], image=ref, revision=dep["revision"]))


def log(state: dict, name: str, line: str) -> None:
    dep = state["deployments"][name]
    serving = dep.get("serving") or {}
    dep["log"].append([time.time(), serving.get("revision", 0), line])
    del dep["log"][:-LOG_KEEP]


def valid_env_name(name: str) -> bool:
    return bool(_ENV_NAME.fullmatch(name))


# -- flags --------------------------------------------------------------------------------------

def effective_flags(state: dict) -> dict[str, bool]:
    """What the app does: the flag store (flags_in = api) or the serving pods' env (flags_in = env)."""
    if state["flags_in"] == "api":
        return {f: bool(state["flag_store"].get(f, False)) for f in state["flags"]}
    env = (state["deployments"][state["app"]].get("serving") or {}).get("env", {})
    return {f: env.get(f, "").strip().lower() in TRUE_VALUES for f in state["flags"]}


# -- small things the fakes share ------------------------------------------------------------------

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")


def parse_duration(text: str) -> float | None:
    """kubectl's durations (`90s`, `5m`, `1h30m`, a bare number of seconds); None if malformed."""
    if re.fullmatch(r"\d+", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(a + b for a, b in parts) != text:
        return None
    unit = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(a) * unit[b] for a, b in parts)


def age(seconds: float) -> str:
    """kubectl's AGE column."""
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    m, s = divmod(s, 60)
    if m < 10:
        return f"{m}m{s}s" if s else f"{m}m"
    h, m = divmod(m, 60)
    if h < 3:
        return f"{h * 60 + m}m"
    if h < 8:
        return f"{h}h{m}m" if m else f"{h}h"
    return f"{h}h" if h < 48 else f"{h // 24}d"


def record_call(calls: str | Path, tool: str, argv: list[str], code: int, did: str) -> None:
    """One line of the calls log: what a fake was asked and what it did."""
    entry = {"tool": tool, "argv": argv, "exit": code, "did": did, "cwd": os.getcwd(), "at": time.time()}
    with open(calls, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(json.dumps(entry) + "\n")
