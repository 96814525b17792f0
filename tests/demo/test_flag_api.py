"""The demo target's flag API speaks ARCHITECTURE §5 exactly, over real HTTP."""

from __future__ import annotations

import threading
import time

import httpx

from cockpit.demo import DemoTarget
from cockpit.demo.state import SEED_FLAGS

FLAG = "MARKETPLACE_AVAILABILITY_ENABLED"
BODY = {"enabled": True, "reason": "layer-1 rollout", "actor": "alice"}


def admin(target: DemoTarget, key: str | None = None) -> dict[str, str]:
    h = {"Authorization": f"Bearer {target.token}"}
    if key:
        h["Idempotency-Key"] = key
    return h


def test_list_holds_every_seed_flag_off(target: DemoTarget, client: httpx.Client) -> None:
    r = client.get("/admin/flags")
    assert r.status_code == 200
    flags = r.json()["flags"]
    assert {f["name"] for f in flags} >= set(SEED_FLAGS)
    assert all(f["enabled"] is False for f in flags)
    assert target.flags_url == target.url + "/admin"


def test_get_one_and_unknown(client: httpx.Client) -> None:
    assert client.get(f"/admin/flags/{FLAG}").json() == {"name": FLAG, "enabled": False}
    assert client.get("/admin/flags/NO_SUCH_FLAG").status_code == 404


def test_put_changes_the_flag_and_is_recorded(target: DemoTarget, client: httpx.Client) -> None:
    r = client.put(f"/admin/flags/{FLAG}", json=BODY, headers=admin(target, "k-1"))
    assert r.status_code == 200 and r.json() == {"name": FLAG, "enabled": True}
    assert client.get(f"/admin/flags/{FLAG}").json()["enabled"] is True
    [rec] = target.flags.requests
    assert (rec.name, rec.enabled, rec.reason, rec.actor, rec.idempotency_key, rec.status) == (
        FLAG, True, "layer-1 rollout", "alice", "k-1", 200)


