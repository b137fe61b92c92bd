"""HTTP routes: translate requests to service calls and service results to responses."""

from __future__ import annotations

from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    """A stable, readable OpenAPI ``operationId``: the handler's name in camelCase
    (``create_order`` -> ``createOrder``), so a generated client calls ``create_order`` rather
    than ``create_order_v1_orders_post``. Handler names are part of the API from here on."""
    head, *rest = route.name.split("_")
    return head + "".join(word.capitalize() for word in rest)
