"""`cockpit log verify|export|note|status|tail|unlock --config F` (ARCHITECTURE §4).

verify exits 0 when the chain is intact, 1 naming the first bad seq, and 3 when it could not verify (the
store unreachable or unreadable: that says nothing about the chain, and a script must not read it as
tampered); it reads the store read-only (cockpit/core/log/readonly.py) and never replays the spool into it. The auditor's browser
(`cockpit log browse`, issue 7) plugs in through `_EXTENSIONS` below rather than growing this file.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cockpit.cli.common import (EXIT_FAILED, EXIT_OK, CliError, add_config, deliver_notifications, environment, load,
                                load_as_validated_before, opened_log, print_json)
from cockpit.core.log.base import AppendRefused, LogFilter, LogUnavailable
from cockpit.core.log.entry import Entry, current_actor, format_at
from cockpit.core.secrets import MissingSecret
from cockpit.runbook.textsafe import printable

if TYPE_CHECKING:  # the core is imported when a command runs: `cockpit --help` stays fast
    from cockpit.core.log.witness import Witness
    from cockpit.runbook.config import Runbook
    from cockpit.core.log.readonly import Reader
    from cockpit.core.log.spool import Spool, SpooledLog

# Modules that add subcommands to `cockpit log` by defining `register_log(log_subparsers)`.
# `cockpit log browse` (the auditor's TUI, issue 7) goes in cockpit/cli/log_browse.py.
_EXTENSIONS = ["cockpit.cli.log_browse"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("log", help="the release log: verify, export, note, status, tail")
    lsub = p.add_subparsers(dest="log_command", metavar="COMMAND", required=True)

    v = lsub.add_parser(
        "verify", help="walk the hash chain; exit 0 intact, 1 tampered, 3 could not verify",
        description="Walk the hash chain of the release log and print its head as SEQ:HASH; with a [signing] "
                    "table, check every decision's signature against allowed_signers; with --witnesses (and "
                    "--expect), check the heads kept outside the store and bound the first changed entry. Exit "
                    "codes: 0 intact; 1 tampered (the first entry that does not match is named, or the range that "
                    "holds it), or a signature or witness finding; 3 could not verify (the store is "
                    "unreachable or unreadable: nothing is known about the chain; entries waiting in the local "
                    "spool are counted); 2 bad usage or configuration.")
    add_config(v, env=False, json_out=True)
    v.add_argument("--expect", action="append", default=[], metavar="SEQ:HASH",
                   help="a head witnessed earlier (printed by verify, sent with notifications): it must still be there")
    v.add_argument("--witnesses", action="store_true",
                   help="also read the heads witnessed in the release's git repository and its remote "
                        "(refs/cockpit/witness/*) and prove the history around each of them")
    v.set_defaults(func=_verify)

    e = lsub.add_parser("export", help="export as TSV (seed 003), Markdown (RELEASE_LOG.md) or JSON Lines")
    add_config(e)
    e.add_argument("--format", "-f", choices=["tsv", "md", "jsonl"], default="tsv")
    e.add_argument("--release", metavar="R", help="only this release")
    e.add_argument("--output", "-o", metavar="FILE", help="write here (atomically) instead of stdout")
    e.add_argument("--all-envs", action="store_true", help="every environment (default: all unless --env)")
    e.set_defaults(func=_export)

    n = lsub.add_parser("note", help="append a note to a release")
    add_config(n)
    n.add_argument("--release", required=True, metavar="R")
    n.add_argument("text")
    n.set_defaults(func=_note)

    s = lsub.add_parser("status", help="store, entries, head, spooled entries, locks, notification backlog")
    add_config(s, env=False, json_out=True)
    s.set_defaults(func=_status)

    t = lsub.add_parser("tail", help="the newest entries; --follow prints new ones as they come")
    add_config(t)
    t.add_argument("-n", type=int, default=20, metavar="N", help="how many (default 20)")
    t.add_argument("--follow", "-f", action="store_true")
    t.add_argument("--release", metavar="R")
    t.add_argument("--kind", metavar="K", help="exact kind, or a prefix ending in '.' (flag.)")
    t.add_argument("--interval", type=float, default=1.0, help=argparse.SUPPRESS)
    t.set_defaults(func=_tail)

    u = lsub.add_parser("unlock", help="force the release lock of an environment open (needs --reason; logged)")
    add_config(u)
    u.add_argument("--reason", required=True)
    u.set_defaults(func=_unlock)

    for name in _EXTENSIONS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
            continue
        module.register_log(lsub)


EXIT_UNVERIFIED = 3
"""log verify: the chain could not be walked (not 1: that is tampered)."""


class _Unreadable(Exception):
    """The store could not be read; `waiting` entries are in the local spool."""

    def __init__(self, message: str, waiting: int):
        super().__init__(message)
        self.waiting = waiting


# -- helpers -------------------------------------------------------------------------------


@contextmanager
def _read_only(runbook: Runbook, *, walk: bool = False) -> Iterator[tuple[Reader, Spool]]:
    """The runbook's store opened read-only (never replaying the spool into it) and its spool, to count;
    `walk`: for verify (a PostgreSQL log is walked over pgwire when it can be)."""
    # startup: the stores load when a command reads the log, not for `cockpit --help`
    from cockpit.core.log.open import local_spool, store_factory
    from cockpit.core.log.readonly import (EmptyLog, InvalidDsn, LogUnreadable, NoLogYet, open_for_verify,
                                           open_read_only)

    try:
        factory = store_factory(runbook)
    except MissingSecret as e:
        raise CliError(str(e)) from None
    spool = local_spool(runbook, factory)
    try:
        log: Any = open_for_verify(factory) if walk else open_read_only(factory)
    except NoLogYet:
        log = EmptyLog(factory.description)  # nothing logged yet: the empty chain, as a new store would hold
    except InvalidDsn as e:
        raise CliError(f"cannot open the release log: {e}") from None
    except LogUnreadable as e:
        raise _Unreadable(printable(str(e)), spool.count()) from None
    try:
        yield log, spool
    finally:
        log.close()


def _unreachable(waiting: int, e: Exception) -> CliError:
    return CliError(f"{printable(str(e))}" + (f" ({waiting} entries wait in the spool)" if waiting else ""),
                    EXIT_FAILED)


def _filter(args: argparse.Namespace, **kw: Any) -> Any:
    return LogFilter(release_id=getattr(args, "release", None), environment=getattr(args, "env", None),
                     kind=getattr(args, "kind", None), **kw)


def line(e: Entry) -> str:
    """One entry as a row of `cockpit log tail`: its columns, then what it says (story.summary)."""
    from cockpit.core.story import summary  # startup: `cockpit --help` loads no story

    seq = "pending" if e.seq == 0 else str(e.seq)
    fields = [format_at(e.at)[:19] + "Z", e.environment, e.release_id, e.actor.name, e.kind,
              summary(e, 300, words=True)]
    return f"{seq:>7}  " + "  ".join(printable(f, one_line=True) for f in fields)


# -- commands ------------------------------------------------------------------------------


def _verify(args: argparse.Namespace) -> int:
    """The chain; with [signing], every decision's signature; with --expect / --witnesses, the heads kept
    outside the store (cockpit/core/log/audit.py puts them together)."""
    from cockpit.core.log.audit import audit  # startup: only verify loads the auditor

    runbook = load_as_validated_before(args)  # no pydantic when the runbook was validated before
    expected: list[Witness] = []
    if args.expect:
        from cockpit.core.log.witness import Witness, parse_witness  # startup: plain verify reads no witnesses

        try:
            expected = [Witness(seq, hash_, "--expect") for seq, hash_ in (parse_witness(w) for w in args.expect)]
        except ValueError as e:
            raise CliError(str(e)) from None
    allowed = _allowed_signers(runbook)
    witnesses, witness_problems = (_git_witnesses(runbook) if args.witnesses else ([], []))
    try:
        with _read_only(runbook, walk=True) as (log, spool):
            started = time.monotonic()
            try:
                found = audit(log, allowed=allowed, required_envs=runbook.signing.required if runbook.signing else [],
                              witnesses=expected + witnesses if (expected or args.witnesses) else None)
                head = found.chain.head if found.chain.ok else None
            except LogUnavailable as e:
                raise _Unreadable(printable(str(e)), spool.count()) from None
            elapsed = time.monotonic() - started
    except _Unreadable as e:
        return _unverified(args, e)
    result = found.chain
    span = found.first_changed()
    if args.json:
        out: dict[str, Any] = {"ok": found.ok, "checked": result.checked,
                               "first_bad_seq": span[0] if span and span[0] == span[1] else None,
                               "first_bad_range": list(span) if span else None,
                               "reason": result.reason, "head": head[1] if head else None,
                               "seconds": round(elapsed, 3)}
        if found.signatures is not None:
            s = found.signatures
            out["signatures"] = {"decisions": s.decisions, "signed": s.signed, "notes": s.notes,
                                 "findings": [{"seq": f.seq, "problem": f.problem, "text": f.text} for f in s.findings]}
        if found.witnesses is not None:
            w = found.witnesses
            out["witnesses"] = {"count": len(w.witnesses), "matched": len(w.matched),
                                "intact_through": w.intact_through,
                                "broken": [{"head": x.head, "source": x.source, "problem": p} for x, p in w.broken],
                                "unwitnessed": list(w.unwitnessed) if w.unwitnessed else None,
                                "after_close": [{"seq": q, "text": t} for q, t in w.after_close],
                                "problems": witness_problems, "lines": w.lines()}
        print_json(out)
        return EXIT_OK if found.ok else EXIT_FAILED
    if result.ok:
        print(f"intact: {result.checked} entries" + (f", head {head[0]}:{head[1]}" if head else "")
              + f" ({elapsed:.2f}s)")
    else:
        print(f"TAMPERED at seq {result.first_bad_seq}: {result.reason} "
              f"({result.checked} entries before it are intact)")
    if found.witnesses is not None and found.witnesses.first_changed is not None:
        lo, hi = found.witnesses.first_changed
        where = f"at seq {lo}" if lo == hi else f"between seq {lo} and seq {hi}"
        bad, why = found.witnesses.broken[0]
        good = found.witnesses.intact_through
        proven = f"the last witness that still matches is seq {good}" if good else "no witness before it still matches"
        print(f"TAMPERED {where}: {why} ({proven}, the first that does not is seq {bad.seq}"
              + (")" if lo == hi else "; the first changed entry is one of those, and no witness tells which)"))
        for f in found.named_in_range():
            print(f"  named by its signature: {printable(f.line())}")
    if found.signatures is not None:
        s = found.signatures
        print(f"signatures: {s.decisions} decisions, {s.signed} signed; "
              + (f"{len(s.findings)} problem{'s' if len(s.findings) > 1 else ''}" if s.findings
                 else "every signature checks out"))
        for f in s.findings:
            print(f"  ✘ {printable(f.line())}")
        for n in s.notes:
            print(f"  note: {printable(n)}")
    if found.witnesses is not None:
        for ln in found.witnesses.lines():
            print(printable(ln) if not ln.startswith("TAMPERED") else ln)
        for p in witness_problems:
            print(f"  note: witnesses not read from {printable(p)}")
    if args.witnesses:
        print("  note: webhook copies of heads are not read back (the cockpit keeps no record of them outside the "
              "store); pass them with --expect SEQ:HASH")
    return EXIT_OK if found.ok else EXIT_FAILED


def _allowed_signers(runbook: Runbook) -> Any:
    """The runbook's trusted keys, or None when it signs nothing; a file that cannot be read is an error."""
    if runbook.signing is None:
        return None
    from cockpit.core.sshsig import AllowedSigners, SigningError  # startup: only verify reads signatures

    try:
        return AllowedSigners.read(runbook.signing.allowed_signers_path(runbook.base_dir))
    except SigningError as e:
        raise CliError(f"[signing] {e}") from None


