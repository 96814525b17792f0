"""The runbook: typed models for the TOML of ARCHITECTURE §3, and its loader.

Unknown keys are refused (a typo must not silently disable a check). Every error names the
file, the key path and, where one can be found, the line.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, WithJsonSchema,
                      field_validator, model_validator)

from cockpit.runbook.config_errors import describe_errors, located
from cockpit.runbook.fields import Duration, Identifier, Timeout
from cockpit.runbook.guardrails import GuardrailConfig, PrometheusConfig
from cockpit.runbook.step_ids import step_id
from cockpit.runbook.signing import SigningConfig
from cockpit.runbook.steps import Step
from cockpit.runbook.methods import CheckMethods, RunbookMethods
from cockpit.runbook import roles as roles_rules
from cockpit.runbook.placeholders import (FLAG_NAME_REGEX, PlaceholderError, check_command, check_names, flag_name_problem,
                                          names_in)
from cockpit.runbook.tomllines import MAX_NESTING, too_deep


class _Model(BaseModel):
    # The attribute docstrings below document each field; they are put into the JSON Schema by
    # cockpit/runbook/schema.py rather than by pydantic's use_attribute_docstrings, which parses this file's
    # source at import and costs the cockpit a visible part of its startup.
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)




def _flag_name(name: str) -> str:
    problem = flag_name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


FlagName = Annotated[str, AfterValidator(_flag_name), WithJsonSchema({"type": "string", "pattern": FLAG_NAME_REGEX})]
"""A flag's name: letters, digits and . _ : - (what env vars, Unleash and the §5 API use)."""


def _role_name(name: str) -> str:
    problem = roles_rules.name_problem(name)
    if problem:
        raise ValueError(problem)
    return name


RoleName = Annotated[str, AfterValidator(_role_name), WithJsonSchema({"type": "string",
                                                                       "pattern": roles_rules.ROLE_NAME_REGEX})]
"""A sign-off role's name, e.g. "Incident Comms Owner"."""


class ReleaseConfig(_Model):
    name: str
    """The product being released; names releases in the log (e.g. "shop")."""
    repo: str = "."
    """The git checkout the target comes from, relative to the runbook file."""
    main: str = "origin/main"
    """The only ref a production target may come from (seed 003's branch discipline)."""
    tag_prefix: str | None = None
    """When set, an annotated tag `<tag_prefix><stage or release>` is created on the target at GO."""
    remote: str | None = None
    """The git remote tags are pushed to; no push when unset."""
    lock_lease: Timeout = "30m"
    """How long a cutover lock lives without being renewed (a crashed cockpit must not lock the team out)."""
    roles: list[RoleName] = list(roles_rules.DEFAULT_ROLES)
    """The roles named at sign-off, each required for GO (seed 003's owner model), e.g.
    ["Release Owner", "Rollback Owner", "Incident Comms Owner"]. Release Owner and Rollback Owner are always
    among them."""
    distinct_roles: list[list[RoleName]] = []
    """Groups of roles that must be held by different people, e.g. [["Release Owner", "Incident Comms Owner"]].
    Unset: one person may hold several roles (seed 003 lets the Release Owner be the Rollback Owner)."""

    @field_validator("roles")
    @classmethod
    def _roles(cls, v: list[str]) -> list[str]:
        problems = roles_rules.problems(v, [])
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @field_validator("distinct_roles")
    @classmethod
    def _distinct_roles(cls, v: list[list[str]], info: ValidationInfo) -> list[list[str]]:
        if "roles" in info.data:  # else roles was refused already, and said so
            problems = roles_rules.problems(info.data["roles"], v)
            if problems:
                raise ValueError("; ".join(problems))
        return v


class LogConfig(_Model):
    path: str | None = None
    """Embedded SQLite log, relative to the runbook file (the default store)."""
    dsn: str | None = None
    """Shared PostgreSQL log (libpq DSN without the password). COCKPIT_LOG_DSN overrides it."""
    password_secret: str | None = None
    """Keyring entry holding the PostgreSQL password."""
    spool: str | None = None
    """Folder of the local spool used while the shared store is unreachable (default: next to the runbook)."""

    @model_validator(mode="after")
    def _one_store(self) -> LogConfig:
        if (self.path is None) == (self.dsn is None):
            raise ValueError("set exactly one of [log] path (embedded SQLite) or [log] dsn (shared PostgreSQL)")
        return self


