"""Durability: every order acknowledged with 2xx survives a SIGKILL of the server, once."""

from __future__ import annotations

import threading
import time

import httpx
from api_harness import ServerFactory
from api_helpers import order_doc, unique


def test_acknowledged_orders_survive_a_kill_exactly_once(server_factory: ServerFactory) -> None:
    server = server_factory()
    key = server.new_key("ticketing")
    tag = unique("DUR")
    acknowledged: list[str] = []
    stop = threading.Event()

    def send() -> None:
        with server.client(key) as client:
            i = 0
            while not stop.is_set():
                order_id = f"{tag}-{i}"
                try:
                    r = client.post("/v1/orders", json=order_doc(order_id))
                except httpx.TransportError:
                    return  # the server died mid-request: not acknowledged
                if r.status_code in (200, 201):
                    acknowledged.append(order_id)
                i += 1

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(1.5)
    server.kill()
    stop.set()
    sender.join(30)
    assert len(acknowledged) > 10, "too few orders sent before the kill to prove anything"

    server.start()
    stored: list[str] = []
    with server.client(key) as client:
        cursor = None
        while True:
            page = client.get(
                "/v1/orders", params={"limit": 500, **({"cursor": cursor} if cursor else {})}
            ).json()
            stored += [o["id"] for o in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
    assert len(stored) == len(set(stored))
    missing = set(acknowledged) - set(stored)
    assert not missing, f"{len(missing)} acknowledged orders lost: {sorted(missing)[:5]}"