def _git_witnesses(runbook: Runbook) -> tuple[list[Witness], list[str]]:
    from cockpit.core import git_witness  # startup: only verify --witnesses reads git

    remote = runbook.release.remote
    return git_witness.read(runbook.repo_path, [remote] if remote else [])


def _unverified(args: argparse.Namespace, e: _Unreadable) -> int:
    waiting = f" ({e.waiting} entries wait in the spool)" if e.waiting else ""
    if args.json:
        print_json({"ok": None, "checked": 0, "first_bad_seq": None, "reason": None, "head": None,
                    "error": str(e), "spooled": e.waiting})
    print(f"cockpit: could not verify: {e}{waiting}", file=sys.stderr)
    return EXIT_UNVERIFIED


def _export(args: argparse.Namespace) -> int:
    from cockpit.core.log.export import export, export_to_file  # startup: only `log export` loads the exporters

    runbook = load(args)
    if args.env is not None:
        environment(runbook, args)
    flt = _filter(args)
    title = f"Release log — {runbook.release.name}"
    with opened_log(runbook) as log:
        try:
            if not args.output:
                n = export(log, args.format, sys.stdout, flt, title=title)
            else:
                target = Path(args.output)
                n = export_to_file(log, args.format, target, flt, title=title)
                print(f"wrote {n} entries to {target}", file=sys.stderr)
        except LogUnavailable as e:
            raise _unreachable(log.pending_count(), e) from None
        except OSError as e:
            raise CliError(f"cannot write {args.output}: {e}", EXIT_FAILED) from None
    return EXIT_OK


