"""Fuzz the API from its own OpenAPI schema: every operation of the members, purchases,
refunds and activities endpoints, positive and negative data, every schemathesis check
(never a 500, statuses, content types and bodies as documented, auth enforced, invalid data
refused, valid data accepted), in-process against the WSGI app."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings

from members.ledger.invariants import ledger_violations
from tests import factories

# The cases call the WSGI app itself, inside the test's transaction.
pytestmark = pytest.mark.usefixtures("wsgi_keeps_test_connection")

OWN_PATHS = r"^/api/v1/(members|purchases|activities)/"


# The schema document is served without a database; the cases run against the test database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", get_wsgi_application()).include(
    path_regex=OWN_PATHS
)


@pytest.fixture
def known_member(program):
    # One known member so that generated cases can reach past the member lookup.
    return factories.MemberFactory(member_number="1000000001", email="fuzz@example.org")


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_from_its_schema(case, api_key, known_member):
    case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"})
    assert ledger_violations() == []
