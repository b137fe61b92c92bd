"""Engineers: create/replace, read, position and absence updates, delete."""

from __future__ import annotations

import httpx
from api_helpers import engineer_doc, unique


def test_put_creates_then_replaces(coordinator: httpx.Client) -> None:
    eid = unique("E")
    r = coordinator.put(f"/v1/engineers/{eid}", json=engineer_doc())
    assert r.status_code == 201, r.text
    r = coordinator.put(f"/v1/engineers/{eid}", json=engineer_doc(skills=["plc"]))
    assert r.status_code == 200
    assert coordinator.get(f"/v1/engineers/{eid}").json()["engineer"]["skills"] == ["plc"]
    ids = [e["id"] for e in coordinator.get("/v1/engineers", params={"limit": 500}).json()["items"]]
    assert eid in ids


def test_put_rejects_a_mismatched_id_and_bad_fields(coordinator: httpx.Client) -> None:
    eid = unique("E")
    r = coordinator.put(f"/v1/engineers/{eid}", json=engineer_doc(id="other"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "id"
    r = coordinator.put(f"/v1/engineers/{eid}", json=engineer_doc(timezone="Mars/Olympus"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "timezone"


def test_status_updates_position_and_absences(coordinator: httpx.Client) -> None:
    eid = unique("E")
    coordinator.put(f"/v1/engineers/{eid}", json=engineer_doc())
    current = {
        "location": {"lat": 31.2, "lon": 121.5},
        "available_from": "2026-11-23T14:00:00+08:00",
    }
    absence = {
        "start": "2026-11-24T00:00:00+08:00",
        "end": "2026-11-25T00:00:00+08:00",
        "reason": "sick",
    }
    r = coordinator.post(
        f"/v1/engineers/{eid}/status", json={"current": current, "absences": [absence]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["engineer"]["current"] == current
    assert r.json()["absences"] == [
        {"start": "2026-11-23T16:00:00Z", "end": "2026-11-24T16:00:00Z", "reason": "sick"}
    ]
    r = coordinator.post(f"/v1/engineers/{eid}/status", json={"current": None})
    assert "current" not in r.json()["engineer"]
    bad = {"absences": [{"start": "2026-11-25T00:00:00Z", "end": "2026-11-24T00:00:00Z"}]}
    r = coordinator.post(f"/v1/engineers/{eid}/status", json=bad)
    assert r.status_code == 422
    assert r.json()["errors"][0]["path"] == "absences[0].end"


def test_delete_removes_the_engineer(coordinator: httpx.Client) -> None:
    eid = unique("E")
    coordinator.put(f"/v1/engineers/{eid}", json=engineer_doc())
    assert coordinator.delete(f"/v1/engineers/{eid}").status_code == 204
    assert coordinator.get(f"/v1/engineers/{eid}").status_code == 404
    assert coordinator.delete(f"/v1/engineers/{eid}").status_code == 404
    assert (
        coordinator.post(f"/v1/engineers/{eid}/status", json={"current": None}).status_code == 404
    )