def _note(args: argparse.Namespace) -> int:
    # startup: the session loads only for a command that writes to a release
    from cockpit.core.log.spool import is_pending
    from cockpit.core.session import ReleaseSession

    runbook = load(args)
    env = environment(runbook, args)
    if not args.text.strip():
        raise CliError("the note is empty")
    with opened_log(runbook) as log:
        # Recorded by the release, without reading it first: a note works while the store is away.
        release = ReleaseSession.writer(runbook, log, env, current_actor(args.actor), args.release)
        import asyncio  # startup: verify and the readers run no event loop

        entry = asyncio.run(release.note(args.text))
        if is_pending(entry):
            print(f"spooled: the release log is unreachable; {log.pending_count()} entries wait and are "
                  "replayed when it answers")
        else:
            print(f"seq {entry.seq} {entry.hash}")
            _notify(log, runbook)
    return EXIT_OK


def _notify(log: SpooledLog, runbook: Runbook) -> None:
    deliver_notifications(log, runbook)


def _status(args: argparse.Namespace) -> int:
    # startup: only `log status` and `log unlock` read locks; notify loads the story
    from cockpit.core.log.lock import lock_holder
    from cockpit.core.log.notify import targets

    runbook = load(args)
    with opened_log(runbook) as log:
        info: dict[str, Any] = {"store": log.describe(), "reachable": False, "error": "",
                                "spooled": log.pending_count(), "rejected": log.spool.rejected_count(),
                                "entries": None, "head": None, "locks": {}, "notify": {}}
        try:
            store = log.store()
            info["entries"] = log.count()
            head = log.head()
            info["head"] = {"seq": head.seq, "hash": head.hash, "at": format_at(head.at)} if head else None
            for env in runbook.environments:
                held = lock_holder(log, env)
                info["locks"][env] = None if held is None else {
                    "holder": held.holder.name, "release_id": held.release_id,
                    "expires_at": format_at(held.expires_at), "seq": held.seq}
            backlog = store.outbox_backlog()
            errors: list[str] = []
            for t in targets(runbook, errors):
                b = backlog.get(t.id, {})
                info["notify"][t.label] = {"pending": b.get("pending", 0), "failed": b.get("failed", 0),
                                           "last_error": store.outbox_last_error(t.id)}
            for err in errors:
                info["notify"][err.split(":", 1)[0]] = {"error": err}
            info["reachable"] = True
            info["spooled"] = log.pending_count()
        except LogUnavailable as e:
            info["error"] = str(e)
        if args.json:
            print_json(info)
        else:
            _print_status(info)
        return EXIT_OK if info["reachable"] else EXIT_FAILED


