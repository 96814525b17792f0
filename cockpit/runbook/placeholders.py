"""`{env.url}`-style placeholders in runbook strings, and where they may stand in a flag command.

Only names listed here are expanded; anything else is a config error, found when the
runbook is loaded rather than in the middle of a cutover. Literal braces are written `{{`/`}}`.

Flag command templates are argv, never shell text: a template is split into words first (shlex's
POSIX rules), placeholders are filled in inside each word, and the words are run without a shell.
A value can therefore never reopen a quote or start a command. What a shell would have read
differently (a pipe, `&&`, `$VAR`) or would read again (a placeholder inside quotes or inside a
`sh -c` script) is refused with the safe spelling: a script that reads $COCKPIT_FLAG.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")

# Names a runbook may use, with what they mean (shown in `cockpit config schema`).
KNOWN = {
    "env.name": "the environment's name (e.g. prod)",
    "env.url": "the environment's url",
    "env.<var>": "any key of the environment's [environments.<name>.vars] table",
    "release.name": "[release] name",
    "target": "the target ref as given (e.g. origin/main)",
    "target_sha": "the full SHA the target ref resolves to",
    "rollback_ref": "the rollback ref recorded at sign-off",
    "ref": "in [rollback] deploy: the ref to deploy (the recorded rollback ref); in a stage's command step: the target ref",
    "sha": "in a stage's command step: the full SHA being released",
    "short_sha": "in a stage's command step: the SHA being released, 7 characters",
    "flag": "in [flags] command templates: the flag's name",
    "value": "in [flags] command templates: on/off rendered by the backend",
    "stage": "the id of the stage being worked on",
}


class PlaceholderError(ValueError):
    """A placeholder that is unknown or has no value here."""


# In a PromQL query, braces are PromQL's own label matchers (`{code=~"5.."}`): only a brace holding a
# bare name alone (`{env.name}`, never valid PromQL) is a placeholder; `{{`/`}}` still stand for braces.
_PROMQL_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def names_in(template: str, *, promql: bool = False) -> list[str]:
    pattern = _PROMQL_FIELD if promql else _FIELD
    return [m.group(1) for m in pattern.finditer(template) if m.group(1) is not None]


def check_names(template: str, allowed: set[str] | None = None, *, promql: bool = False) -> None:
    """Raise PlaceholderError for names a runbook may not use in this field."""
    for name in names_in(template, promql=promql):
        ok = name in KNOWN or (name.startswith("env.") and len(name) > 4)
        if allowed is not None:
            ok = ok and (name in allowed or (name.startswith("env.") and "env.*" in allowed))
        if not ok:
            raise PlaceholderError(f"unknown placeholder {{{name}}}; known: {', '.join(sorted(KNOWN))}")


def expand(template: str, values: Mapping[str, str | None], *, quote: bool = False, promql: bool = False) -> str:
    """Substitute placeholders; `quote=True` shell-quotes each value (command templates); `promql=True`
    leaves PromQL's own braces alone."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        name = m.group(1)
        value = values.get(name)
        if value is None:
            raise PlaceholderError(f"placeholder {{{name}}} has no value here")
        return shlex.quote(value) if quote else value

    return (_PROMQL_FIELD if promql else _FIELD).sub(sub, template)


# -- flag names --------------------------------------------------------------------------------

FLAG_NAME_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$"
"""What every supported flag system names flags with (env vars, Unleash, the §5 API); nothing a
shell, a URL or a terminal would read as syntax."""
_FLAG_NAME = re.compile(FLAG_NAME_REGEX)


def flag_name_problem(name: str) -> str | None:
    """None for a valid flag name, else why not (the name shown escaped, never raw)."""
    if _FLAG_NAME.fullmatch(name):
        return None
    if not name:
        return "a flag name cannot be empty"
    shown = ascii(name) if len(name) <= 60 else ascii(name[:60]) + "…"
    if len(name) > 200:
        return f"flag name {shown} is {len(name)} characters long; at most 200"
    return (f"flag name {shown} may hold only letters, digits and . _ : - (starting with a letter or digit); "
            "no spaces, quotes or shell characters")


# -- flag command templates: argv, never a shell -------------------------------------------------

_SUGGEST = ("commands run without a shell: for a pipeline or redirection write "
            "sh -c '... \"$COCKPIT_FLAG\" ...' and read the flag's name from $COCKPIT_FLAG and its "
            "value from $COCKPIT_VALUE")
