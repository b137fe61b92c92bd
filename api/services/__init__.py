"""The service layer: every rule of the API lives here, between routes and persistence.

Routes only translate HTTP to service calls; services own transactions, validation with
the contract codec, status rules and audit events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from api.persistence.db import create_read_session_factory
from api.services.audit import AuditLog
from api.services.engineers import EngineerService
from api.services.events import EventFeed
from api.services.keys import KeyService
from api.services.orders import OrderService
from api.services.plans import PlanService
from api.services.policy import PolicyService
from api.services.quotes import QuoteService
from api.services.simulations import SimulationService
from api.services.webhooks import WebhookService
from api.settings import Settings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Services:
    keys: KeyService
    policy: PolicyService
    orders: OrderService
    engineers: EngineerService
    plans: PlanService
    simulations: SimulationService
    audit: AuditLog
    quotes: QuoteService
    events: EventFeed
    webhooks: WebhookService


def build_services(
    settings: Settings, sessions: sessionmaker[Session], clock: Clock = utc_now
) -> Services:
    audit = AuditLog(sessions, clock)
    policy = PolicyService(sessions, clock)
    plans = PlanService(sessions, clock, policy, audit, settings)
    return Services(
        keys=KeyService(sessions, clock, audit),
        policy=policy,
        orders=OrderService(
            sessions,
            clock,
            policy,
            audit,
            settings.at_risk_hours,
            read_sessions=create_read_session_factory(sessions),
        ),
        engineers=EngineerService(sessions, clock),
        plans=plans,
        simulations=SimulationService(sessions, clock, settings),
        audit=audit,
        # Quotes answer against the Problem a plan job would snapshot now.
        quotes=QuoteService(sessions, clock, plans.current_problem),
        events=EventFeed(create_read_session_factory(sessions), clock),
        webhooks=WebhookService(sessions, clock),
    )