class EnvironmentConfig(_Model):
    url: str | None = None
    """Base URL of the environment, used as {env.url}."""
    vars: dict[str, str] = {}
    """Further values for placeholders, used as {env.<key>}."""
    flag_environment: str | None = None
    """The flag service's name for this environment (Unleash environment); defaults to [flags] environment."""
    protected: bool = True
    """A protected environment (production) requires sign-off and GO before flags are flipped."""
    promote_from: str | None = None
    """An earlier environment the same target SHA must have passed before GO here (the seeds' staging first): a
    release of it there that went GO, had every stage marked stable and was closed, not rolled back."""
    promote_within: Duration | None = None
    """How recently that release must have been closed there, e.g. "7d"; unset: at any time."""


class FlagsConfig(_Model):
    backend: Literal["http", "unleash", "command"]
    """Where flags live: the generic flag API (http), Unleash's Admin API, or shell commands."""
    url: str | None = None
    """Base URL of the flag API (http, unleash)."""
    token_secret: str | None = None
    """Keyring entry of the API token; COCKPIT_SECRET_<NAME> in CI."""
    project: str = "default"
    """Unleash project."""
    environment: str | None = None
    """Unleash environment (overridable per [environments.<name>] flag_environment)."""
    get: str | None = None
    """command backend: prints the flag's value. Run without a shell: split into arguments first, then {flag}
    filled in (e.g. `kubectl exec deploy/api -- printenv {flag}`). A pipeline is written
    `sh -c '... "$COCKPIT_FLAG" ...'`: the flag's name is in $COCKPIT_FLAG, never inside quotes."""
    set: str | None = None
    """command backend: sets the flag; {flag} and {value} are arguments (also $COCKPIT_FLAG and $COCKPIT_VALUE),
    as for get, e.g. `kubectl set env deploy/api {flag}={value}`."""
    list: str | None = None
    """command backend (optional): prints NAME=VALUE lines of all flags (run as get is)."""
    on_value: str = "true"
    """command backend: how `on` is written."""
    off_value: str = "false"
    """command backend: how `off` is written."""
    timeout: Timeout = "10s"
    """Per request / per command."""
    retries: int = Field(3, ge=0, le=10)
    """Retries on timeouts and 5xx (flips are idempotent)."""

    @model_validator(mode="after")
    def _backend_fields(self) -> FlagsConfig:
        if self.backend in ("http", "unleash") and not self.url:
            raise ValueError(f"[flags] backend = {self.backend!r} needs url")
        if self.backend == "unleash" and not self.environment:
            raise ValueError("[flags] backend = 'unleash' needs environment (e.g. 'production')")
        if self.backend == "command" and not (self.get and self.set):
            raise ValueError("[flags] backend = 'command' needs both get and set templates")
        return self

    @field_validator("get", "set", "list")
    @classmethod
    def _command_template(cls, template: str | None) -> str | None:
        if template is not None:
            check_names(template)
            check_command(template)
        return template


class StageConfig(_Model):
    id: Identifier
    """Stage id, e.g. "layer-1"."""
    title: str = ""
    """What the stage turns on, for people."""
    flags: list[FlagName] = []
    """Flags switched on in this stage (switched off by its kill switch)."""
    after: list[str] = []
    """Stages that must be marked stable before this one may start."""
    monitor: Duration | None = None
    """How long to watch health after the flip before the stage may be marked stable."""
    steps: list[Step] = []
    """The stage's procedure, in order (runbook/steps.py). Empty: the stage's tag, then its flags on."""
    rollback: list[Step] = []
    """The stage's own rollback (seed 001's partial rollback), after its flags are restored."""
    guardrails: list[GuardrailConfig] = []
    """Checks watched after the stage's flip (runbook/guardrails.py): a breach kills the stage or alerts."""

    @model_validator(mode="after")
    def _step_ids(self) -> StageConfig:
        _check_rollback_steps(self.rollback, f"stage {self.id!r} rollback")
        ids = [step_id(s, i) for i, s in enumerate(self.steps, 1)]
        dup = {i for i, n in Counter(ids).items() if n > 1}
        if dup:
            raise ValueError(f"step ids must be unique within a stage; repeated: {', '.join(sorted(dup))}")
        return self


