"""Faults on demand: rate limit, random 5xx, latency, creates committed then 5xx."""

from __future__ import annotations

import time

import cloudflare
import httpx
import pytest

from cloudflare_byoip.emulator.faults import EVERY_CREATE
from cloudflare_byoip.emulator.server import RunningEmulator
from tests.conftest import ACCOUNT_ID, PREFIX_V4_BOUND, TOKEN


def cdn_id(client: cloudflare.Cloudflare) -> str:
    listed = client.addressing.services.list(account_id=ACCOUNT_ID)
    return next(s.id for s in listed if s.name == "CDN" and s.id)


def state_bindings(emulator: RunningEmulator) -> list[tuple[str, str]]:
    state = httpx.get(emulator.state_url).json()
    bindings = state["accounts"][ACCOUNT_ID]["prefixes"][PREFIX_V4_BOUND]["bindings"]
    return [(b["cidr"], b["service_name"]) for b in bindings]


def test_rate_limit_answers_429_with_retry_after_and_ratelimit_headers(
    emulator: RunningEmulator,
) -> None:
    emulator.faults.rate_limit = 2
    emulator.faults.rate_limit_window = 30
    url = f"{emulator.base_url}/accounts/{ACCOUNT_ID}/addressing/services"
    headers = {"Authorization": f"Bearer {TOKEN}"}

    answers = [httpx.get(url, headers=headers) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    limited = answers[2]
    assert 1 <= int(limited.headers["Retry-After"]) <= 30
    assert limited.headers["Ratelimit"].startswith('"default";r=0;t=')
    assert limited.headers["Ratelimit-Policy"] == '"default";q=2;w=30'
    assert limited.json()["success"] is False
    assert limited.json()["errors"][0]["code"] == 971
    assert answers[0].headers["Ratelimit"].startswith('"default";r=1;')


def test_rate_limited_sdk_without_retries_raises_rate_limit_error(
    emulator: RunningEmulator,
) -> None:
    emulator.faults.rate_limit = 1
    emulator.faults.rate_limit_window = 30
    client = cloudflare.Cloudflare(
        api_token=TOKEN, base_url=emulator.base_url, max_retries=0
    )

    with client:
        client.addressing.prefixes.list(account_id=ACCOUNT_ID)
        with pytest.raises(cloudflare.RateLimitError):
            client.addressing.prefixes.list(account_id=ACCOUNT_ID)


def test_sdk_retries_ride_through_the_rate_limit(
    emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
) -> None:
    emulator.faults.rate_limit = 3
    emulator.faults.rate_limit_window = 1

    prefixes = [
        len(list(cf_client.addressing.prefixes.list(account_id=ACCOUNT_ID)))
        for _ in range(5)
    ]

    assert prefixes == [3] * 5
    assert emulator.faults.rate_limited >= 1


def test_sdk_retries_ride_through_random_5xx(
    emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
) -> None:
    emulator.faults.reseed(7)
    emulator.faults.fail_rate = 0.3
    emulator.faults.fail_retry_after = 0.01

    counts = [
        len(
            list(
                cf_client.addressing.prefixes.service_bindings.list(
                    PREFIX_V4_BOUND, account_id=ACCOUNT_ID
                )
            )
        )
        for _ in range(10)
    ]

    assert counts == [1] * 10
    assert emulator.faults.injected_failures >= 2


def test_random_5xx_answers_are_500_502_or_503_envelopes(
    emulator: RunningEmulator,
) -> None:
    emulator.faults.fail_rate = 1.0
    url = f"{emulator.base_url}/accounts/{ACCOUNT_ID}/addressing/services"

    answers = [
        httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}) for _ in range(12)
    ]

    assert {a.status_code for a in answers} <= {500, 502, 503}
    assert len({a.status_code for a in answers}) >= 2
    assert all(a.json()["success"] is False for a in answers)


def test_latency_is_added_to_each_answer(
    emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
) -> None:
    emulator.faults.latency_ms = 150
    started = time.monotonic()

    cf_client.addressing.prefixes.list(account_id=ACCOUNT_ID)

    assert time.monotonic() - started >= 0.15


def test_create_committed_then_5xx_shows_in_state(
    emulator: RunningEmulator,
) -> None:
    emulator.faults.fail_after_create = 1
    client = cloudflare.Cloudflare(
        api_token=TOKEN, base_url=emulator.base_url, max_retries=0
    )

    with client, pytest.raises(cloudflare.InternalServerError):
        client.addressing.prefixes.service_bindings.create(
            PREFIX_V4_BOUND,
            account_id=ACCOUNT_ID,
            cidr="203.0.113.128/25",
            service_id=cdn_id(client),
        )

    assert ("203.0.113.128/25", "CDN") in state_bindings(emulator)
    assert emulator.faults.fail_after_create == 0
    assert emulator.faults.failed_creates == 1


def test_blind_retry_of_a_lost_create_hits_the_duplicate_rule(
    emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
) -> None:
    emulator.faults.fail_after_create = 1

    with pytest.raises(cloudflare.BadRequestError) as caught:
        cf_client.addressing.prefixes.service_bindings.create(
            PREFIX_V4_BOUND,
            account_id=ACCOUNT_ID,
            cidr="203.0.113.128/25",
            service_id=cdn_id(cf_client),
        )

    body = caught.value.body
    assert isinstance(body, dict) and body["errors"][0]["code"] == 1003
    assert state_bindings(emulator).count(("203.0.113.128/25", "CDN")) == 1


def test_every_create_mode_fails_each_create_after_committing(
    emulator: RunningEmulator,
) -> None:
    emulator.faults.fail_after_create = EVERY_CREATE
    client = cloudflare.Cloudflare(
        api_token=TOKEN, base_url=emulator.base_url, max_retries=0
    )

    with client:
        service_id = cdn_id(client)
        for cidr in ("203.0.113.0/28", "203.0.113.16/28"):
            with pytest.raises(cloudflare.InternalServerError):
                client.addressing.prefixes.service_bindings.create(
                    PREFIX_V4_BOUND,
                    account_id=ACCOUNT_ID,
                    cidr=cidr,
                    service_id=service_id,
                )

    assert state_bindings(emulator)[1:] == [
        ("203.0.113.0/28", "CDN"),
        ("203.0.113.16/28", "CDN"),
    ]
    assert emulator.faults.fail_after_create == EVERY_CREATE


def test_state_view_is_exempt_from_faults(emulator: RunningEmulator) -> None:
    emulator.faults.fail_rate = 1.0
    emulator.faults.rate_limit = 1

    answers = [httpx.get(emulator.state_url) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