# Unquoted, these would be shell syntax; without a shell they would reach the program as text.
_SHELL_SYNTAX = re.compile(r"[|&;<>()$`]")
# Programs that run their option's argument as code: a placeholder there would be parsed again.
_SCRIPT_OPTIONS = {"sh": "c", "bash": "c", "dash": "c", "zsh": "c", "ksh": "c", "mksh": "c", "ash": "c",
                   "busybox": "c", "python": "c", "perl": "eE", "ruby": "e", "node": "ep", "php": "r"}


@dataclass(frozen=True)
class Piece:
    """A run of one word's characters, and whether they were quoted (or escaped) in the template."""

    text: str
    quoted: bool


def split_command(template: str) -> list[list[Piece]]:
    """The template's words as shlex.split(template) gives them (POSIX rules, no comments), each word
    as its pieces, so that what stood inside quotes is known. PlaceholderError when a quote is left open."""
    words: list[list[Piece]] = []
    word: list[Piece] | None = None
    i, n = 0, len(template)

    def add(text: str, quoted: bool) -> None:
        nonlocal word
        if word is None:
            word = []
        if text:
            if word and word[-1].quoted == quoted:
                word[-1] = Piece(word[-1].text + text, quoted)
            else:
                word.append(Piece(text, quoted))

    while i < n:
        c = template[i]
        if c in " \t\r\n":
            if word is not None:
                words.append(word)
                word = None
            i += 1
        elif c == "'":
            end = template.find("'", i + 1)
            if end < 0:
                raise PlaceholderError("No closing quotation: a ' is left open")
            add(template[i + 1:end], True)
            i = end + 1
        elif c == '"':
            i += 1
            buf = []
            while True:
                if i >= n:
                    raise PlaceholderError('No closing quotation: a " is left open')
                c = template[i]
                if c == '"':
                    break
                if c == "\\" and i + 1 < n and template[i + 1] in '"\\':
                    i += 1
                    c = template[i]
                buf.append(c)
                i += 1
            add("".join(buf), True)
            i += 1
        elif c == "\\":
            if i + 1 >= n:
                raise PlaceholderError("the template ends in a lone backslash (No escaped character)")
            add(template[i + 1], True)
            i += 2
        else:
            j = i
            while j < n and template[j] not in " \t\r\n'\"\\":
                j += 1
            add(template[i:j], False)
            i = j
    if word is not None:
        words.append(word)
    return words


def check_command(template: str) -> None:
    """Raise PlaceholderError, with the safe spelling, for a flag command template that a value could
    escape from or that relies on a shell it will not get."""
    words = split_command(template)
    if not words:
        raise PlaceholderError("the command is empty")
    for word in words:
        for k, piece in enumerate(word):
            if piece.quoted:
                for name in names_in(piece.text):
                    raise PlaceholderError(
                        f"{{{name}}} is inside quotes, where a shell would read its value again; write it "
                        f"unquoted as an argument of its own (e.g. printenv {{{name}}}), or {_SUGGEST}")
            else:
                bad = _SHELL_SYNTAX.search(piece.text)
                if bad:
                    raise PlaceholderError(f"{bad.group(0)!r} is shell syntax, but {_SUGGEST}")
                if k == 0 and piece.text.startswith("#"):
                    raise PlaceholderError(f"'#' would start a comment in a shell, but {_SUGGEST}")
    texts = ["".join(p.text for p in w) for w in words]
    for i, program in enumerate(texts):
        base = re.sub(r"[0-9.]+$", "", os.path.basename(program))
        letters = _SCRIPT_OPTIONS.get(base)
        if not letters:
            continue
        for j in range(i + 1, len(texts) - 1):
            opt = texts[j]
            if not (opt.startswith("-") and not opt.startswith("--") and opt[1:].isalpha()):
                break  # the first operand: a script file, not an option
            if any(c in letters for c in opt[1:]):
                names = names_in(texts[j + 1])
                if names:
                    raise PlaceholderError(
                        f"{{{names[0]}}} is in the script of {os.path.basename(program)} {opt}, which parses "
                        f"it again as code; pass it as an argument after the script (\"$1\"), or {_SUGGEST}")
                break


def command_argv(template: str, values: Mapping[str, str | None]) -> list[str]:
    """The template's argv with placeholders filled in inside each word: a value is always part of one
    argument, whatever characters it holds."""
    return ["".join(expand(p.text, values) for p in word) for word in split_command(template)]