class _CheckBase(CheckMethods, _Model):
    id: Identifier
    """Unique id of the check."""
    title: str = ""
    """What it proves, for people (defaults to the id)."""
    blocking: bool = True
    """MUST (true) blocks GO when not passing; SHOULD (false) is shown but does not block."""
    stage: str | None = None
    """The stage this check gates; checks without a stage gate the release itself."""
    max_age: Duration | None = None
    """Evidence older than this no longer counts (turns stale)."""
    timeout: Timeout = "10s"
    """How long taking the evidence may take before it counts as failed."""


class HttpCheck(_CheckBase):
    kind: Literal["http"]
    url: str
    """URL to request; placeholders like {env.url} allowed."""
    method: Literal["GET", "HEAD", "POST"] = "GET"
    expect_status: int | list[int] = 200
    """Accepted status code(s)."""
    max_latency_ms: int | None = Field(None, gt=0)
    """Latency budget; slower answers fail."""
    json_expect: dict[str, Any] = Field({}, alias="json")
    """Expectations on the JSON body: dotted path -> expected value, or a comparison table such as
    `{ lt = 500 }` (operators lt, le, gt, ge, eq, ne); written `json = {...}`."""
    headers: dict[str, str] = {}
    follow_redirects: bool = False
    """Redirects fail the check unless followed explicitly."""
    verify_tls: bool = True
    max_bytes: int = Field(1_000_000, gt=0)
    """Bodies larger than this fail the check (and are not read further)."""

    model_config = ConfigDict(populate_by_name=True)

    @model_validator(mode="after")
    def _comparisons(self) -> HttpCheck:
        for path, want in self.json_expect.items():
            _check_comparison(f"json.{path}", want)
        return self


class SmokeCheck(_CheckBase):
    kind: Literal["smoke"]
    source: str
    """A file (relative to the runbook) or an http(s) URL."""
    format: Literal["env", "junit", "json"] | None = None
    """env = KEY=VALUE lines, junit = JUnit XML, json = a JSON document; guessed from the name when unset."""
    key: str | None = None
    """env: the key; json: a dotted path; junit: a testcase (`classname.name` or `name`), or unset for all tests."""
    expect: str | bool | int | float | dict[str, str | bool | int | float] = "PASS"
    """Expected value of the key (env/json), or a comparison table such as `{ lt = 500 }`
    (operators lt, le, gt, ge, eq, ne); ignored for junit, where the test(s) must pass."""
    timestamp_key: str | None = None
    """env/json: key holding the time the results were produced (ISO 8601 or epoch); else the file mtime."""

    @model_validator(mode="after")
    def _comparison(self) -> SmokeCheck:
        if isinstance(self.expect, dict):
            _check_comparison("expect", self.expect)
            if not self.expect:
                raise ValueError("expect: an empty table compares nothing")
        return self


def _check_comparison(where: str, value: Any) -> None:
    """A table of operators compares; a table mixing operators with other keys is a typo."""
    ops = {"lt", "le", "gt", "ge", "eq", "ne"}
    if isinstance(value, dict) and value and any(k in ops for k in value) and not all(k in ops for k in value):
        bad = sorted(k for k in value if k not in ops)
        raise ValueError(f"{where}: a comparison table takes only lt, le, gt, ge, eq, ne (not {', '.join(bad)})")


class GitCheck(_CheckBase):
    kind: Literal["git"]
    rule: Literal["target-on-main", "ref-exists", "tag-exists", "rollback-is-ancestor"]
    """target-on-main: target reachable from [release] main; ref-exists / tag-exists: `ref` resolves;
    rollback-is-ancestor: the recorded rollback ref is an ancestor of the target and not the target."""
    ref: str | None = None
    """The ref or tag for ref-exists / tag-exists (placeholders allowed)."""

    @model_validator(mode="after")
    def _needs_ref(self) -> GitCheck:
        if self.rule in ("ref-exists", "tag-exists") and not self.ref:
            raise ValueError(f"rule {self.rule!r} needs ref")
        return self


class CommandCheck(_CheckBase):
    kind: Literal["command"]
    run: str
    """Shell command; passes when it exits with expect_exit within timeout."""
    cwd: str | None = None
    """Working directory relative to the runbook (default: the runbook's folder)."""
    expect_exit: int = 0


