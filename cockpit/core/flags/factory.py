"""The runbook's [flags] section turned into a FlagBackend for one environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cockpit.core.flags.base import FlagBackend, FlagError
from cockpit.core.secrets import get_secret
from cockpit.runbook.placeholders import PlaceholderError, expand

if TYPE_CHECKING:
    from cockpit.runbook.config import Runbook


def backend_values(runbook: Runbook, environment: str) -> dict[str, str | None]:
    """Placeholders a [flags] url or command template may use ({env.url}, {env.<var>}, {release.name})."""
    env = runbook.environments[environment]
    values: dict[str, str | None] = {"env.name": environment, "env.url": env.url,
                                     "release.name": runbook.release.name}
    values.update({f"env.{k}": v for k, v in env.vars.items()})
    return values


def flag_environment(runbook: Runbook, environment: str) -> str | None:
    """The flag service's name for the environment: its flag_environment, else [flags] environment."""
    assert runbook.flags is not None
    return runbook.environments[environment].flag_environment or runbook.flags.environment


def make_backend(runbook: Runbook, environment: str) -> FlagBackend:
    """Raise FlagError when the runbook has no [flags], MissingSecret when its token is not stored."""
    cfg = runbook.flags
    if cfg is None:
        raise FlagError(None, "the runbook has no [flags] section: nothing says where flags live")
    if environment not in runbook.environments:
        raise FlagError(None, f"unknown environment {environment!r}")
    values = backend_values(runbook, environment)
    timeout = cfg.timeout.total_seconds()
    token = get_secret(cfg.token_secret) if cfg.token_secret else None
    if cfg.backend == "http":
        from cockpit.core.flags.http import HttpFlagBackend  # startup: only the configured backend loads

        return HttpFlagBackend(_url(cfg.url, values), token, timeout=timeout)
    if cfg.backend == "unleash":
        from cockpit.core.flags.unleash import UnleashFlagBackend  # startup: only the configured backend loads

        env = flag_environment(runbook, environment)
        assert env is not None  # FlagsConfig requires [flags] environment for unleash
        return UnleashFlagBackend(_url(cfg.url, values), token, project=cfg.project, environment=env,
                                  timeout=timeout)
    from cockpit.core.flags.command import CommandFlagBackend  # startup: only the configured backend loads

    assert cfg.get and cfg.set  # FlagsConfig requires both for command
    return CommandFlagBackend(cfg.get, cfg.set, cfg.list, on_value=cfg.on_value, off_value=cfg.off_value,
                              timeout=timeout, cwd=runbook.base_dir, values=values, token=token)


def _url(url: str | None, values: dict[str, str | None]) -> str:
    assert url
    try:
        return expand(url, values)
    except PlaceholderError as e:
        raise FlagError(None, f"[flags] url: {e}") from None
