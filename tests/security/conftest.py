"""The API fixtures of ``tests/api`` (a real node behind a TestClient), shared here."""

from tests.api.conftest import annotator, auth, client, services, settings

__all__ = ["annotator", "auth", "client", "services", "settings"]
