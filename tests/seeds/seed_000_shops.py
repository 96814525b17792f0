"""Seed 000's two shops.

Staging (§2.2: "отдельный Strapi instance, отдельная Postgres БД"): a second shop beside the harness's one,
with a database, a Redis and a state of its own, on the same checkout and origin, so the same SHA can pass
staging before production. The twin starts as production did (the known-good 1.0.0 deployed, the database at
schema 2 with the same products, every flag off). Commands run through it (`twin.run`, `twin.cockpit`) get
staging's database in libpq's environment and kubectl/docker doubles that change staging's state — what a
release machine's staging context gives its commands. The doubles are the harness's own (tests/seeds/fakes),
TEST DOUBLES for a cluster and a registry that cannot run here; PostgreSQL, Redis and git are real.

And the flag API's answer to a PUT sent once the new state is written (`answer_after_write`), until the
harness's shop does so itself.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

from tests.seeds import runbook_copy
from tests.seeds import shop as shop_module
from tests.seeds.harness import PRODUCTS, Harness
from tests.seeds.shop import Shop


def staging_twin(h: Harness, root: Path, dsn: str) -> Harness:
    """A twin of `h` (made before anything ran against it) on the empty database `dsn`, its files in `root`."""
    twin = copy.copy(h)
    root.mkdir(parents=True)
    twin.root, twin.dsn = root, dsn
    twin.state_path, twin.calls_path, twin.bin = root / "shop-state.json", root / "calls.jsonl", root / "bin"
    twin.calls_path.touch()
    twin.metrics_job = f"{h.metrics_job}-staging"   # its own series in the suite's Prometheus
    shutil.copyfile(h.state_path, twin.state_path)
    twin._write_bin()
    migrated = twin.run(["bash", "scripts/migrate.sh", "up", "2"])
    if migrated.returncode:
        raise RuntimeError(f"could not migrate staging's database: {migrated.stderr}")
    twin.shop = Shop(twin.state_path, dsn)
    for name, price in PRODUCTS:
        twin.shop.sql("insert into products (name, price_cents) values (%s, %s)", name, price)
    twin.shop.start()
    return twin


def point_staging_at(h: Harness, twin: Harness, vars: dict[str, str]) -> None:
    """The installed runbook's [environments.staging] at the twin's shop (install_runbook pointed every
    environment at `h`'s) and the twin's job in Prometheus; `{url}` in a var is the twin's url."""
    path = h.runbook_path
    assert path is not None, "install_runbook() first"
    text = path.read_text(encoding="utf-8")
    given = {**twin.metric_vars, **{k: v.replace("{url}", twin.shop.url) for k, v in vars.items()}}
    text = runbook_copy.set_table(text, "environments.staging", {"url": twin.shop.url, "vars": given})
    path.write_text(text, encoding="utf-8")
    h.runbook()  # still a runbook the cockpit accepts


class _AnswerAfterWrite(shop_module._Handler):
    """The shop's flag API as the harness serves it answers a PUT inside its state update, before the new state
    is written, so a read-back that follows at once may see the old value (the cockpit reads every flip back,
    and calls that a failed flip). This handler sends the same answer once the write is done."""

    def do_PUT(self) -> None:
        held: list[tuple] = []
        send = self.send
        self.send = lambda *args: held.append(args)  # type: ignore[method-assign]
        try:
            super().do_PUT()
        finally:
            del self.send
        for args in held:
            send(*args)


def answer_after_write(shop: Shop) -> None:
    shop._server.RequestHandlerClass = _AnswerAfterWrite
