"""Persistence: SQLAlchemy 2 ORM rows, the engine/session set-up and Alembic migrations.

ORM rows never leave this package's callers in the service layer; they are mapped to
domain types and JSON documents with the small functions of :mod:`api.persistence.mapping`.
"""
