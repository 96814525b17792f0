"""`git` evidence and cockpit.core.gitrepo against real repositories (tests/helpers/gitrepos.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cockpit.core import gitrepo
from cockpit.core.checks import take
from cockpit.core.checks.context import Target
from cockpit.core.evidence import Status
from cockpit.core.gitrepo import GitPushError, GitRefError
from tests.checks.conftest import make_check, make_runbook
from tests.helpers.gitrepos import Repo
from tests.helpers.httpserver import closed_port


def gitcheck(rule: str, **kw):  # noqa: ANN001, ANN201
    return make_check(kind="git", rule=rule, **kw)


@pytest.fixture
def ctx_for(repo: Repo, make_ctx):  # noqa: ANN001, ANN201
    def build(target_sha: str | None = None, **kw):  # noqa: ANN001, ANN202
        sha = target_sha or repo.main_shas[-1]
        return make_ctx(repo=str(repo.path), target=Target("origin/main", sha), **kw)
    return build


# -- gitrepo ----------------------------------------------------------------------------


def test_resolve(repo: Repo):
    assert gitrepo.resolve(repo.path, "origin/main") == repo.main_shas[-1]
    assert gitrepo.resolve(repo.path, "origin/feature/x") == repo.feature_sha
    assert gitrepo.resolve(repo.path, repo.main_shas[0][:10]) == repo.main_shas[0]
    assert gitrepo.resolve(repo.path, "HEAD~1") == repo.main_shas[-2]


@pytest.mark.parametrize("ref", ["origin/nope", "v9.9.9", "0" * 40, "--all", "main\nHEAD"])
def test_resolve_unknown_refs(repo: Repo, ref: str):
    with pytest.raises(GitRefError) as e:
        gitrepo.resolve(repo.path, ref)
    assert repr(ref) in str(e.value)


def test_resolve_outside_a_repository(tmp_path: Path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitRefError, match="is not a git repository"):
        gitrepo.resolve(tmp_path / "plain", "main")
    with pytest.raises(GitRefError, match="does not exist"):
        gitrepo.resolve(tmp_path / "absent", "main")


def test_resolve_target(repo: Repo, tmp_path: Path):
    rb = make_runbook(tmp_path, repo=str(repo.path))
    assert gitrepo.resolve_target(rb) == Target("origin/main", repo.main_shas[-1])
    assert gitrepo.resolve_target(rb, "origin/feature/x") == Target("origin/feature/x", repo.feature_sha)
    rel = make_runbook(repo.path.parent, repo="work")  # relative to the runbook's folder
    assert gitrepo.resolve_target(rel).sha == repo.main_shas[-1]


def test_is_ancestor(repo: Repo):
    first, last = repo.main_shas[0], repo.main_shas[-1]
    assert gitrepo.is_ancestor(repo.path, first, last)
    assert not gitrepo.is_ancestor(repo.path, last, first)
    assert gitrepo.is_ancestor(repo.path, last, last)
    assert not gitrepo.is_ancestor(repo.path, repo.feature_sha, "origin/main")


def test_validate_rollback_ref(repo: Repo):
    target = repo.main_shas[-1]
    assert gitrepo.validate_rollback_ref(repo.path, repo.main_shas[0], target) == []
    assert gitrepo.validate_rollback_ref(repo.path, "origin/main~1", target) == []
    [same] = gitrepo.validate_rollback_ref(repo.path, "origin/main", target)
    assert "is the target itself" in same
    [side] = gitrepo.validate_rollback_ref(repo.path, "origin/feature/x", target)
    assert "is not an ancestor of the target" in side
    [gone] = gitrepo.validate_rollback_ref(repo.path, "v0.0.1", target)
    assert gone == "rollback ref 'v0.0.1' does not exist in the repository"


def test_rollback_candidates(repo: Repo):
    repo.git("tag", "-a", "-m", "release 1", "v1", repo.main_shas[0])
    repo.git("tag", "v-feature", repo.feature_sha)        # not reachable from the target
    repo.git("tag", "v-target", repo.main_shas[-1])       # the target itself: no rollback
    newest = repo.commit("commit 3")
    cands = gitrepo.rollback_candidates(repo.path, newest)
    by_sha = {c.sha: c for c in cands}
    assert newest not in by_sha and repo.feature_sha not in by_sha
    assert by_sha[repo.main_shas[0]].kind == "tag" and by_sha[repo.main_shas[0]].ref == "v1"
    assert by_sha[repo.main_shas[-1]].ref == "v-target"  # tagged earlier commit is a candidate now
    assert by_sha[repo.main_shas[1]].kind == "commit" and by_sha[repo.main_shas[1]].subject == "commit 1"
    assert len(cands) == 3
    assert [c.when for c in cands] == sorted((c.when for c in cands), reverse=True)
    assert len(gitrepo.rollback_candidates(repo.path, newest, limit=2)) == 2
    assert gitrepo.rollback_candidates(repo.path, repo.main_shas[0]) == []  # the root: nothing before


def test_create_and_push_tag(repo: Repo):
    sha = repo.main_shas[-1]
    gitrepo.create_tag(repo.path, "pre-release-layer-1", sha, "GO by alice")
    assert repo.git("cat-file", "-t", "pre-release-layer-1") == "tag"  # annotated
    assert repo.git("rev-parse", "pre-release-layer-1^{commit}") == sha
    gitrepo.create_tag(repo.path, "pre-release-layer-1", sha, "again")  # same place: no-op
    with pytest.raises(GitRefError, match="already exists"):
        gitrepo.create_tag(repo.path, "pre-release-layer-1", repo.main_shas[0], "elsewhere")
    with pytest.raises(GitRefError, match="not a valid tag name"):
        gitrepo.create_tag(repo.path, "bad..name", sha, "x")
    gitrepo.push_tag(repo.path, "origin", "pre-release-layer-1")
    from tests.helpers.gitrepos import git
    assert git(repo.origin, "rev-parse", "pre-release-layer-1^{commit}") == sha


def test_push_errors_carry_no_credentials(repo: Repo):
    gitrepo.create_tag(repo.path, "t1", repo.main_shas[-1], "x")
    url = f"http://deployer:hunter2token@127.0.0.1:{closed_port()}/repo.git"
    repo.git("remote", "add", "mirror", url)
    for remote in ("mirror", url):
        with pytest.raises(GitPushError) as e:
            gitrepo.push_tag(repo.path, remote, "t1")
        assert "hunter2token" not in str(e.value)
        assert "pushing tag 't1'" in str(e.value)
    with pytest.raises(GitPushError):
        gitrepo.push_tag(repo.path, "no-such-remote", "t1")


# -- the git check ----------------------------------------------------------------------


async def test_target_on_main(repo: Repo, ctx_for):
    ev = await take(gitcheck("target-on-main"), ctx_for())
    assert ev.status is Status.PASS, ev.detail
    assert ev.detail == f"target {repo.main_shas[-1][:7]} is on origin/main ({repo.main_shas[-1][:7]})"
    older = await take(gitcheck("target-on-main"), ctx_for(repo.main_shas[0]))
    assert older.status is Status.PASS


async def test_feature_branch_target_is_not_on_main(repo: Repo, ctx_for):
    ev = await take(gitcheck("target-on-main"), ctx_for(repo.feature_sha))
    assert ev.status is Status.FAIL
    assert f"target {repo.feature_sha[:7]} (origin/main) is not on origin/main" in ev.detail
    assert ev.data["main_sha"] == repo.main_shas[-1]


async def test_unpushed_commit_is_not_on_origin_main(repo: Repo, ctx_for):
    local = repo.commit("local only", push=False)
    ev = await take(gitcheck("target-on-main"), ctx_for(local))
    assert ev.status is Status.FAIL


async def test_target_missing_from_repository(ctx_for):
    ev = await take(gitcheck("target-on-main"), ctx_for("1" * 40))
    assert ev.status is Status.FAIL and "is not in the repository" in ev.detail


async def test_not_a_repository_is_an_error(make_ctx, tmp_path):
    ev = await take(gitcheck("target-on-main"), make_ctx(repo="."))
    assert ev.status is Status.ERROR
    assert ev.detail == f"{tmp_path} is not a git repository"


async def test_unknown_main_is_an_error(ctx_for):
    ev = await take(gitcheck("target-on-main"), ctx_for(main="origin/trunk"))
    assert ev.status is Status.ERROR and "unknown ref 'origin/trunk'" in ev.detail


async def test_ref_and_tag_exist(repo: Repo, ctx_for):
    repo.git("tag", "-a", "-m", "x", "pre-shop-layer-0", repo.main_shas[0])
    ev = await take(gitcheck("tag-exists", ref="pre-{release.name}-layer-0"), ctx_for())
    assert ev.status is Status.PASS and ev.detail == f"tag pre-shop-layer-0 exists ({repo.main_shas[0][:7]})"
    ev = await take(gitcheck("tag-exists", ref="pre-{release.name}-layer-1"), ctx_for())
    assert ev.status is Status.FAIL and ev.detail == "tag pre-shop-layer-1 does not exist"
    # a branch of that name is not a tag
    ev = await take(gitcheck("tag-exists", ref="main"), ctx_for())
    assert ev.status is Status.FAIL
    ev = await take(gitcheck("ref-exists", ref="origin/feature/x"), ctx_for())
    assert ev.status is Status.PASS
    ev = await take(gitcheck("ref-exists", ref="origin/release/9"), ctx_for())
    assert ev.status is Status.FAIL and ev.detail == "ref origin/release/9 does not exist"


async def test_rollback_is_ancestor(repo: Repo, ctx_for):
    rule = gitcheck("rollback-is-ancestor")
    ev = await take(rule, ctx_for())
    assert ev.status is Status.PENDING and "no rollback ref recorded yet" in ev.detail
    ev = await take(rule, ctx_for(rollback_ref=repo.main_shas[0][:7]))
    assert ev.status is Status.PASS and ev.data["rollback_sha"] == repo.main_shas[0]
    ev = await take(rule, ctx_for(rollback_ref="origin/main"))
    assert ev.status is Status.FAIL and "is the target itself" in ev.detail
    ev = await take(rule, ctx_for(rollback_ref=repo.feature_sha))
    assert ev.status is Status.FAIL and "is not an ancestor" in ev.detail
    ev = await take(rule, ctx_for(rollback_ref="known-good"))
    assert ev.status is Status.FAIL and "does not exist" in ev.detail
