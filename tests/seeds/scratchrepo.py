"""The shop's repository: a real git checkout with a bare origin, the way a team's project looks.

    origin.git                  bare "origin"
    shop/                       the clone; main = v1.0.0 (known good, deployed) -> 1.1.0 (head = origin/main)
                                plus origin/feature/web-header-profile-menu, never merged (seed 003)
      VERSION, Dockerfile       what `docker build` reads (fakes/docker.py)
      deploy.env                APP, IMAGE, NAMESPACE: where the deploy script ships to
      migrations/NNNN_*.sql     up and down; 1.0.0 needs 0002, 1.1.0 adds 0003 (additive)
      scripts/migrate.sh        status | up [V] | down [N] | dry-run [--fail-on-destructive] (real psql)
      scripts/deploy-prod-from-ref.sh <ref> [dir]   build, push, set image, wait (seed 003's script)
      scripts/smoke.sh <url> [--summary F] [--junit F]   curl /health, /version, /api/products/
      scripts/loadtest.py <url> [--rps 100] [--duration 3] [--out F] [--max-p95-ms] [--min-rps]
                                paced GETs, a k6-shaped summary (seed 004's load test)
      package.json              npm run migrate:dry-run | migrate | smoke (seed 000's and 003's npm)
      backups/                  where dumps go (ignored by git)
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

FEATURE_BRANCH = "feature/web-header-profile-menu"
KNOWN_GOOD_TAG = "v1.0.0"
IDENTITY = {"GIT_AUTHOR_NAME": "Shop Dev", "GIT_AUTHOR_EMAIL": "dev@shop.invalid",
            "GIT_COMMITTER_NAME": "Shop Dev", "GIT_COMMITTER_EMAIL": "dev@shop.invalid"}

MIGRATE = r"""#!/usr/bin/env bash
# The shop's migrations (migrations/NNNN_name.up.sql and .down.sql), applied with psql to the database
# that libpq's environment names (PGHOST, PGDATABASE, ...) or $DATABASE_URL.
# usage: migrate.sh status | up [VERSION] | down [STEPS] | dry-run [--fail-on-destructive]
#   up       applies the pending migrations (up to VERSION), each in one transaction with its record
#   down     reverts the newest STEPS (default 1) with their .down.sql; one without it is irreversible
#   dry-run  lists what `up` would apply; --fail-on-destructive fails on a DROP or RENAME among them
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"
conn=()
if [ -n "${DATABASE_URL:-}" ]; then conn=("$DATABASE_URL"); fi
sql() { psql "${conn[@]}" -X -q -v ON_ERROR_STOP=1 "$@"; }
sql -c "create table if not exists schema_migrations (version integer primary key, name text not null,
        applied_at timestamptz not null default now())"
