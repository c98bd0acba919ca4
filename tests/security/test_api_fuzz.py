"""The whole API fuzzed from its own OpenAPI document, in-process against the WSGI app.

Two phases: every operation alone with generated data (positive and negative, every
schemathesis check), and the stateful phase, where schemathesis chains calls along the
document's links (inferred, plus the few added below: a new member buys, a purchase is
refunded, a redemption's voucher is used) and checks each answer. After every case and every
scenario, every ledger invariant holds."""

from __future__ import annotations

import json

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from members.api_keys import api_key_create, store_get_or_create
from members.ledger.invariants import ledger_violations
from tests import factories
from tests.rewards.support import fund

# The cases call the WSGI app itself, inside the test's transaction.
pytestmark = pytest.mark.usefixtures("wsgi_keeps_test_connection")

MEMBER = "$response.body#/member_number"
# Links the schema generator cannot know: where one answer's ids feed the next request.
EXTRA_LINKS = {
    ("/api/v1/members/", "post", "201"): {
        "MemberBuys": {"operationId": "purchases_create", "requestBody": {"member": MEMBER}},
        "MemberRedeems": {"operationId": "redemptions_create", "requestBody": {"member": MEMBER}},
        "MemberActs": {"operationId": "activities_create", "requestBody": {"member": MEMBER}},
    },
    ("/api/v1/purchases/", "post", "201"): {
        "PurchaseRefunded": {
            "operationId": "purchases_refunds_create",
            "parameters": {"path.external_id": "$response.body#/external_id"},
        },
        "PurchaseBuyer": {
            "operationId": "members_retrieve",
            "parameters": {"path.member_number": "$response.body#/member"},
        },
    },
    ("/api/v1/redemptions/", "post", "201"): {
        "VoucherUsed": {
            "operationId": "vouchers_use",
            "parameters": {"path.voucher_code": "$response.body#/voucher_code"},
        },
        "RedeemerLedger": {
            "operationId": "members_transactions",
            "parameters": {"path.member_number": "$response.body#/member"},
        },
    },
}


def _document() -> dict:
    document = json.loads(Client().get("/api/v1/schema/", HTTP_ACCEPT="application/json").content)
    for (path, method, status), links in EXTRA_LINKS.items():
        document["paths"][path][method]["responses"][status].setdefault("links", {}).update(links)
    return document


# A schema-valid request may still break a rule that spans fields, which OpenAPI cannot state
# and the contract answers with 400: purchase lines that do not add up to the amount, a refund
# of more than is left, a social share without its link, a webhook URL that is not public https.
# For those operations alone, 400 is an accepted answer to valid data.
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-operation-id": [
                    "purchases_create",
                    "purchases_refunds_create",
                    "activities_create",
                    "webhooks_create",
                ],
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
                    }
                },
            }
        ]
    }
)

app = get_wsgi_application()
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)
schema.app = app
schema.location = "/api/v1/schema/"

# The key of the current test's store; the auth provider reads it for every call, so that
# schemathesis knows the key is real (and probes without it, or with a forged one, on its own).
CURRENT_KEY: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class StoreKey:
    def get(self, case, context) -> str:
        return CURRENT_KEY.get("raw", "lk_not_yet_issued")

    def set(self, case, data: str, context) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


FUZZ_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@pytest.fixture
def world(program, settings):
    """The default program with its rewards and action rules, a member with points, a store key.
    The fuzzer sends forged keys on purpose and often: the wrong-key limit (tested on its own in
    tests/api/test_wrong_key_throttle.py) would soon answer its valid calls with 429."""
    settings.API_FAILED_KEY_RATE = "off"
    from campaigns.demo import seed_program as seed_action_rules
    from rewards.demo import seed_program as seed_rewards

    seed_rewards()
    seed_action_rules()
    known = factories.MemberFactory(member_number="1000000002", email="stateful@example.org")
    fund(known, 5000, "fuzz-gift")
    _, CURRENT_KEY["raw"] = api_key_create(store=store_get_or_create(name="Fuzz Till"), name="fuzz")
    yield known
    CURRENT_KEY.clear()


@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation_survives_generated_input(case, world):
    case.call_and_validate()
    assert ledger_violations() == []


def test_stateful_scenarios_over_the_whole_api(world):
    base = schema.as_state_machine()

    class Scenarios(base):  # type: ignore[misc, valid-type]
        """Each scenario starts from the same database: it runs inside a savepoint that is
        rolled back after it (the requests share the test's connection), so a replay while
        shrinking meets the same answers."""

        def setup(self):
            super().setup()
            self.savepoint = transaction.savepoint()

        def teardown(self):
            try:
                assert ledger_violations() == []
            finally:
                transaction.savepoint_rollback(self.savepoint)
                cache.clear()
            super().teardown()

    Scenarios.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
    )