def test_auth_401_without_or_with_wrong_token_403_read_only(target: DemoTarget, client: httpx.Client) -> None:
    assert client.put(f"/admin/flags/{FLAG}", json=BODY).status_code == 401
    r = client.put(f"/admin/flags/{FLAG}", json=BODY, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == "Bearer"
    r = client.put(f"/admin/flags/{FLAG}", json=BODY, headers={"Authorization": target.token})  # no scheme
    assert r.status_code == 401
    r = client.put(f"/admin/flags/{FLAG}", json=BODY, headers={"Authorization": f"Bearer {target.read_token}"})
    assert r.status_code == 403
    assert client.get(f"/admin/flags/{FLAG}").json()["enabled"] is False
    assert [q.status for q in target.flags.requests] == [401, 401, 401, 403]


def test_put_unknown_flag_404(target: DemoTarget, client: httpx.Client) -> None:
    assert client.put("/admin/flags/NOPE", json=BODY, headers=admin(target)).status_code == 404


def test_bad_bodies_400(target: DemoTarget, client: httpx.Client) -> None:
    url = f"/admin/flags/{FLAG}"
    assert client.put(url, content=b"{not json", headers=admin(target)).status_code == 400
    assert client.put(url, json={"enabled": "yes", "reason": "r", "actor": "a"}, headers=admin(target)).status_code == 400
    r = client.put(url, json={"enabled": True, "actor": "a"}, headers=admin(target))
    assert r.status_code == 400 and "reason" in r.json()["error"]
    assert client.put(url, content=b"x" * 70_000, headers=admin(target)).status_code == 400
    assert client.get(url).json()["enabled"] is False


def test_idempotency_key_replay_changes_nothing(target: DemoTarget, client: httpx.Client) -> None:
    url = f"/admin/flags/{FLAG}"
    first = client.put(url, json=BODY, headers=admin(target, "same"))
    # someone else turns it off in between; replaying the old key must not turn it back on
    client.put(url, json={**BODY, "enabled": False}, headers=admin(target, "other"))
    replay = client.put(url, json=BODY, headers=admin(target, "same"))
    assert replay.status_code == first.status_code == 200
    assert replay.json() == first.json() == {"name": FLAG, "enabled": True}
    assert client.get(url).json()["enabled"] is False
    assert target.flags.changes[FLAG] == 2
    assert [r.replayed for r in target.flags.requests] == [False, False, True]
    # the same key for a different change is refused, not silently replayed
    assert client.put(url, json={**BODY, "enabled": False}, headers=admin(target, "same")).status_code == 422


def test_fails_twice_then_succeeds_with_the_same_key(target: DemoTarget, client: httpx.Client) -> None:
    target.fail_next(2, status=503)
    url = f"/admin/flags/{FLAG}"
    statuses = [client.put(url, json=BODY, headers=admin(target, "retry-1")).status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert target.flags.changes[FLAG] == 1
    assert [r.status for r in target.flags.requests] == [503, 503, 200]


def test_fail_next_only_for_one_flag_and_for_gets(target: DemoTarget, client: httpx.Client) -> None:
    target.fail_next(1, status=502, flag="MARKETPLACE_FEES_ENABLED", methods=("GET", "PUT"))
    assert client.put(f"/admin/flags/{FLAG}", json=BODY, headers=admin(target)).status_code == 200
    assert client.get("/admin/flags/MARKETPLACE_FEES_ENABLED").status_code == 502
    assert client.get("/admin/flags/MARKETPLACE_FEES_ENABLED").status_code == 200


def test_conflict_409_while_locked(target: DemoTarget, client: httpx.Client) -> None:
    assert client.post(f"/_demo/flags/{FLAG}/lock").status_code == 200
    assert client.put(f"/admin/flags/{FLAG}", json=BODY, headers=admin(target)).status_code == 409
    client.delete(f"/_demo/flags/{FLAG}/lock")
    assert client.put(f"/admin/flags/{FLAG}", json=BODY, headers=admin(target)).status_code == 200
    target.fail_next(1, status=409)
    assert client.put(f"/admin/flags/{FLAG}", json=BODY, headers=admin(target)).status_code == 409


def test_programmed_delay_times_out_a_client_and_stop_does_not_wait_for_it() -> None:
    t = DemoTarget().start()
    t.fail_next(1, status=503, delay=60)
    with httpx.Client(base_url=t.url) as c:
        started = time.monotonic()
        try:
            c.put(f"/admin/flags/{FLAG}", json=BODY, headers=admin(t), timeout=0.3)
            raise AssertionError("the request should have timed out")
        except httpx.ReadTimeout:
            pass
        assert time.monotonic() - started < 2
    done = threading.Event()
    threading.Thread(target=lambda: (t.stop(), done.set()), daemon=True).start()
    assert done.wait(5), "stop() hung on a sleeping handler"


def test_read_auth_can_be_required(target: DemoTarget, client: httpx.Client) -> None:
    target.flags_read_auth = True
    assert client.get("/admin/flags").status_code == 401
    assert client.get("/admin/flags", headers={"Authorization": f"Bearer {target.read_token}"}).status_code == 200


def test_concurrent_puts_are_all_recorded(target: DemoTarget) -> None:
    shared = httpx.Client(base_url=target.url, timeout=5, limits=httpx.Limits(max_connections=20))

    def flip(i: int) -> int:
        return shared.put(f"/admin/flags/{FLAG}", json={**BODY, "enabled": i % 2 == 0},
                          headers=admin(target, f"k{i}")).status_code

    results: list[int] = []
    threads = [threading.Thread(target=lambda i=i: results.append(flip(i))) for i in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    shared.close()
    assert results == [200] * 20
    assert len(target.flags.requests) == 20
    assert len({r.idempotency_key for r in target.flags.requests}) == 20
