"""TEST DOUBLE for kubectl: no Kubernetes cluster can run here, so this stands in for kubectl and the
cluster together. It changes the shop's state file (tests/seeds/fakes/shopstate.py) the way the
real cluster would change the real service: a new image is served only when it can be pulled and
starts, env changes roll new pods, an undo returns the previous pod template (env included).

Supported (anything else fails with kubectl's kind of error, exit 1):
    kubectl [-n NS] set image deployment/NAME CONTAINER=IMAGE [CONTAINER=IMAGE …]   (or *=IMAGE)
    kubectl [-n NS] set env deployment/NAME KEY=VALUE … | KEY- …    (-c CONTAINER, --overwrite)
    kubectl [-n NS] set env deployment/NAME --list
    kubectl [-n NS] rollout status deployment/NAME [--timeout=90s] [-w] [--watch=false]
    kubectl [-n NS] rollout undo deployment/NAME [--to-revision=N]
    kubectl [-n NS] rollout restart deployment/NAME
    kubectl [-n NS] rollout history deployment/NAME
    kubectl [-n NS] get deployments|deployment|deploy [NAME] [-o json|name|wide|jsonpath=…] [--no-headers]
    kubectl [-n NS] get pods|pod|po [-l app=NAME] [-o json|name|wide|jsonpath=…] [--no-headers]
    kubectl [-n NS] logs deployment/NAME|POD [--since=1h] [--tail=N] [--timestamps] [-f]
    kubectl [-n NS] exec deployment/NAME|POD [-c C] [-i] [-t] -- COMMAND [ARG …]
`deployment/NAME` may also be written deploy/NAME, deployments/NAME, deployment.apps/NAME or
`deployment NAME`. A rollout is immediate (no pods to wait for): `rollout status` answers at once,
and a rollout that cannot finish fails at once with the reason a real one would time out on.
`logs -f` follows the log until it is killed, as the real one does. `exec` runs the command in
the app's directory with the serving pods' environment.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timezone

import shopstate
from fakecli import Fail, main, one, parse

GLOBAL = {"-n": True, "--namespace": True, "--request-timeout": True}
_DEPLOY_KINDS = ("deployment", "deployments", "deploy", "deployment.apps", "deployments.apps")


def unknown(flag: str) -> Fail:
    return Fail(f"error: unknown flag: {flag}\nSee 'kubectl --help' for usage.")


def not_found(name: str) -> Fail:
    return Fail(f'Error from server (NotFound): deployments.apps "{name}" not found')


def options(args: list[str], spec: dict[str, bool], stop_at_dashdash: bool = False):
    return parse(args, {**GLOBAL, **spec}, unknown=unknown, stop_at_dashdash=stop_at_dashdash)


def namespace(state: dict, opts: dict) -> str:
    return one(opts, "-n", "--namespace", default=state["namespace"])  # type: ignore[return-value]


def deployment_named(state: dict, operands: list[str], ns: str, *, pods: bool = False) -> tuple[str, list[str]]:
    """The deployment the operands name (TYPE/NAME, TYPE NAME, or with `pods` a pod's name), and the
    operands left after it."""
    if not operands:
        raise Fail("error: required resource not specified")
    first, rest = operands[0], operands[1:]
    kind, slash, name = first.partition("/")
    if not slash:
        if first in _DEPLOY_KINDS and rest:
            kind, name, rest = first, rest[0], rest[1:]
        elif pods:
            return pod_owner(state, first, ns), rest
        else:
            raise Fail(f'error: the server doesn\'t have a resource type "{first}"')
    if kind in ("pod", "pods", "po") and pods:
        return pod_owner(state, name, ns), rest
    if kind not in _DEPLOY_KINDS:
        raise Fail(f'error: the server doesn\'t have a resource type "{kind}"')
    dep = state["deployments"].get(name)
    if dep is None or dep["namespace"] != ns:
        raise not_found(name)
    return name, rest


def pod_names(name: str, dep: dict) -> list[tuple[str, int, str]]:
    """(pod, revision, status) of the deployment's pods: the serving ReplicaSet's, and a failing new one."""
    out = []
    serving = dep.get("serving")
    if serving:
        for i in range(dep["replicas"]):
            out.append((_pod(name, serving["revision"], i), serving["revision"], "Running"))
    if dep["rollout"]["state"] == "failed":
        out.append((_pod(name, dep["revision"], 0), dep["revision"], dep["rollout"]["reason"].split(":")[0]))
    return out


def _pod(name: str, revision: int, i: int) -> str:
    h = hashlib.sha1(f"{name}:{revision}".encode()).hexdigest()
    return f"{name}-{h[:10]}-{hashlib.sha1(f'{h}:{i}'.encode()).hexdigest()[:5]}"


def pod_owner(state: dict, pod: str, ns: str) -> str:
    for name, dep in state["deployments"].items():
        if dep["namespace"] == ns and any(p == pod for p, _, _ in pod_names(name, dep)):
            return name
    raise Fail(f'Error from server (NotFound): pods "{pod}" not found')


# -- set ------------------------------------------------------------------------------------------

def cmd_set(args: list[str], path: str) -> tuple[int, str]:
    if not args or args[0] not in ("image", "env"):
        raise Fail(f'error: unknown command "{args[0] if args else ""}" for "kubectl set"')
    what, args = args[0], args[1:]
    spec = {"--list": False, "--overwrite": False, "-c": True, "--containers": True} if what == "env" else {}
    opts, operands, _ = options(args, spec)
    with shopstate.update(path) as state:
        name, pairs = deployment_named(state, operands, namespace(state, opts))
        dep = state["deployments"][name]
        if what == "image":
            return set_image(state, name, dep, pairs)
        container = one(opts, "-c", "--containers")
        if container is not None and container not in (dep["container"], "*"):
            raise Fail(f'warning: deployments/{name} does not have any containers matching "{container}"', 1)
        if "--list" in opts:
            if pairs:
                raise Fail("error: --list and KEY=VALUE arguments cannot be combined")
            print(f"# deployments/{name}, container {dep['container']}")
            for k, v in dep["env"].items():
                print(f"{k}={v}")
            return 0, f"listed the env of deployment/{name}"
        return set_env(state, name, dep, pairs)


def set_image(state: dict, name: str, dep: dict, pairs: list[str]) -> tuple[int, str]:
    if not pairs:
        raise Fail("error: at least one image update is required")
    new = None
    for pair in pairs:
        container, eq, ref = pair.partition("=")
        if not eq or not ref:
            raise Fail(f"error: invalid image update: {pair!r} (expected CONTAINER=IMAGE)")
        if container not in (dep["container"], "*"):
            raise Fail(f'error: unable to find container named "{container}"')
        new = ref
    shopstate.change_template(state, name, image_ref=new)
    print(f"deployment.apps/{name} image updated")
    return 0, f"set image of deployment/{name} to {new}"


def set_env(state: dict, name: str, dep: dict, pairs: list[str]) -> tuple[int, str]:
    if not pairs:
        raise Fail("error: at least one environment variable must be provided")
    env = dict(dep["env"])
    for pair in pairs:
        if pair.endswith("-") and "=" not in pair:
            env.pop(pair[:-1], None)
            continue
        key, eq, value = pair.partition("=")
        if not eq or not shopstate.valid_env_name(key):
            raise Fail(f"error: invalid env: {pair!r} (expected KEY=VALUE or KEY-)")
        env[key] = value
    shopstate.change_template(state, name, env=env)
    print(f"deployment.apps/{name} env updated")
    return 0, f"set env of deployment/{name}: {' '.join(pairs)}"


# -- rollout --------------------------------------------------------------------------------------

def cmd_rollout(args: list[str], path: str) -> tuple[int, str]:
    actions = {"status": {"--timeout": True, "-w": False, "--watch": False, "--revision": True},
               "undo": {"--to-revision": True}, "restart": {}, "history": {"--revision": True}}
    if not args or args[0] not in actions:
        raise Fail(f'error: unknown command "{args[0] if args else ""}" for "kubectl rollout"')
    action = args[0]
    opts, operands, _ = options(args[1:], actions[action])
    timeout = one(opts, "--timeout")
    if timeout is not None and shopstate.parse_duration(timeout) is None:
        raise Fail(f'error: invalid argument "{timeout}" for "--timeout" flag: time: invalid duration "{timeout}"')
    with shopstate.update(path) as state:
        name, rest = deployment_named(state, operands, namespace(state, opts))
        if rest:
            raise Fail(f"error: unexpected arguments: {' '.join(rest)}")
        dep = state["deployments"][name]
        if action == "status":
            if dep["rollout"]["state"] == "complete":
                print(f'deployment "{name}" successfully rolled out')
                return 0, f"rollout of deployment/{name} complete"
            print(f'Waiting for deployment "{name}" rollout to finish: 0 of {dep["replicas"]} updated replicas '
                  "are available...")
            raise Fail(f'error: deployment "{name}" exceeded its progress deadline ({dep["rollout"]["reason"]})')
        if action == "restart":
            shopstate.change_template(state, name, restart=True)
            print(f"deployment.apps/{name} restarted")
            return 0, f"restarted deployment/{name}"
        if action == "history":
            print(f"deployment.apps/{name} \nREVISION  CHANGE-CAUSE")
            for h in sorted(dep["history"], key=lambda h: h["revision"]):
                print(f"{h['revision']:<9} <none>")
            return 0, f"history of deployment/{name}"
        to = one(opts, "--to-revision")
        if to is not None and not to.isdigit():
            raise Fail(f'error: invalid argument "{to}" for "--to-revision" flag')
        image = shopstate.undo(state, name, int(to) if to else None)
        if image is None:
            raise Fail(f"error: unable to find specified revision {to} in history" if to
                       else f'error: no rollout history found for deployment "{name}"')
        print(f"deployment.apps/{name} rolled back")
        return 0, f"rolled back deployment/{name} to {image}"


# -- get ------------------------------------------------------------------------------------------

def cmd_get(args: list[str], path: str) -> tuple[int, str]:
    opts, operands, _ = options(args, {"-o": True, "--output": True, "--no-headers": False, "-l": True,
                                       "--selector": True})
    if not operands:
        raise Fail("You must specify the type of resource to get.")
    kind, _, named = operands[0].partition("/")
    names = ([named] if named else []) + operands[1:]
    state = shopstate.read(path)
    ns = namespace(state, opts)
    fmt = one(opts, "-o", "--output", default="")
    if kind in _DEPLOY_KINDS:
        objs = [deployment_json(n, d) for n, d in state["deployments"].items() if d["namespace"] == ns]
        for n in names:
            if n not in [o["metadata"]["name"] for o in objs]:
                raise not_found(n)
        objs = [o for o in objs if not names or o["metadata"]["name"] in names]
        rows = [deployment_row(state["deployments"][o["metadata"]["name"]], o["metadata"]["name"]) for o in objs]
        header = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
        wide = ["CONTAINERS", "IMAGES", "SELECTOR"]
    elif kind in ("pods", "pod", "po"):
        selector = one(opts, "-l", "--selector")
        app = None
        if selector is not None:
            m = re.fullmatch(r"app=([\w.-]+)", selector)
            if not m:
                raise Fail(f"error: test double: selector {selector!r} is not supported (only app=NAME)")
            app = m.group(1)
        objs, rows = [], []
        for n, d in state["deployments"].items():
            if d["namespace"] != ns or (app is not None and app != n):
                continue
            for pod, rev, status in pod_names(n, d):
                if names and pod not in names:
                    continue
                objs.append(pod_json(n, d, pod, rev, status))
                rows.append(pod_row(d, pod, rev, status))
        missing = [n for n in names if n not in [o["metadata"]["name"] for o in objs]]
        if missing:
            raise Fail(f'Error from server (NotFound): pods "{missing[0]}" not found')
        header = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
        wide = ["IP", "NODE"]
    else:
        raise Fail(f'error: the server doesn\'t have a resource type "{kind}"')
    print_objects(objs, rows, header, wide, fmt, "--no-headers" in opts, single=bool(names) and len(objs) == 1)
    return 0, f"get {kind} {' '.join(names)}".rstrip()


def deployment_json(name: str, dep: dict) -> dict:
    serving = dep.get("serving")
    ready = dep["replicas"] if serving else 0
    updated = ready if dep["rollout"]["state"] == "complete" else 0
    conditions = [{"type": "Progressing", "status": "True" if updated else "False",
                   "reason": "NewReplicaSetAvailable" if updated else "ProgressDeadlineExceeded",
                   "message": dep["rollout"]["reason"]}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": dep["namespace"], "generation": dep["revision"],
                         "annotations": {"deployment.kubernetes.io/revision": str(dep["revision"])},
                         "labels": {"app": name}},
            "spec": {"replicas": dep["replicas"], "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": dep["container"], "image": dep["image"],
                                                           "env": [{"name": k, "value": v}
                                                                   for k, v in dep["env"].items()]}]}}},
            "status": {"observedGeneration": dep["revision"], "replicas": dep["replicas"],
                       "readyReplicas": ready, "availableReplicas": ready, "updatedReplicas": updated,
                       "conditions": conditions}}


def deployment_row(dep: dict, name: str) -> list[str]:
    serving = dep.get("serving")
    ready = dep["replicas"] if serving else 0
    updated = ready if dep["rollout"]["state"] == "complete" else 1
    since = serving["since"] if serving else time.time()
    return [name, f"{ready}/{dep['replicas']}", str(updated), str(ready), shopstate.age(time.time() - since),
            dep["container"], dep["image"], f"app={name}"]


def pod_json(name: str, dep: dict, pod: str, rev: int, status: str) -> dict:
    running = status == "Running"
    image = dep["serving"]["image"] if running else dep["image"]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": pod, "namespace": dep["namespace"], "labels": {"app": name,
                                                                                "pod-template-revision": str(rev)}},
            "spec": {"containers": [{"name": dep["container"], "image": image}]},
            "status": {"phase": "Running" if running else "Pending",
                       "containerStatuses": [{"name": dep["container"], "image": image, "ready": running,
                                              "restartCount": 4 if status == "CrashLoopBackOff" else 0}]}}


def pod_row(dep: dict, pod: str, rev: int, status: str) -> list[str]:
    if status == "Running":
        return [pod, "1/1", "Running", "0", shopstate.age(time.time() - dep["serving"]["since"]), "10.0.0.10",
                "node-1"]
    restarts = "4 (20s ago)" if status == "CrashLoopBackOff" else "0"
    return [pod, "0/1", status, restarts, "2m", "10.0.0.11", "node-1"]


def print_objects(objs: list[dict], rows: list[list[str]], header: list[str], wide: list[str], fmt: str,
                  no_headers: bool, single: bool) -> None:
    if fmt == "json":
        doc = objs[0] if single else {"apiVersion": "v1", "kind": "List", "items": objs}
        print(json.dumps(doc, indent=4))
    elif fmt.startswith("jsonpath="):
        doc = objs[0] if single else {"apiVersion": "v1", "kind": "List", "items": objs}
        sys.stdout.write(jsonpath(fmt.removeprefix("jsonpath="), doc))
    elif fmt == "name":
        for o in objs:
            print(("deployment.apps/" if o["kind"] == "Deployment" else "pod/") + o["metadata"]["name"])
    elif fmt in ("", "wide"):
        if not objs:
            print("No resources found in this namespace.", file=sys.stderr)
            return
        cols = header + (wide if fmt == "wide" else [])
        table = ([] if no_headers else [cols]) + [r[:len(cols)] for r in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
        for r in table:
            print("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    else:
        raise Fail(f"error: test double: output format {fmt!r} is not supported (json, name, wide, jsonpath=)")


_STEP = re.compile(r"\.([A-Za-z0-9_\-/]+)|\[(\d+|\*)\]|\['([^']+)'\]")


def jsonpath(template: str, doc: dict) -> str:
    """kubectl's jsonpath for what scripts use: literal text and {.a.b[0].c} / {.items[*].x}."""
    out = []
    for literal, expr in re.findall(r"([^{]*)(?:\{([^}]*)\})?", template):
        out.append(literal)
        if not expr:
            continue
        pos, values = 0, [doc]
        while pos < len(expr):
            m = _STEP.match(expr, pos)
            if not m:
                raise Fail(f"error: error parsing jsonpath {{{expr}}}: test double supports .field, [n], [*] only")
            key, index, quoted = m.groups()
            nxt = []
            for v in values:
                if key or quoted:
                    if isinstance(v, dict) and (key or quoted) in v:
                        nxt.append(v[key or quoted])
                elif isinstance(v, list):
                    nxt.extend(v if index == "*" else v[int(index):int(index) + 1])
            values, pos = nxt, m.end()
            if not values:
                raise Fail(f"error: error executing jsonpath \"{{{expr}}}\": {expr} is not found")
        out.append(" ".join(v if isinstance(v, str) else json.dumps(v) for v in values))
    return "".join(out)


# -- logs and exec ----------------------------------------------------------------------------------

def cmd_logs(args: list[str], path: str) -> tuple[int, str]:
    opts, operands, _ = options(args, {"--since": True, "--tail": True, "--timestamps": False, "-f": False,
                                       "--follow": False, "-c": True, "--container": True})
    state = shopstate.read(path)
    name, rest = deployment_named(state, operands, namespace(state, opts), pods=True)
    if rest:
        raise Fail(f"error: unexpected arguments: {' '.join(rest)}")
    since = one(opts, "--since")
    window = shopstate.parse_duration(since) if since is not None else None
    if since is not None and window is None:
        raise Fail(f'error: invalid argument "{since}" for "--since" flag: time: invalid duration "{since}"')
    tail = one(opts, "--tail")
    if tail is not None and not re.fullmatch(r"-?\d+", tail):
        raise Fail(f'error: invalid argument "{tail}" for "--tail" flag')
    dep = state["deployments"][name]
    if not dep.get("serving"):
        raise Fail(f'error: no running pods for deployment "{name}"')
    revision = dep["serving"]["revision"]
    lines = [(t, line) for t, rev, line in dep["log"] if rev == revision
             and (window is None or t >= time.time() - window)]
    if tail is not None and int(tail) >= 0:
        lines = lines[len(lines) - int(tail):] if int(tail) else []
    stamps = "--timestamps" in opts
    for t, line in lines:
        print(_line(t, line, stamps))
    seen = len(dep["log"])
    while "-f" in opts or "--follow" in opts:   # the real one follows until it is stopped
        sys.stdout.flush()
        time.sleep(0.2)
        log = shopstate.read(path)["deployments"][name]["log"]
        for t, rev, line in log[seen:]:
            if rev == revision:
                print(_line(t, line, stamps))
        seen = len(log)
    return 0, f"logs of deployment/{name} ({len(lines)} lines)"


def _line(t: float, line: str, stamps: bool) -> str:
    if not stamps:
        return line
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ") + " " + line


def cmd_exec(args: list[str], path: str) -> tuple[int, str]:
    opts, operands, command = options(args, {"-c": True, "--container": True, "-i": False, "--stdin": False,
                                             "-t": False, "--tty": False, "-it": False, "-ti": False},
                                      stop_at_dashdash=True)
    if not command:
        raise Fail("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
    state = shopstate.read(path)
    name, rest = deployment_named(state, operands, namespace(state, opts), pods=True)
    if rest:
        raise Fail("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead")
    serving = state["deployments"][name].get("serving")
    if not serving:
        raise Fail(f'error: unable to upgrade connection: no running pod for deployment "{name}"')
    sys.stdout.flush()
    try:
        code = subprocess.run(command, cwd=state["app_dir"], env={**os.environ, **serving["env"]}).returncode
    except FileNotFoundError:
        print(f'OCI runtime exec failed: exec: "{command[0]}": executable file not found in $PATH', file=sys.stderr)
        code = 126
    if code:
        print(f"command terminated with exit code {code}", file=sys.stderr)
    return code, f"exec in deployment/{name}: {' '.join(command)}"


COMMANDS = {"set": cmd_set, "rollout": cmd_rollout, "get": cmd_get, "logs": cmd_logs, "exec": cmd_exec}


def handle(argv: list[str], path: str) -> tuple[int, str]:
    # Global flags may come before the command, as in `kubectl -n shop get pods`.
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        flag, eq, _ = argv[i].partition("=")
        if flag not in GLOBAL and flag[:2] not in GLOBAL:
            raise unknown(flag)
        separate = not eq and flag in GLOBAL   # `-n shop`, not `-n=shop` or `-nshop`
        i += 2 if separate else 1
    if i >= len(argv):
        raise Fail("error: a command is required (test double: set, rollout, get, logs, exec)")
    command = argv[i]
    if command not in COMMANDS:
        raise Fail(f'error: unknown command "{command}" for "kubectl"\n'
                   "(test double: set, rollout, get, logs and exec are supported)")
    lead, rest = argv[:i], argv[i + 1:]
    # set/rollout read their sub-command first; exec's options must stay before its `--`
    return COMMANDS[command](lead + rest if command == "exec" else rest + lead, path)

if __name__ == "__main__":
    main("kubectl", handle)
