"""Test contracts: what every implementation keeps, as classes that each one's tests subclass.

As faststream runs one test body against each broker: the unit tests subclass them for
the stores that need no server (JSON, SQLite), the integration tests for PostgreSQL.
"""
