"""Load a Problem document (e.g. ``fixtures/demo.json``) into the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api.services import Services
from dispatcher.errors import InputError

DEMO_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "demo.json"


def load_document(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(str(path), "expected an existing Problem file, found none") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(str(path), f"expected a readable JSON file ({exc})") from None
    if not isinstance(data, dict):
        raise InputError(str(path), "expected a Problem document (a JSON object)")
    return data


def load_problem_into(services: Services, document: dict[str, Any], actor: str) -> dict[str, Any]:
    """Store the document's policy, engineers and orders; orders are idempotent by id."""
    if document.get("policy") is not None:
        services.orders.replace_policy(document["policy"], actor)
    engineers = 0
    for i, engineer in enumerate(document.get("engineers") or []):
        if not isinstance(engineer, dict) or not isinstance(engineer.get("id"), str):
            raise InputError(f"engineers[{i}].id", "expected a non-empty string")
        services.engineers.put(engineer["id"], engineer)
        engineers += 1
    created = replayed = 0
    for order in document.get("orders") or []:
        _, is_new = services.orders.create(order, actor)
        created += is_new
        replayed += not is_new
    return {
        "engineers": engineers,
        "orders_created": created,
        "orders_already_there": replayed,
        "planning_start": document.get("planning_start"),
    }
