"""Persistence: SQLAlchemy 2 models, queries and Alembic migrations.

The store knows nothing of the wire format or the product's rules.
"""
