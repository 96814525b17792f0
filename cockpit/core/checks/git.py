"""`git` evidence: branch discipline and refs, from the real repository (seed 003)."""

from __future__ import annotations

import asyncio

from cockpit.runbook.config import GitCheck
from cockpit.core import gitrepo
from cockpit.core.checks.context import CheckContext
from cockpit.core.checks.result import Found
from cockpit.core.evidence import Status
from cockpit.runbook.placeholders import expand


async def run(check: GitCheck, ctx: CheckContext) -> Found:
    # gitpython blocks (it runs git): keep it off the event loop.
    try:
        return await asyncio.to_thread(_judge, check, ctx)
    except gitrepo.GitRefError as e:
        return Found(Status.ERROR, str(e), data={"rule": check.rule})


def _judge(check: GitCheck, ctx: CheckContext) -> Found:
    repo = ctx.runbook.repo_path
    main = ctx.runbook.release.main
    target = ctx.target
    data: dict[str, object] = {"rule": check.rule, "target": target.ref, "target_sha": target.sha}

    if check.rule == "target-on-main":
        main_sha = gitrepo.resolve(repo, main)
        data["main_sha"] = main_sha
        try:
            target_sha = gitrepo.resolve(repo, target.sha)
        except gitrepo.GitRefError:
            return Found(Status.FAIL, f"target {target.short} ({target.ref}) is not in the repository", data=data)
        if gitrepo.is_ancestor(repo, target_sha, main_sha):
            return Found(Status.PASS, f"target {target.short} is on {main} ({main_sha[:7]})", data=data)
        return Found(
            Status.FAIL,
            f"target {target.short} ({target.ref}) is not on {main}: not reachable from {main_sha[:7]}",
            data=data,
        )

    if check.rule in ("ref-exists", "tag-exists"):
        assert check.ref is not None
        ref = expand(check.ref, ctx.placeholders())
        data["ref"] = ref
        lookup = f"refs/tags/{ref}" if check.rule == "tag-exists" and not ref.startswith("refs/") else ref
        what = "tag" if check.rule == "tag-exists" else "ref"
        try:
            sha = gitrepo.resolve(repo, lookup)
        except gitrepo.GitRefError as e:
            if "unknown ref" not in str(e):
                raise
            return Found(Status.FAIL, f"{what} {ref} does not exist", data=data)
        data["sha"] = sha
        return Found(Status.PASS, f"{what} {ref} exists ({sha[:7]})", data=data)

    # rollback-is-ancestor
    if not ctx.rollback_ref:
        return Found(Status.PENDING, "no rollback ref recorded yet (it is fixed at sign-off)", data=data)
    data["rollback_ref"] = ctx.rollback_ref
    problems = gitrepo.validate_rollback_ref(repo, ctx.rollback_ref, target.sha)
    if problems:
        return Found(Status.FAIL, "; ".join(problems), data=data)
    sha = gitrepo.resolve(repo, ctx.rollback_ref)
    data["rollback_sha"] = sha
    return Found(
        Status.PASS,
        f"rollback ref {ctx.rollback_ref} ({sha[:7]}) is an ancestor of the target {target.short}",
        data=data,
    )