class FileCheck(_CheckBase):
    kind: Literal["file"]
    path: str
    """A file that must exist (relative to the runbook); with max_age, younger than it."""


class PrometheusCheck(_CheckBase):
    kind: Literal["prometheus"]
    query: str
    """A PromQL instant query against [prometheus] url; placeholders like {env.*} allowed."""
    expect: dict[str, float] | float = Field(default_factory=dict)
    """The value's expectation, as for JSON checks: a comparison table such as `{ lt = 0.01 }`, or a number.
    Empty: any value passes (a guardrail with baseline conditions judges it)."""
    select: dict[str, str] = {}
    """For a vector result: label = value pairs a series must have to count."""
    aggregate: Literal["max", "min", "sum", "avg", "one"] = "one"
    """For a vector result with several series: how they become one value; "one" refuses more than one."""

    @model_validator(mode="after")
    def _comparison(self) -> PrometheusCheck:
        if isinstance(self.expect, dict):
            _check_comparison("expect", self.expect)
        return self


class ManualCheck(_CheckBase):
    kind: Literal["manual"]
    prompt: str
    """What a person confirms by ticking the item (with a note)."""


CheckConfig = Annotated[
    HttpCheck | SmokeCheck | GitCheck | CommandCheck | FileCheck | ManualCheck | PrometheusCheck,
    Field(discriminator="kind"),
]
CHECK_KEYS = frozenset(key for model in (HttpCheck, SmokeCheck, GitCheck, CommandCheck, FileCheck, ManualCheck,
                                                     PrometheusCheck)
                       for name, field in model.model_fields.items() for key in (name, field.alias) if key)
"""Every key some kind of check accepts (a [[checks]] table's other keys are named when its kind is missing)."""


class RollbackConfig(_Model):
    deploy: str | None = None
    """Command that redeploys a ref; {ref} is the recorded rollback ref (shell-quoted)."""
    verify: list[str] = []
    """Checks re-taken after the redeploy."""
    timeout: Timeout = "15m"
    """How long the deploy command may run."""
    cwd: str | None = None
    """Working directory of the deploy command, relative to the runbook."""
    steps: list[Step] = []
    """The rollback as the runbook declares it (seed 002's previous image, restart, health, migration
    revert, Netlify; seed 004's DB restore): run after the flags are restored, before verify, instead of
    the `deploy` command. {ref} is the recorded rollback ref, {sha} its SHA. Empty: `deploy`."""

    @model_validator(mode="after")
    def _declared_ids(self) -> RollbackConfig:
        _check_rollback_steps(self.steps, "[rollback] steps")
        return self


def _check_rollback_steps(steps: list[Step], where: str) -> None:
    ids = [step_id(s, i) for i, s in enumerate(steps, 1)]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{where}: step ids must be unique")
    taken = {"flags", "verify"} & set(ids)
    if taken:
        raise ValueError(f"{where}: {', '.join(sorted(taken))} is the rollback's own step; give the step another id")
    if any(s.kind == "tag" for s in steps):
        raise ValueError(f"{where}: a rollback does not tag; tags mark what is rolled out")


class NotifyConfig(_Model):
    url: str | None = None
    """Webhook URL (Slack-compatible JSON body)."""
    url_secret: str | None = None
    """Keyring entry holding the webhook URL (Slack URLs are secrets)."""
    kinds: list[str] = ["decision.go", "decision.nogo", "rollback.started", "rollback.finished",
                        "guardrail.breached", "guardrail.acted"]
    """Entry kinds to send; "*" sends all."""

    @model_validator(mode="after")
    def _one_url(self) -> NotifyConfig:
        if (self.url is None) == (self.url_secret is None):
            raise ValueError("set exactly one of url or url_secret")
        return self


