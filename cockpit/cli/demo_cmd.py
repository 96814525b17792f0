"""`cockpit demo`: the cockpit against its embedded demo target, with no set-up.

Starts the loopback demo target (cockpit/demo/target.py) and a real Prometheus scraping it when `prometheus`
is installed (cockpit/demo/prometheus.py; else the target's labelled stand-in answers the runbook's queries),
builds a scratch checkout with the demo runbook (cockpit/demo/scratch.py), puts the demo flag token in this
process's environment as
COCKPIT_SECRET_DEMO_FLAGS (the runbook's token_secret = "demo-flags"; nothing goes to the keyring),
then opens the TUI — or, without a terminal or with --check-only, prints the `cockpit check` verdict.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cockpit.cli.common import EXIT_OK, CliError
from cockpit.core.secrets import env_name

if TYPE_CHECKING:  # the demo is imported only when the command runs
    from cockpit.demo.scratch import Scratch
    from cockpit.demo.target import DemoTarget
    from cockpit.ui.view import DemoHints

SECRET = "demo-flags"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the cockpit against the embedded demo target (no set-up)")
    p.add_argument("--dir", metavar="D", help="build the scratch folder here (kept) instead of a temporary one; "
                                              "an existing demo folder is reused, its release log kept")
    p.add_argument("--keep", action="store_true", help="keep the temporary scratch folder on exit")
    p.add_argument("--check-only", action="store_true",
                   help="print the `cockpit check` verdict and exit (0 GO, 1 NO-GO) instead of opening the TUI")
    p.add_argument("--json", action="store_true", help="with --check-only: the JSON of `cockpit check --json`")
    p.add_argument("--port", type=int, default=0, help="port of the demo target (default: a free one)")
    p.add_argument("--as", dest="actor", metavar="NAME", help="your name in the log")
    p.set_defaults(func=_main)


@contextmanager
def demo_environment(dir: str | None = None, keep: bool = False,
                     port: int = 0) -> Iterator[tuple[DemoTarget, Scratch]]:
    """Yield (target, scratch) with the flag token set; stop and clean up on exit, Ctrl-C included.

    scratch.prometheus says which Prometheus the runbook asks: a real one started here, or the stand-in.
    """
    # startup: the demo target, the check or the TUI, whichever is asked for
    from cockpit.demo import DemoTarget
    from cockpit.demo.prometheus import demo_prometheus
    from cockpit.demo.scratch import make_scratch, reuse_scratch

    temporary = dir is None
    root = Path(tempfile.mkdtemp(prefix="cockpit-demo-")) if temporary else Path(dir).expanduser().resolve()
    old_secret = os.environ.get(env_name(SECRET))
    target = DemoTarget(port=port)
    try:
        with ExitStack() as stack:  # Prometheus stops before the target it scrapes
            try:
                target.start()
            except OSError as e:
                raise CliError(f"cannot start the demo target on port {port}: {e.strerror or e}") from None
            prometheus = stack.enter_context(demo_prometheus(target))
            try:
                if not temporary and (root / "shop" / "demo.toml").exists():
                    scratch = reuse_scratch(root, target, prometheus)
                else:
                    scratch = make_scratch(root, target, prometheus)
            except FileExistsError as e:
                raise CliError(str(e)) from None
            except subprocess.CalledProcessError as e:
                detail = (e.stderr or "").strip().splitlines()[-1:] or [f"exit {e.returncode}"]
                raise CliError(f"cannot build the demo folder in {root}: git {e.cmd[-1] if e.cmd else ''} "
                               f"failed: {detail[0]}") from None
            except (OSError, RuntimeError) as e:
                hint = " (is git installed?)" if isinstance(e, FileNotFoundError) else ""
                raise CliError(f"cannot build the demo folder in {root}: {e}{hint}") from None
            os.environ[env_name(SECRET)] = target.token
            yield target, scratch
    finally:
        target.stop()
        if old_secret is None:
            os.environ.pop(env_name(SECRET), None)
        else:
            os.environ[env_name(SECRET)] = old_secret
        if temporary and not keep:
            shutil.rmtree(root, ignore_errors=True)


def _tui_available() -> bool:
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        import cockpit.ui.app  # noqa: F401
    except ImportError:
        return False
    return True


def _main(args: argparse.Namespace) -> int:
    # startup: the demo target, the check or the TUI, whichever is asked for
    from cockpit.cli.check import run_check
    from cockpit.runbook.config import ConfigError, load_runbook

    info = sys.stderr if args.json else sys.stdout
    interrupted = False
    code = EXIT_OK
    with demo_environment(args.dir, args.keep, args.port) as (target, scratch):
        try:
            runbook = load_runbook(scratch.runbook_path)
        except ConfigError as e:
            raise CliError(f"the demo runbook is invalid (a bug): {e}") from None
        temporary = args.dir is None and not args.keep
        print(_banner(target, scratch, temporary=temporary), file=info, flush=True)
        try:
            if args.check_only:
                code = run_check(runbook, env=None, ref=None, json_out=args.json, actor=args.actor)
            elif _tui_available():
                code = _run_tui(scratch, args.actor, hints(target, scratch, temporary=temporary))
            else:
                code = run_check(runbook, env=None, ref=None, json_out=args.json, actor=args.actor)
                print("\nThe demo target keeps running; break things with the curl lines above and run "
                      "the `cockpit check` line again. Ctrl-C stops the demo.", file=info, flush=True)
                threading.Event().wait()   # until Ctrl-C
        except KeyboardInterrupt:
            interrupted = True
    if interrupted:
        print("\ndemo stopped", file=info)
    if temporary and not args.check_only:  # the banner above shows again, with paths that are gone now
        print(f"demo folder removed: {scratch.checkout.parent} (--keep keeps it)", file=info)
    return code


def try_commands(t: DemoTarget, s: Scratch) -> list[str]:
    """What a newcomer can do from another terminal while the demo runs: break the target, check it."""
    rb = s.runbook_path
    return [
        f"curl -X POST {t.url}/_demo/health/db -d '{{\"status_code\": 503}}'",
        f"curl -X POST {t.url}/_demo/smoke -d '{{\"smoke_sso\": \"FAIL\"}}'",
        # layer-2's guardrail sees this once MARKETPLACE_REQUESTS_ENABLED is on, and flips it back off
        f"curl -X POST {t.url}/_demo/fault -d '{{\"flag\": \"MARKETPLACE_REQUESTS_ENABLED\", \"error_rate\": 0.2}}'",
        f"cockpit check --config {rb}",
        f"cockpit check --config {rb} --ref origin/feature/web-header-profile-menu",
    ]


def hints(t: DemoTarget, s: Scratch, *, temporary: bool) -> DemoHints:
    """The same, for the cockpit's help (the banner printed before the TUI is hidden while it runs)."""
    # startup: the TUI's view module, only when the TUI opens
    from cockpit.ui.view import DemoHints

    return DemoHints(url=t.url, flags_url=t.flags_url, runbook=str(s.runbook_path), scratch=str(s.checkout),
                     removed_on_exit=temporary, commands=tuple(try_commands(t, s)))


def _run_tui(scratch: Scratch, actor: str | None, demo: DemoHints) -> int:
    """`cockpit run` on the scratch runbook, with the demo's hints in its help."""
    # startup: the runbook is opened (and Textual imported) only when a screen is opened
    from cockpit.cli.run_cmd import run_tui
    from cockpit.core.opening import Opening

    return run_tui(Opening.from_file(scratch.runbook_path), actor=actor, demo=demo)


def _banner(t: DemoTarget, s: Scratch, *, temporary: bool) -> str:
    return "\n".join([
        f"demo target  {t.url}   (flag API {t.flags_url})",
        f"prometheus   {s.prometheus.describe() if s.prometheus else s.prometheus_url + '   (the stand-in)'}",
        f"scratch      {s.checkout}" + ("   (removed on exit; --keep keeps it)" if temporary else ""),
        f"runbook      {s.runbook_path}",
        "",
        "try, from another terminal:",
        *(f"  {c}" for c in try_commands(t, s)),
        "",
    ])
