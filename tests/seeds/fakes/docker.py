"""TEST DOUBLE for docker (and `docker compose`): no Docker daemon or registry can run here. Images
are entries in the shop's state file (tests/seeds/fakes/shopstate.py): what an image holds is read
from its build context the way the real image would contain it — its VERSION file, the commit it was
built from (--build-arg GIT_SHA=…, else the context's git HEAD), the highest migration in
migrations/ it needs, and whether it starts (a context with app/BROKEN builds an image that crashes).

Supported (anything else fails like docker does: unknown command exit 1, unknown flag exit 125):
    docker build -t REPO[:TAG] [-t …] [-f Dockerfile] [--build-arg K=V …] [--label K=V] [-q] [--pull]
                 [--no-cache] [--platform P] CONTEXT          (needs CONTEXT/Dockerfile or -f)
    docker tag SOURCE[:TAG] TARGET[:TAG]
    docker push REPO[:TAG]                                    (must exist locally)
    docker pull REPO[:TAG]                                    (must be in the registry)
    docker images | docker image ls
    docker compose [-f FILE …] [-p NAME] [--env-file F] up [-d] [--no-deps] [--pull always|missing|never]
                   [--wait] [SERVICE …]
    docker compose [-f FILE …] [-p NAME] pull [SERVICE …] | ps
A compose service is a deployment of the shop's state (created on its first `up`); only
`services.<name>.image` of the compose file is read, with ${VAR}, ${VAR:-default}, ${VAR:?error}
interpolated from the environment and the project's .env. A service whose new image crashes is
replaced anyway (compose has no rolling update): it stops answering until an image that starts is up.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import shopstate
from fakecli import Fail, main, one, parse


def unknown_for(command: str):
    return lambda flag: Fail(f"unknown flag: {flag}\nSee 'docker {command} --help'.", 125)


def ref_or_fail(ref: str, what: str = "reference") -> str:
    norm = shopstate.normalize_image(ref)
    if norm is None:
        raise Fail(f'invalid argument "{ref}" for {what}: invalid reference format', 125 if what != "reference" else 1)
    return norm


# -- images -----------------------------------------------------------------------------------------

def cmd_build(args: list[str], path: str) -> tuple[int, str]:
    opts, operands, _ = parse(args, {"-t": True, "--tag": True, "-f": True, "--file": True, "--build-arg": True,
                                     "--label": True, "-q": False, "--quiet": False, "--pull": False,
                                     "--no-cache": False, "--platform": True}, unknown=unknown_for("build"))
    if len(operands) != 1:
        raise Fail('"docker build" requires exactly 1 argument.\nSee \'docker build --help\'.', 1)
    context = Path(operands[0])
    if not context.is_dir():
        raise Fail(f'unable to prepare context: path "{operands[0]}" not found', 1)
    dockerfile = Path(one(opts, "-f", "--file") or context / "Dockerfile")
    if not dockerfile.is_file():
        raise Fail(f"failed to solve: failed to read dockerfile: open {dockerfile}: no such file or directory", 1)
    tags = [ref_or_fail(t, '"-t, --tag" flag') for t in opts.get("-t", []) + opts.get("--tag", [])]
    args_ = dict(a.partition("=")[::2] for a in opts.get("--build-arg", []))
    meta = shopstate.image(version=_read(context / "VERSION") or "unknown", sha=args_.get("GIT_SHA") or _head(context),
                           requires_schema=_schema(context), crash=(context / "app" / "BROKEN").exists())
    with shopstate.update(path) as state:
        for t in tags:
            state["local_images"][t] = meta
    if "-q" not in opts and "--quiet" not in opts:
        print(f"#1 [internal] load build definition from {dockerfile.name}")
        print(f"#2 [internal] load build context ({context})")
        print(f"#3 exporting to image: writing image {meta['digest']}")
        for t in tags:
            print(f"#3 naming to {t} done")
    else:
        print(meta["digest"])
    return 0, f"built {', '.join(tags) or meta['digest']} (version {meta['version']}, sha {meta['sha'][:7]})"


def _read(p: Path) -> str:
    return p.read_text(encoding="utf-8").strip() if p.is_file() else ""


def _head(context: Path) -> str:
    out = subprocess.run(["git", "-C", str(context), "rev-parse", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def _schema(context: Path) -> int:
    found = [int(m.group(1)) for p in (context / "migrations").glob("*.up.sql")
             if (m := re.match(r"(\d+)_", p.name))]
    return max(found, default=0)


def cmd_tag(args: list[str], path: str) -> tuple[int, str]:
    _, operands, _ = parse(args, {}, unknown=unknown_for("tag"))
    if len(operands) != 2:
        raise Fail('"docker tag" requires exactly 2 arguments.\nSee \'docker tag --help\'.', 1)
    src, dst = ref_or_fail(operands[0]), ref_or_fail(operands[1])
    with shopstate.update(path) as state:
        if src not in state["local_images"]:
            raise Fail(f"Error response from daemon: No such image: {src}")
        state["local_images"][dst] = state["local_images"][src]
    return 0, f"tagged {src} as {dst}"


def cmd_push(args: list[str], path: str) -> tuple[int, str]:
    _, operands, _ = parse(args, {"-q": False, "--quiet": False}, unknown=unknown_for("push"))
    if len(operands) != 1:
        raise Fail('"docker push" requires exactly 1 argument.\nSee \'docker push --help\'.', 1)
    ref = ref_or_fail(operands[0])
    with shopstate.update(path) as state:
        meta = state["local_images"].get(ref)
        if meta is None:
            raise Fail(f"An image does not exist locally with the tag: {ref.rsplit(':', 1)[0]}")
        state["registry"][ref] = meta
    repo, tag = ref.rsplit(":", 1)
    print(f"The push refers to repository [{repo}]")
    print(f"{tag}: digest: {meta['digest']} size: 1570")
    return 0, f"pushed {ref}"


def cmd_pull(args: list[str], path: str) -> tuple[int, str]:
    _, operands, _ = parse(args, {"-q": False, "--quiet": False, "--platform": True}, unknown=unknown_for("pull"))
    if len(operands) != 1:
        raise Fail('"docker pull" requires exactly 1 argument.\nSee \'docker pull --help\'.', 1)
    ref = ref_or_fail(operands[0])
    with shopstate.update(path) as state:
        meta = pull(state, ref)
    repo, tag = ref.rsplit(":", 1)
    print(f"{tag}: Pulling from {repo}\nDigest: {meta['digest']}\nStatus: Downloaded newer image for {ref}\n{ref}")
    return 0, f"pulled {ref}"


def pull(state: dict, ref: str) -> dict:
    meta = state["registry"].get(ref)
    if meta is None:
        raise Fail(f"Error response from daemon: manifest for {ref} not found: manifest unknown: manifest unknown")
    state["local_images"][ref] = meta
    return meta


def cmd_images(args: list[str], path: str) -> tuple[int, str]:
    parse(args, {"-q": False, "--quiet": False}, unknown=unknown_for("images"))
    state = shopstate.read(path)
    print(f"{'REPOSITORY':<40} {'TAG':<20} {'IMAGE ID':<14} SIZE")
    for ref, meta in sorted(state["local_images"].items()):
        repo, tag = ref.rsplit(":", 1)
        print(f"{repo:<40} {tag:<20} {meta['digest'][7:19]:<14} 152MB")
    return 0, "listed images"


# -- compose ----------------------------------------------------------------------------------------

def compose_images(file: Path, env: dict[str, str]) -> dict[str, str]:
    """services.<name>.image of a compose file (the only part read), interpolated."""
    if not file.is_file():
        raise Fail(f"open {file}: no such file or directory", 14)
    services: dict[str, str] = {}
    section = service = None
    service_indent = None
    for n, raw in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        if "\t" in raw[:len(raw) - len(raw.lstrip())]:
            raise Fail(f"yaml: line {n}: found a tab character that violates indentation", 15)
        indent = len(raw) - len(raw.lstrip())
        key, colon, value = raw.strip().partition(":")
        if not colon:
            continue
        value = value.strip().strip("'\"")
        if indent == 0:
            section, service = key, None
            continue
        if section != "services":
            continue
        if service_indent is None or indent == service_indent:
            service_indent, service = indent, key
        elif key == "image" and service is not None:
            services[service] = interpolate(value, env)
    return services


def interpolate(text: str, env: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group(1) or m.group(4), m.group(2), m.group(3)
        value = env.get(name)
        if op in (":-", "-") and (value is None or (op == ":-" and value == "")):
            return arg or ""
        if op in (":?", "?") and not value:
            raise Fail(f'error while interpolating: required variable {name} is missing a value: {arg}', 15)
        if value is None:
            print(f'WARN[0000] The "{name}" variable is not set. Defaulting to a blank string.', file=sys.stderr)
            return ""
        return value

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, text)


def cmd_compose(args: list[str], path: str) -> tuple[int, str]:
    opts, operands, _ = parse(args, {"-f": True, "--file": True, "-p": True, "--project-name": True,
                                     "--env-file": True, "-d": False, "--detach": False, "--no-deps": False,
                                     "--pull": True, "--wait": False, "--wait-timeout": True},
                              unknown=unknown_for("compose"))
    if not operands or operands[0] not in ("up", "pull", "ps"):
        raise Fail(f"unknown docker command: \"compose {operands[0] if operands else ''}\"\n"
                   "(test double: compose up, pull and ps are supported)", 1)
    action, wanted = operands[0], operands[1:]
    files = opts.get("-f", []) + opts.get("--file", [])
    cwd = Path.cwd()
    file = (cwd / files[-1]).resolve() if files else next((cwd / n for n in ("compose.yaml", "compose.yml", "docker-compose.yml",
                                                                   "docker-compose.yaml") if (cwd / n).is_file()), None)
    if file is None:
        raise Fail("no configuration file provided: not found", 14)
    env = {**_dotenv(Path(one(opts, "--env-file") or file.parent / ".env")), **os.environ}
    images = compose_images(file, env)
    for s in wanted:
        if s not in images:
            raise Fail(f"no such service: {s}", 1)
    selected = wanted or list(images)
    project = one(opts, "-p", "--project-name") or file.parent.name
    pull_policy = one(opts, "--pull", default="missing")
    if pull_policy not in ("always", "missing", "never"):
        raise Fail(f'invalid --pull option "{pull_policy}"', 1)
    with shopstate.update(path) as state:
        if action == "ps":
            print(f"{'NAME':<30} {'IMAGE':<45} {'SERVICE':<12} STATUS")
            for s in images:
                dep = state["deployments"].get(s)
                if dep and dep.get("runtime") == "compose":
                    up = dep.get("serving") or {}
                    status = "Restarting (1) 3 seconds ago" if up.get("crash") else \
                        f"Up {shopstate.age(time.time() - up.get('since', time.time()))}"
                    print(f"{project + '-' + s + '-1':<30} {dep['image']:<45} {s:<12} {status}")
            return 0, "compose ps"
        refs = {}
        for s in selected:
            ref = shopstate.normalize_image(images[s])
            if ref is None:
                raise Fail(f"invalid reference format: {images[s]!r} (service {s})", 1)
            refs[s] = ref
            if action == "pull" or pull_policy == "always" or (pull_policy == "missing" and ref not in state["local_images"]):
                print(f" {s} Pulling")
                pull(state, ref)
            elif ref not in state["local_images"]:
                raise Fail(f"Error response from daemon: No such image: {ref}")
        if action == "pull":
            return 0, f"compose pull {' '.join(selected)}"
        for s, ref in refs.items():
            if s not in state["deployments"]:
                state["deployments"][s] = {**shopstate.deployment(ref, namespace=state["namespace"], container=s,
                                                                  env={}, replicas=1), "runtime": "compose"}
                shopstate.roll(state, s)
                verb = "Created"
            else:
                verb = "Recreated" if shopstate.change_template(state, s, image_ref=ref) else "Running"
            print(f" Container {project}-{s}-1  {verb}")
        broken = [s for s in refs if (state["deployments"][s].get("serving") or {}).get("crash")]
    if broken and "--wait" in opts:
        raise Fail(f"container {project}-{broken[0]}-1 is unhealthy", 1)
    return 0, "compose up " + " ".join(f"{s}={r}" for s, r in refs.items())


def _dotenv(p: Path) -> dict[str, str]:
    if not p.is_file():
        return {}
    out = {}
    for line in p.read_text(encoding="utf-8").splitlines():
        k, eq, v = line.strip().partition("=")
        if eq and not k.startswith("#"):
            out[k.strip()] = v.strip().strip("'\"")
    return out


COMMANDS = {"build": cmd_build, "tag": cmd_tag, "push": cmd_push, "pull": cmd_pull, "images": cmd_images,
            "compose": cmd_compose}


def handle(argv: list[str], path: str) -> tuple[int, str]:
    if argv[:2] == ["image", "ls"]:
        argv = ["images", *argv[2:]]
    if not argv or argv[0] not in COMMANDS:
        raise Fail(f"docker: '{argv[0] if argv else ''}' is not a docker command.\nSee 'docker --help'\n"
                   "(test double: build, tag, push, pull, images and compose up/pull/ps are supported)")
    return COMMANDS[argv[0]](argv[1:], path)


if __name__ == "__main__":
    main("docker", handle)