class Runbook(RunbookMethods, _Model):
    """A release runbook (ARCHITECTURE §3)."""

    release: ReleaseConfig
    log: LogConfig
    environments: dict[str, EnvironmentConfig] = Field(min_length=1)
    """At least one environment; the first is the default."""
    flags: FlagsConfig | None = None
    prometheus: PrometheusConfig | None = None
    """Where `prometheus` checks ask (runbook/guardrails.py)."""
    stages: list[StageConfig] = []
    """Rollout stages, in order."""
    checks: list[CheckConfig] = []
    rollback: RollbackConfig = RollbackConfig()
    notify: list[NotifyConfig] = []
    signing: SigningConfig | None = None
    """Signed decisions (cockpit/runbook/signing.py): trusted keys, the signing key, where signatures are required."""

    # Set by the loader, not by TOML: where relative paths start.
    base_dir: Path = Field(Path("."), exclude=True)

    @field_validator("environments")
    @classmethod
    def _env_names(cls, v: dict[str, EnvironmentConfig]) -> dict[str, EnvironmentConfig]:
        for name in v:
            if not name.replace("-", "").replace("_", "").isalnum():
                raise ValueError(f"environment name {name!r} may hold only letters, digits, - and _")
        return v

    @field_validator("environments")
    @classmethod
    def _promotion(cls, v: dict[str, EnvironmentConfig]) -> dict[str, EnvironmentConfig]:
        problems = _promotion_problems(v)
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @model_validator(mode="after")
    def _references(self) -> Runbook:
        ids = [c.id for c in self.checks]
        dup = {i for i, n in Counter(ids).items() if n > 1}
        if dup:
            raise ValueError(f"check ids must be unique; repeated: {', '.join(sorted(dup))}")
        stage_ids = [s.id for s in self.stages]
        if len(set(stage_ids)) != len(stage_ids):
            raise ValueError("stage ids must be unique")
        for s in self.stages:
            for a in s.after:
                if a not in stage_ids:
                    raise ValueError(f"stage {s.id!r} comes after unknown stage {a!r}")
        _refuse_cycles(self.stages)
        for c in self.checks:
            if c.stage is not None and c.stage not in stage_ids:
                raise ValueError(f"check {c.id!r} names unknown stage {c.stage!r}; stages: {stage_ids}")
            for field in ("url", "source", "run", "path", "ref", "query"):
                template = getattr(c, field, None)
                if isinstance(template, str):
                    try:
                        check_names(template, promql=field == "query")
                    except PlaceholderError as e:
                        raise ValueError(f"check {c.id!r} {field}: {e}") from None
        for v in self.rollback.verify:
            if v not in ids:
                raise ValueError(f"[rollback] verify names unknown check {v!r}")
        procedures = [(f"stage {s.id!r}", [*s.steps, *s.rollback]) for s in self.stages]
        for where, steps in [*procedures, ("[rollback] steps", self.rollback.steps)]:
            for step in steps:
                for c in getattr(step, "checks", None) or []:
                    if c not in ids:
                        raise ValueError(f"{where}: a checks step names unknown check {c!r}")
                for f in getattr(step, "flags", None) or []:
                    if f not in self.all_flags:
                        raise ValueError(f"{where}: a flags step names {f!r}, which no stage lists in its flags")
        by_id = {c.id: c for c in self.checks}
        for s in self.stages:
            for g in s.guardrails:
                check = by_id.get(g.check)
                if check is None:
                    raise ValueError(f"stage {s.id!r}: a guardrail names unknown check {g.check!r}")
                if g.relative and check.kind != "prometheus":
                    raise ValueError(f"stage {s.id!r}: guardrail {g.check!r} compares with a baseline "
                                     f"(max_increase/max_ratio), which needs a prometheus check, not {check.kind}")
                if check.kind == "manual":
                    raise ValueError(f"stage {s.id!r}: guardrail {g.check!r} is a manual check; a guardrail samples")
            dup = {g for g, n in Counter(g.check for g in s.guardrails).items() if n > 1}
            if dup:
                raise ValueError(f"stage {s.id!r}: a check is guarded twice: {', '.join(sorted(dup))}")
        if any(c.kind == "prometheus" for c in self.checks) and self.prometheus is None:
            raise ValueError("prometheus checks need a [prometheus] section with its url")
        if self.stages and any(s.flags for s in self.stages) and self.flags is None:
            raise ValueError("stages name flags but there is no [flags] section saying where they live")
        return self


