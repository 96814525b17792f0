"""Sign-off: Release Owner, Rollback Owner, the runbook's other roles (seed 003's Incident Comms Owner)
and the rollback ref, validated against git while typing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from cockpit.core import gitrepo
from cockpit.core.session import ReleaseSession
from cockpit.runbook.roles import DEFAULT_ROLES
from cockpit.runbook.textsafe import printable, shorten


@dataclass(frozen=True)
class SignOffResult:
    release_owner: str
    rollback_owner: str
    rollback_ref: str
    roles: dict[str, str] = field(default_factory=dict)
    """The runbook's other roles -> the person named (blank: nobody yet; GO needs every role)."""


class SignOffScreen(ModalScreen[SignOffResult | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]  # 80x24: a compact form (cockpit.tcss)

    def __init__(self, session: ReleaseSession) -> None:
        super().__init__(classes="modal")
        self.session = session
        self._ref_ok = False
        self.roles = [r for r in session.runbook.release.roles if r not in DEFAULT_ROLES]
        """The roles beyond the two owners, in the runbook's order: one field each."""

    def compose(self) -> ComposeResult:
        s = self.session.state.signoff
        with Vertical(classes="dialog wide", id="signoff"):
            yield Label(Text(f"Sign-off for {self.session.release_id} "
                             f"(target {self.session.target.short})"), classes="title")
            # Label and field side by side at 80x24 (cockpit.tcss), so a runbook's extra roles still fit.
            with Vertical(classes="field"):
                yield Label("Release Owner")
                yield Input(value=s.release_owner if s else self.session.actor.name, id="release-owner")
            with Vertical(classes="field"):
                yield Label("Rollback Owner")
                yield Input(value=s.rollback_owner if s else "", placeholder="who rolls back if it goes wrong",
                            id="rollback-owner")
            for i, role in enumerate(self.roles):
                with Vertical(classes="field"):
                    yield Label(Text(role))
                    yield Input(value=s.named(role) if s else "", placeholder="who holds this role (GO needs it)",
                                id=f"role-{i}")
            with Vertical(classes="field"):
                yield Label("Rollback ref")
                yield Input(value=s.rollback_ref if s else "",
                            placeholder="a known-good tag or SHA before the target — or pick one below",
                            id="rollback-ref")
            yield Static(Text("…", style="dim"), id="ref-status")
            if self.session.runbook.signing is not None:  # "signed with <key>" / "unsigned: why" (proof.py)
                yield Static(Text("signing: …", style="dim"), id="signing")
            yield OptionList(id="candidates")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Record sign-off", id="ok", variant="primary", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#rollback-owner" if self.query_one("#release-owner", Input).value else "#release-owner",
                       Input).focus()
        self.load_candidates()
        self.validate_ref(self.query_one("#rollback-ref", Input).value)
        if self.session.runbook.signing is not None:
            self.show_signing()

    @work(exclusive=True, group="signing", exit_on_error=False)
    async def show_signing(self) -> None:
        status = await asyncio.to_thread(self.session.signing_status)  # may ask ssh-agent
        required = self.session.signatures_required
        style = "green" if status.startswith("signed") else ("bold red" if required else "yellow")
        self.query_one("#signing", Static).update(Text(status, style=style))

    @work(exclusive=True, group="candidates", exit_on_error=False)
    async def load_candidates(self) -> None:
        options = self.query_one("#candidates", OptionList)
        try:
            found = await asyncio.to_thread(gitrepo.rollback_candidates, self.session.runbook.repo_path,
                                            self.session.target.sha)
        except gitrepo.GitRefError as e:
            options.add_option(Option(Text(f"cannot list candidates: {e}", style="red"), disabled=True))
            return
        for c in found:
            label = Text()
            label.append(f"{c.ref:<14}", style="bold" if c.kind == "tag" else "")
            label.append(f" {c.short} {c.when:%Y-%m-%d} ", style="dim")
            label.append(shorten(printable(c.subject, one_line=True), 50))
            options.add_option(Option(label, id=c.ref))

    @on(OptionList.OptionSelected, "#candidates")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        ref = self.query_one("#rollback-ref", Input)
        ref.value = event.option.id or ""
        ref.focus()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id == "rollback-ref":
            self._ref_ok = False
            self.validate_ref(event.value)
        self._enable()

    @work(exclusive=True, group="refcheck", exit_on_error=False)
    async def validate_ref(self, ref: str) -> None:
        status = self.query_one("#ref-status", Static)
        ref = ref.strip()
        if not ref:
            status.update(Text("No rollback ref yet: GO needs one fixed before rollout.", style="yellow"))
            return
        await asyncio.sleep(0.2)  # typing: check once it pauses (exclusive=True cancels the older check)
        problems = await asyncio.to_thread(self.session.validate_rollback_ref, ref)
        if problems:
            status.update(Text("✘ " + "; ".join(problems), style="bold red"))
        else:
            sha = await asyncio.to_thread(gitrepo.resolve, self.session.runbook.repo_path, ref)
            status.update(Text(f"✔ {ref} = {sha[:7]}, an ancestor of the target", style="bold green"))
        self._ref_ok = not problems
        self._enable()

    def _enable(self) -> None:
        filled = all(self.query_one(f"#{i}", Input).value.strip() for i in ("release-owner", "rollback-owner"))
        self.query_one("#ok", Button).disabled = not (filled and self._ref_ok)

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        owner, rollback_owner, ref = (self.query_one(f"#{i}", Input).value.strip()
                                      for i in ("release-owner", "rollback-owner", "rollback-ref"))
        roles = {role: self.query_one(f"#role-{i}", Input).value.strip() for i, role in enumerate(self.roles)}
        self.dismiss(SignOffResult(owner, rollback_owner, ref, roles))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
