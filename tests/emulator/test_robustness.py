"""Bad input of every kind gets a 4xx in Cloudflare's envelope, never a 500."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudflare_byoip.emulator.app import MAX_BODY_BYTES, STATE_PATH, EmulatorApp
from cloudflare_byoip.emulator.models import Emulator, service_id
from cloudflare_byoip.emulator.server import RunningEmulator
from tests.conftest import (
    ACCOUNT_ID,
    DEFAULT_BINDING_ID,
    PREFIX_V4_BOUND,
    PREFIX_V6_FREE,
    TEST_SEED,
    TOKEN,
)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
BINDINGS = f"/accounts/{ACCOUNT_ID}/addressing/prefixes/{PREFIX_V4_BOUND}/bindings"


def assert_envelope(answer: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()
    assert isinstance(body["success"], bool)
    assert isinstance(body["errors"], list)
    assert isinstance(body["messages"], list)
    if not body["success"]:
        assert body["errors"], "a failed answer names at least one error"
        for error in body["errors"]:
            assert isinstance(error["code"], int) and error["code"] >= 971
            assert isinstance(error["message"], str) and error["message"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("GET", "/nothing/here", 404, 7000),
        ("GET", f"/accounts/{ACCOUNT_ID}/addressing", 404, 7000),
        ("GET", f"/accounts/{ACCOUNT_ID}/addressing/services/extra", 404, 7000),
        ("POST", f"/accounts/{ACCOUNT_ID}/addressing/services", 405, 7001),
        ("PUT", f"{BINDINGS}/{DEFAULT_BINDING_ID}", 405, 7001),
        ("PATCH", BINDINGS, 405, 7001),
        ("DELETE", BINDINGS, 405, 7001),
    ],
)
def test_unknown_paths_and_wrong_methods(
    emulator: RunningEmulator, method: str, path: str, status: int, code: int
) -> None:
    answer = httpx.request(method, emulator.base_url + path, headers=AUTH)

    assert answer.status_code == status
    assert assert_envelope(answer)["errors"][0]["code"] == code


def test_paths_outside_the_api_are_404_envelopes(emulator: RunningEmulator) -> None:
    answer = httpx.get(emulator.root_url + "/favicon.ico")

    assert answer.status_code == 404
    assert assert_envelope(answer)["errors"][0]["code"] == 7000


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, 6007),
        (b"\xff\xfe", 400, 6007),
        (b"[1, 2]", 400, 1003),
        (b"{}", 400, 1003),
        (b'{"cidr": "203.0.113.0/28"}', 400, 1003),
        (b'{"cidr": 5, "service_id": "x"}', 400, 1003),
        (b'{"cidr": "203.0.113.0/28", "service_id": null}', 400, 1003),
        (b"", 400, 1003),
    ],
)
def test_malformed_create_bodies(
    emulator: RunningEmulator, body: bytes, status: int, code: int
) -> None:
    answer = httpx.post(emulator.base_url + BINDINGS, content=body, headers=AUTH)

    assert answer.status_code == status
    assert assert_envelope(answer)["errors"][0]["code"] == code


def test_oversized_body_is_413(emulator: RunningEmulator) -> None:
    body = json.dumps({"cidr": "203.0.113.0/28", "pad": "x" * MAX_BODY_BYTES})

    answer = httpx.post(emulator.base_url + BINDINGS, content=body, headers=AUTH)

    assert answer.status_code == 413
    assert_envelope(answer)


def test_oversized_chunked_body_is_413(emulator: RunningEmulator) -> None:
    def chunks() -> Any:
        for _ in range(5):
            yield b"x" * (MAX_BODY_BYTES // 4)

    answer = httpx.post(emulator.base_url + BINDINGS, content=chunks(), headers=AUTH)

    assert answer.status_code == 413
    assert_envelope(answer)


def test_create_with_unknown_extra_fields_is_accepted(
    emulator: RunningEmulator,
) -> None:
    body = {
        "cidr": "203.0.113.0/28",
        "service_id": service_id(ACCOUNT_ID, "CDN"),
        "comment": "ignored",
    }

    answer = httpx.post(emulator.base_url + BINDINGS, json=body, headers=AUTH)

    assert answer.status_code == 200
    assert assert_envelope(answer)["result"]["cidr"] == "203.0.113.0/28"


ID_LIKE = st.one_of(
    st.sampled_from(
        [ACCOUNT_ID, PREFIX_V4_BOUND, PREFIX_V6_FREE, DEFAULT_BINDING_ID, "f" * 32]
    ),
    st.text(alphabet="0123456789abcdefABCDEF-_.%~ ", min_size=1, max_size=40),
)
PATHS = st.one_of(
    st.builds(
        lambda a, p, b, shape: shape.format(a=a, p=p, b=b),
        ID_LIKE,
        ID_LIKE,
        ID_LIKE,
        st.sampled_from(
            [
                "/client/v4/accounts/{a}/addressing/services",
                "/client/v4/accounts/{a}/addressing/prefixes",
                "/client/v4/accounts/{a}/addressing/prefixes/{p}",
                "/client/v4/accounts/{a}/addressing/prefixes/{p}/bindings",
                "/client/v4/accounts/{a}/addressing/prefixes/{p}/bindings/{b}",
                "/client/v4/{a}/{p}",
                "/__emulator/state",
            ]
        ),
    ),
    st.text(
        st.characters(
            min_codepoint=0x21, exclude_characters="?#\x7f", exclude_categories=["Cs"]
        ),
        max_size=60,
    ).map(lambda t: "/" + t.lstrip("/")),
)
CIDRS = st.one_of(
    st.sampled_from(
        [
            "203.0.113.0/24",
            "203.0.113.0/28",
            "203.0.113.16/28",
            "203.0.113.0/29",
            "2001:db8:100::/48",
            "2001:db8:100:1::/64",
            "0.0.0.0/0",
            "::/0",
        ]
    ),
    st.text(max_size=30),
)
SERVICE_IDS = st.one_of(
    st.sampled_from(
        [service_id(ACCOUNT_ID, n) for n in ("Magic Transit", "CDN", "Spectrum")]
    ),
    st.text(max_size=40),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
BODIES = st.one_of(
    st.builds(
        lambda c, s: json.dumps({"cidr": c, "service_id": s}).encode(),
        CIDRS,
        SERVICE_IDS,
    ),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
)
HEADERS = st.sampled_from(
    [AUTH, {}, {"Authorization": "Bearer nope"}, {"Authorization": "Token x"}]
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    requests=st.lists(
        st.tuples(
            st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS"]),
            PATHS,
            BODIES,
            HEADERS,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_fuzz_every_answer_is_a_sub_500_envelope(
    requests: list[tuple[str, str, bytes, dict[str, str]]],
) -> None:
    app = EmulatorApp(Emulator.from_seed(copy.deepcopy(TEST_SEED)))

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://emulator"
        ) as client:
            return [
                await client.request(method, path, content=body, headers=headers)
                for method, path, body, headers in requests
            ]

    for request, answer in zip(requests, asyncio.run(send_all()), strict=True):
        assert answer.status_code < 500, (request, answer.text)
        if answer.url.path == STATE_PATH and answer.status_code == 200:
            assert "accounts" in answer.json()
        else:
            assert_envelope(answer)