def _promotion_problems(environments: dict[str, EnvironmentConfig]) -> list[str]:
    """promote_from names another environment, promote_within needs it, and no chain comes back to itself
    (environments waiting for each other could never go GO)."""
    out, cycles = [], set()
    for name, env in environments.items():
        where = f"[environments.{name}]"
        if env.promote_within is not None and env.promote_from is None:
            out.append(f"{where} promote_within needs promote_from (the environment the target must have passed)")
        elif env.promote_within is not None and env.promote_within <= timedelta(0):
            out.append(f"{where} promote_within must be longer than 0s, e.g. '7d'")
        if env.promote_from is None:
            continue
        if env.promote_from not in environments:
            out.append(f"{where} promote_from names unknown environment {env.promote_from!r}; environments: "
                       f"{', '.join(environments)}")
            continue
        chain, at = [name], env.promote_from
        while at is not None and at in environments and at not in chain:
            chain.append(at)
            at = environments[at].promote_from
        if at == name and frozenset(chain) not in cycles:
            cycles.add(frozenset(chain))
            out.append(f"{where} promote_from comes back to {name}: {' <- '.join(chain + [name])}")
    return out


def _refuse_cycles(stages: list[StageConfig]) -> None:
    after = {s.id: s.after for s in stages}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 1:
            raise ValueError(f"stages form a cycle: {' -> '.join(path + [node])}")
        if state.get(node) == 2:
            return
        state[node] = 1
        for nxt in after.get(node, []):
            visit(nxt, path + [node])
        state[node] = 2

    for s in stages:
        visit(s.id, [])


# -- loading ---------------------------------------------------------------------


class ConfigError(Exception):
    """A runbook that cannot be used; the message names file, key path and line."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = str(path)
        self.problems = problems
        super().__init__("\n".join(f"{self.path}: {p}" for p in problems))


def parse_runbook(text: str, path: Path | str = "<runbook>") -> Runbook:
    path = Path(path)
    deep = too_deep(text)
    if deep:
        line, key = deep
        raise ConfigError(path, [located(text, key, f"tables and arrays nested deeper than {MAX_NESTING} levels; "
                                                    "a runbook needs a few", line)])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(path, [f"not valid TOML: {e}"]) from None
    except RecursionError:  # nesting the scan above did not see; never a traceback
        raise ConfigError(path, [f"tables and arrays nested deeper than {MAX_NESTING} levels"]) from None
    try:
        rb = Runbook.model_validate(data)
    except ValidationError as e:
        problems = describe_errors(e, data, text, CHECK_KEYS)
        raise ConfigError(path, problems) from None
    problems = [located(text, key, message) for key, message in _undefined_env_vars(rb)]
    if problems:
        raise ConfigError(path, problems)
    return rb.model_copy(update={"base_dir": path.resolve().parent})


def _templates(rb: Runbook) -> list[tuple[list[str | int], str]]:
    """(key path, text) of every runbook string whose placeholders are filled in."""
    out: list[tuple[list[str | int], str]] = []
    for i, c in enumerate(rb.checks):
        for field in ("url", "source", "run", "path", "ref"):
            value = getattr(c, field, None)
            if isinstance(value, str):
                out.append((["checks", i, field], value))
        for name, value in getattr(c, "headers", {}).items():
            out.append((["checks", i, "headers", name], value))
    if rb.flags is not None:
        for field in ("url", "get", "set", "list"):
            value = getattr(rb.flags, field)
            if value:
                out.append((["flags", field], value))
    if rb.rollback.deploy:
        out.append((["rollback", "deploy"], rb.rollback.deploy))
    return out


def _undefined_env_vars(rb: Runbook) -> list[tuple[list[str | int], str]]:
    """{env.X} must name a known key (name, url) or a var every environment defines: the release may run
    in any of them, and an undefined one would fail only there, in the middle of a cutover."""
    problems = []
    for key, template in _templates(rb):
        for name in dict.fromkeys(names_in(template)):
            var = name.removeprefix("env.")
            if var == name or var in ("name", "url"):
                continue
            missing = [env for env, cfg in rb.environments.items() if var not in cfg.vars]
            if missing:
                defined = [env for env in rb.environments if env not in missing]
                problems.append((key, f"{{{name}}} is not defined for environment {', '.join(missing)}: add "
                                      f"{var} to [environments.{missing[0]}.vars]"
                                      + (f" (it is defined for {', '.join(defined)})" if defined else "")))
    return problems


def read_runbook(path: Path) -> str:
    """The runbook's text as the loaders read it; ConfigError when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, ["file not found"]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(path, [f"cannot read: {e}"]) from None


def load_runbook(path: str | Path) -> Runbook:
    path = Path(path)
    return parse_runbook(read_runbook(path), path)