current() { sql -tA -c "select coalesce(max(version), 0) from schema_migrations"; }
num() { local b; b="$(basename "$1")"; echo $((10#${b%%_*})); }
label() { basename "$1" | sed -E 's/\.(up|down)\.sql$//'; }
pending() {
  local cur f; cur="$(current)"
  for f in migrations/*.up.sql; do
    [ -e "$f" ] || continue
    if [ "$(num "$f")" -gt "$cur" ]; then echo "$f"; fi
  done
}
case "${1:-}" in
  status)
    echo "schema at $(current)"
    pending | sed 's/^/pending: /' ;;
  up)
    target="${2:-999999}"; n=0
    for f in $(pending); do
      v="$(num "$f")"
      [ "$v" -le "$target" ] || break
      sql -1 -f "$f" -c "insert into schema_migrations (version, name) values ($v, '$(label "$f")')"
      echo "applied $(label "$f")"; n=$((n + 1))
    done
    echo "schema at $(current) ($n applied)" ;;
  down)
    steps="${2:-1}"
    for _ in $(seq "$steps"); do
      cur="$(current)"
      [ "$cur" -gt 0 ] || { echo "migrate: nothing to revert" >&2; exit 1; }
      f=""
      for d in migrations/"$(printf '%04d' "$cur")"_*.down.sql; do [ -e "$d" ] && f="$d"; done
      [ -n "$f" ] || { echo "migrate: migration $cur is irreversible (no .down.sql)" >&2; exit 1; }
      sql -1 -f "$f" -c "delete from schema_migrations where version = $cur"
      echo "reverted $(label "$f")"
    done
    echo "schema at $(current)" ;;
  dry-run)
    bad=0; list="$(pending)"
    [ -n "$list" ] || echo "dry-run: no pending migrations"
    for f in $list; do
      if grep -Eiq '\b(drop|rename)\b' "$f"; then echo "dry-run: $(label "$f")  DESTRUCTIVE"; bad=1
      else echo "dry-run: $(label "$f")  additive"; fi
    done
    if [ "$bad" = 1 ] && [ "${2:-}" = "--fail-on-destructive" ]; then
      echo "dry-run: destructive migrations pending" >&2; exit 1
    fi
    echo "dry-run: ok" ;;
  *)
    echo "usage: migrate.sh status | up [VERSION] | down [STEPS] | dry-run [--fail-on-destructive]" >&2
    exit 2 ;;
esac
"""

DEPLOY = r"""#!/usr/bin/env bash
# Deploys a ref of this repository (seed 003's deploy-prod-from-ref.sh): builds the image of exactly
# that commit, pushes it, points the deployment at it and waits for the rollout.
# usage: deploy-prod-from-ref.sh <ref> [<repo-dir>]
set -euo pipefail
ref="${1:?usage: deploy-prod-from-ref.sh <ref> [<repo-dir>]}"
cd "${2:-.}"
# shellcheck source=/dev/null
source ./deploy.env
sha="$(git rev-parse --verify --quiet "${ref}^{commit}")" || { echo "deploy: unknown ref: ${ref}" >&2; exit 1; }
tag="${sha:0:7}"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
git archive "$sha" | tar -x -C "$build"
echo "==> deploying ${ref} (${sha}) as ${IMAGE}:${tag}"
docker build -q -t "${IMAGE}:${tag}" --build-arg "GIT_SHA=${sha}" "$build"
docker push "${IMAGE}:${tag}"
kubectl -n "$NAMESPACE" set image "deployment/${APP}" "${APP}=${IMAGE}:${tag}"
kubectl -n "$NAMESPACE" rollout status "deployment/${APP}" --timeout=2m
echo "==> deployed ${sha}"
"""

SMOKE = r"""#!/usr/bin/env bash
# The shop's smoke test (curl): /health, /version and the app's /api/products/ answer 200.
# usage: smoke.sh <base-url> [--summary FILE] [--junit FILE]
# --summary writes KEY=PASS|FAIL lines with generated_at= (seed 003's summary shape), --junit a JUnit
# report; the exit code is 1 when one of them failed.
set -euo pipefail
url="${1:?usage: smoke.sh <base-url> [--summary FILE] [--junit FILE]}"; shift
summary=""; junit=""
while [ $# -gt 0 ]; do
  case "$1" in
    --summary) summary="$2"; shift 2 ;;
    --junit) junit="$2"; shift 2 ;;
    *) echo "smoke: unknown option $1" >&2; exit 2 ;;
  esac
done
keys=(); values=(); failed=0
for pair in health:/health version:/version api:/api/products/; do
  key="smoke_${pair%%:*}"; path="${pair#*:}"
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "${url}${path}" || true)"
  if [ "$code" = 200 ]; then value=PASS; else value=FAIL; failed=$((failed + 1)); fi
  keys+=("$key"); values+=("$value")
  echo "${key}=${value} (${path} -> ${code})"
done
at="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
if [ -n "$summary" ]; then
  mkdir -p "$(dirname "$summary")"
  { echo "generated_at=${at}"; for i in "${!keys[@]}"; do echo "${keys[$i]}=${values[$i]}"; done; } > "$summary"
fi
if [ -n "$junit" ]; then
  mkdir -p "$(dirname "$junit")"
  {
    echo "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
    echo "<testsuite name=\"smoke\" tests=\"${#keys[@]}\" failures=\"${failed}\" timestamp=\"${at}\">"
    for i in "${!keys[@]}"; do
      if [ "${values[$i]}" = PASS ]; then echo "  <testcase classname=\"smoke\" name=\"${keys[$i]}\"/>"
      else echo "  <testcase classname=\"smoke\" name=\"${keys[$i]}\"><failure message=\"FAIL\"/></testcase>"; fi
    done
    echo "</testsuite>"
  } > "$junit"
fi
[ "$failed" = 0 ]
"""

LOADTEST = r"""#!/usr/bin/env python3
# The shop's load test: GETs paced at a target rate for a while, measured (seed 004: 100 RPS, p95 < 500 ms).
# The summary is written in k6's handleSummary shape (metrics.http_req_duration.values["p(95)"],
# metrics.http_reqs.values.rate, metrics.http_req_failed.values.rate); like k6, it exits 99 when a
# threshold given with --max-p95-ms or --min-rps is not met.
# usage: loadtest.py URL [--rps 100] [--duration 3] [--concurrency 20] [--out FILE] [--max-p95-ms MS] [--min-rps R]
import argparse
import json
import os
import queue
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request

p = argparse.ArgumentParser()
p.add_argument("url")
p.add_argument("--rps", type=float, default=100)
p.add_argument("--duration", type=float, default=3, help="seconds")
p.add_argument("--concurrency", type=int, default=20)
p.add_argument("--out")
p.add_argument("--max-p95-ms", type=float)
p.add_argument("--min-rps", type=float)
a = p.parse_args()
total = max(1, int(a.rps * a.duration))
todo = queue.Queue()
for i in range(total):
    todo.put(i)
results, lock = [], threading.Lock()
t0 = time.monotonic()


def worker():
    while True:
        try:
            i = todo.get_nowait()
        except queue.Empty:
            return
        time.sleep(max(0.0, t0 + i / a.rps - time.monotonic()))
        start = time.monotonic()
        try:
            with urllib.request.urlopen(a.url, timeout=10) as r:
                r.read()
                status = r.status
        except urllib.error.HTTPError as e:
            status = e.code
        except OSError:
            status = 0
        with lock:
            results.append(((time.monotonic() - start) * 1000, status, time.monotonic()))


threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = max(r[2] for r in results) - t0
ms = sorted(r[0] for r in results)
failed = sum(1 for r in results if not 200 <= r[1] < 400)


def pct(q):
    return ms[min(len(ms) - 1, int(round(q / 100 * (len(ms) - 1))))]


summary = {"state": {"testRunDurationMs": elapsed * 1000},
           "metrics": {"http_req_duration": {"type": "trend", "contains": "time", "values": {
                           "avg": statistics.fmean(ms), "min": ms[0], "med": pct(50), "max": ms[-1],
                           "p(90)": pct(90), "p(95)": pct(95)}},
                       "http_reqs": {"type": "counter", "values": {"count": len(results), "rate": len(results) / elapsed}},
                       "http_req_failed": {"type": "rate", "values": {"rate": failed / len(results),
                                                                      "passes": failed, "fails": len(results) - failed}}}}
print(f"http_reqs: {len(results)} ({len(results) / elapsed:.1f}/s)  p(95)={pct(95):.1f}ms  failed={failed}")
if a.out:
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(summary, f, indent=2)
missed = (a.max_p95_ms is not None and pct(95) >= a.max_p95_ms) or \
    (a.min_rps is not None and len(results) / elapsed < a.min_rps)
if missed:
    print("thresholds crossed", file=sys.stderr)
sys.exit(99 if missed else 0)
"""

PACKAGE_JSON = """{
  "name": "shop",
  "private": true,
  "scripts": {
    "migrate:dry-run": "bash scripts/migrate.sh dry-run",
    "migrate": "bash scripts/migrate.sh up",
    "smoke": "bash scripts/smoke.sh"
  }
}
"""

MIGRATIONS_1_0 = {
    "migrations/0001_catalog.up.sql":
        "create table products (id serial primary key, name text not null,\n"
        "                       price_cents integer not null check (price_cents >= 0));\n",
    "migrations/0001_catalog.down.sql": "drop table products;\n",
    "migrations/0002_availability.up.sql":
        "create table availability_rules (id serial primary key,\n"
        "                                 product_id integer not null references products (id),\n"
        "                                 weekday smallint not null check (weekday between 0 and 6));\n",
    "migrations/0002_availability.down.sql": "drop table availability_rules;\n",
}
MIGRATIONS_1_1 = {
    "migrations/0003_booking_requests.up.sql":
        "create table booking_requests (id serial primary key,\n"
        "                               product_id integer not null references products (id),\n"
        "                               status text not null default 'submitted');\n"
        "create index booking_requests_status on booking_requests (status);\n",
    "migrations/0003_booking_requests.down.sql": "drop table booking_requests;\n",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **IDENTITY, "GIT_TERMINAL_PROMPT": "0"}
    # -c settings: no identity or signing config of the machine's user is needed or used
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "core.hooksPath=/dev/null", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def commit(checkout: Path, message: str, files: dict[str, str | None]) -> str:
    """Write (or with None delete) the files, commit them, return the new SHA."""
    for name, text in files.items():
        p = checkout / name
        if text is None:
            git(checkout, "rm", "-q", "--", name)
            continue
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        if name.endswith((".sh", ".py")):
            p.chmod(0o755)
        git(checkout, "add", "--", name)
    git(checkout, "commit", "-q", "-m", message)
    return git(checkout, "rev-parse", "HEAD")


def make_repo(root: Path, *, app: str, image: str, namespace: str) -> tuple[Path, Path, dict[str, str]]:
    """(checkout, origin, shas): known_good (tagged v1.0.0), head (= origin/main), feature (not on main)."""
    origin, checkout = root / "origin.git", root / "shop"
    origin.mkdir(parents=True)
    git(origin, "init", "-q", "--bare", "-b", "main")
    checkout.mkdir()
    git(checkout, "init", "-q", "-b", "main")
    git(checkout, "remote", "add", "origin", str(origin))
    shas = {"known_good": commit(checkout, "shop 1.0.0: catalog and availability", {
        "README.md": f"# {app}\n\nThe shop the seed cutovers release.\n",
        ".gitignore": ".deploy/\nbackups/*\n!backups/.gitkeep\nloadtest/\nreports/\n",
        "backups/.gitkeep": "",
        "VERSION": "1.0.0\n",
        "Dockerfile": "FROM python:3.11-slim\nCOPY . /app\nCMD [\"python\", \"/app/app/main.py\"]\n",
        "deploy.env": f"APP={app}\nIMAGE={image}\nNAMESPACE={namespace}\n",
        "app/main.py": "print('shop')\n",
        "scripts/migrate.sh": MIGRATE,
        "scripts/deploy-prod-from-ref.sh": DEPLOY,
        "scripts/smoke.sh": SMOKE,
        "scripts/loadtest.py": LOADTEST,
        "package.json": PACKAGE_JSON,
        **MIGRATIONS_1_0,
    })}
    git(checkout, "tag", "-a", KNOWN_GOOD_TAG, "-m", "known-good release 1.0.0")
    shas["head"] = commit(checkout, "shop 1.1.0: booking requests behind MARKETPLACE_REQUESTS_ENABLED", {
        "VERSION": "1.1.0\n", "app/booking.py": "ENABLED_FLAG = 'MARKETPLACE_REQUESTS_ENABLED'\n", **MIGRATIONS_1_1})
    git(checkout, "push", "-q", "origin", "main", "--tags")
    git(checkout, "checkout", "-q", "-b", FEATURE_BRANCH)
    shas["feature"] = commit(checkout, "web: header profile menu (not merged)", {"app/header.py": "MENU = ['profile']\n"})
    git(checkout, "push", "-q", "origin", FEATURE_BRANCH)
    git(checkout, "checkout", "-q", "main")
    git(checkout, "fetch", "-q", "origin")
    return checkout, origin, shas


def image_of(checkout: Path, sha: str) -> tuple[str, int, bool]:
    """(version, required schema, crashes) of the image built from `sha`: what CI built for it."""
    version = git(checkout, "show", f"{sha}:VERSION").strip()
    names = git(checkout, "ls-tree", "--name-only", sha, "migrations/").splitlines()
    schema = max((int(Path(n).name.split("_")[0]) for n in names if n.endswith(".up.sql")), default=0)
    broken = bool(git(checkout, "ls-tree", "--name-only", sha, "app/BROKEN"))
    return version, schema, broken