def _print_status(info: dict[str, Any]) -> None:
    reach = "reachable" if info["reachable"] else f"UNREACHABLE: {info['error']}"
    rows = [("store", f"{info['store']} ({reach})")]
    if info["entries"] is not None:
        rows.append(("entries", str(info["entries"])))
        h = info["head"]
        rows.append(("head", f"seq {h['seq']} {h['hash']} at {h['at']}" if h else "(empty log)"))
    rows.append(("spooled", f"{info['spooled']} waiting" + (" (replayed when the store answers)" if info["spooled"] else "")))
    if info["rejected"]:
        rows.append(("rejected", f"{info['rejected']} spooled entries the store refused: see the spool folder"))
    for env, held in info["locks"].items():
        rows.append((f"lock {env}", "free" if held is None else
                     f"held by {held['holder']} for release {held['release_id']}, lease until {held['expires_at']}"))
    for label, n in info["notify"].items():
        if "error" in n:
            rows.append((label, n["error"]))
        else:
            text = f"{n['pending']} pending, {n['failed']} failed"
            if n["last_error"] and (n["pending"] or n["failed"]):
                text += f" (last error: {n['last_error']})"
            rows.append((label, text))
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k + ':':<{width + 2}}{printable(v, one_line=True)}")


def _tail(args: argparse.Namespace) -> int:
    runbook = load(args)
    if args.env is not None:
        environment(runbook, args)
    flt = _filter(args)
    with opened_log(runbook) as log:
        try:
            newest = log.page(flt, limit=max(0, args.n), newest_first=True)
            for e in reversed(newest):
                print(line(e))
            sys.stdout.flush()
            last = newest[0].seq if newest else (log.head().seq if log.head() else 0)
            while args.follow:
                time.sleep(args.interval)  # polling a store: there is no event to wait on across processes
                for e in log.page(flt, after_seq=last, limit=500):
                    print(line(e))
                    last = e.seq
                sys.stdout.flush()
        except LogUnavailable as e:
            raise _unreachable(log.pending_count(), e) from None
    return EXIT_OK


def _unlock(args: argparse.Namespace) -> int:
    # startup: the session loads only for a command that writes to a release
    from cockpit.core.log.lock import lock_holder
    from cockpit.core.session import ReleaseSession

    runbook = load(args)
    env = environment(runbook, args)
    with opened_log(runbook) as log:
        try:
            if not (args.reason or "").strip():
                raise ValueError("a forced unlock needs a reason (it is written to the release log)")
            held = lock_holder(log, env)
            if held is None:
                raise AppendRefused(f"{env} is not locked")
            # Recorded in the release whose lock is broken, by that release's writer.
            release = ReleaseSession.writer(runbook, log, env, current_actor(args.actor), held.release_id)
            import asyncio  # startup: verify and the readers run no event loop

            entry = asyncio.run(release.force_unlock(args.reason, held))
        except (AppendRefused, ValueError) as e:
            raise CliError(printable(str(e)), EXIT_FAILED) from None
        except LogUnavailable as e:
            raise _unreachable(log.pending_count(), e) from None
        prev = entry.payload.get("previous_holder", {}).get("name", "?")
        print(f"unlocked {env} (was held by {printable(prev)}); seq {entry.seq}")
        _notify(log, runbook)
    return EXIT_OK
