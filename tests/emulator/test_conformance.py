"""Conformance of the emulator, driven through the official SDK over loopback."""

from __future__ import annotations

import re
from typing import Any

import cloudflare
import httpx
import pytest

from cloudflare_byoip.emulator.models import Emulator
from cloudflare_byoip.emulator.server import RunningEmulator, serve_in_thread
from tests.conftest import (
    ACCOUNT_ID,
    DEFAULT_BINDING_ID,
    PREFIX_V4_BOUND,
    PREFIX_V4_FREE,
    PREFIX_V6_FREE,
    TEST_SEED,
    TOKEN,
)

HEX32 = re.compile(r"[0-9a-f]{32}")
OTHER_ACCOUNT = "fedcba9876543210fedcba9876543210"


def error_code(error: cloudflare.APIStatusError) -> int:
    body: Any = error.body
    code: int = body["errors"][0]["code"]
    return code


def services(
    client: cloudflare.Cloudflare, account_id: str = ACCOUNT_ID
) -> dict[str, str]:
    return {
        s.name or "": s.id or ""
        for s in client.addressing.services.list(account_id=account_id)
    }


def create(
    client: cloudflare.Cloudflare, prefix_id: str, cidr: str, service: str
) -> Any:
    service_id = services(client)[service]
    return client.addressing.prefixes.service_bindings.create(
        prefix_id, account_id=ACCOUNT_ID, cidr=cidr, service_id=service_id
    )


class TestServices:
    def test_lists_the_three_services_with_hex_ids(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        listed = services(cf_client)

        assert sorted(listed) == ["CDN", "Magic Transit", "Spectrum"]
        assert all(HEX32.fullmatch(i) for i in listed.values())
        assert len(set(listed.values())) == 3

    def test_service_ids_differ_per_account(
        self, emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
    ) -> None:
        emulator.emulator.add_account(OTHER_ACCOUNT)

        mine = services(cf_client)
        theirs = services(cf_client, OTHER_ACCOUNT)

        assert set(mine) == set(theirs)
        assert not set(mine.values()) & set(theirs.values())

    def test_service_id_of_another_account_is_refused(
        self, emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
    ) -> None:
        emulator.emulator.add_account(OTHER_ACCOUNT)
        foreign_cdn = services(cf_client, OTHER_ACCOUNT)["CDN"]

        with pytest.raises(cloudflare.BadRequestError) as caught:
            cf_client.addressing.prefixes.service_bindings.create(
                PREFIX_V4_BOUND,
                account_id=ACCOUNT_ID,
                cidr="203.0.113.0/28",
                service_id=foreign_cdn,
            )
        assert error_code(caught.value) == 1003


class TestPrefixes:
    def test_lists_the_seeded_prefixes(self, cf_client: cloudflare.Cloudflare) -> None:
        listed = list(cf_client.addressing.prefixes.list(account_id=ACCOUNT_ID))

        assert {(p.id, p.cidr, p.asn) for p in listed} == {
            (PREFIX_V4_BOUND, "203.0.113.0/24", 64496),
            (PREFIX_V4_FREE, "198.51.100.0/24", 64496),
            (PREFIX_V6_FREE, "2001:db8:100::/48", 64496),
        }
        assert all(p.account_id == ACCOUNT_ID for p in listed)

    def test_gets_one_prefix(self, cf_client: cloudflare.Cloudflare) -> None:
        prefix = cf_client.addressing.prefixes.get(
            PREFIX_V6_FREE, account_id=ACCOUNT_ID
        )

        assert prefix is not None
        assert prefix.cidr == "2001:db8:100::/48"
        assert prefix.created_at is not None

    def test_unknown_prefix_is_404_code_1000(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.NotFoundError) as caught:
            cf_client.addressing.prefixes.get("f" * 32, account_id=ACCOUNT_ID)
        assert error_code(caught.value) == 1000

    def test_malformed_prefix_id_is_400_code_7003(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            cf_client.addressing.prefixes.get("not-an-id", account_id=ACCOUNT_ID)
        assert error_code(caught.value) == 7003


class TestAccountsAndAuth:
    def test_malformed_account_id_is_400_code_7003(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            cf_client.addressing.prefixes.list(account_id="ACCOUNT")
        assert error_code(caught.value) == 7003

    def test_unknown_account_is_403_code_10000(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.PermissionDeniedError) as caught:
            cf_client.addressing.services.list(account_id=OTHER_ACCOUNT)
        assert error_code(caught.value) == 10000

    def test_unknown_token_is_403_code_10000(self, emulator: RunningEmulator) -> None:
        client = cloudflare.Cloudflare(
            api_token="wrong-token", base_url=emulator.base_url, max_retries=0
        )
        with client, pytest.raises(cloudflare.PermissionDeniedError) as caught:
            client.addressing.services.list(account_id=ACCOUNT_ID)
        assert error_code(caught.value) == 10000

    @pytest.mark.parametrize(
        "headers", [{}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}]
    )
    def test_missing_or_malformed_header_is_401_code_10000(
        self, emulator: RunningEmulator, headers: dict[str, str]
    ) -> None:
        answer = httpx.get(
            f"{emulator.base_url}/accounts/{ACCOUNT_ID}/addressing/services",
            headers=headers,
        )

        assert answer.status_code == 401
        assert answer.json()["success"] is False
        assert answer.json()["errors"][0]["code"] == 10000

    def test_error_messages_never_echo_the_token(
        self, emulator: RunningEmulator
    ) -> None:
        answer = httpx.get(
            f"{emulator.base_url}/accounts/{ACCOUNT_ID}/addressing/services",
            headers={"Authorization": "Bearer secret-value-xyz"},
        )

        assert answer.status_code == 403
        assert "secret-value-xyz" not in answer.text


class TestReadBindings:
    def test_lists_the_default_binding(self, cf_client: cloudflare.Cloudflare) -> None:
        listed = list(
            cf_client.addressing.prefixes.service_bindings.list(
                PREFIX_V4_BOUND, account_id=ACCOUNT_ID
            )
        )

        assert len(listed) == 1
        binding = listed[0]
        assert binding.id == DEFAULT_BINDING_ID
        assert binding.cidr == "203.0.113.0/24"
        assert binding.service_name == "Magic Transit"
        assert binding.service_id == services(cf_client)["Magic Transit"]
        assert binding.provisioning is not None
        assert binding.provisioning.state == "active"

    def test_list_on_prefix_without_bindings_is_empty(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        listed = cf_client.addressing.prefixes.service_bindings.list(
            PREFIX_V4_FREE, account_id=ACCOUNT_ID
        )
        assert list(listed) == []

    def test_gets_one_binding(self, cf_client: cloudflare.Cloudflare) -> None:
        binding = cf_client.addressing.prefixes.service_bindings.get(
            DEFAULT_BINDING_ID, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
        )
        assert binding is not None
        assert binding.cidr == "203.0.113.0/24"

    def test_unknown_binding_is_404_code_1002(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.NotFoundError) as caught:
            cf_client.addressing.prefixes.service_bindings.get(
                "e" * 32, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
            )
        assert error_code(caught.value) == 1002

    def test_binding_of_another_prefix_is_404_code_1002(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.NotFoundError) as caught:
            cf_client.addressing.prefixes.service_bindings.get(
                DEFAULT_BINDING_ID, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_FREE
            )
        assert error_code(caught.value) == 1002

    def test_bindings_of_unknown_prefix_are_404_code_1000(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.NotFoundError) as caught:
            cf_client.addressing.prefixes.service_bindings.list(
                "d" * 32, account_id=ACCOUNT_ID
            )
        assert error_code(caught.value) == 1000

    def test_malformed_binding_id_is_400_code_7003(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            cf_client.addressing.prefixes.service_bindings.get(
                "xyz", account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
            )
        assert error_code(caught.value) == 7003


class TestCreateRules:
    def test_first_binding_on_the_whole_prefix_is_created(
        self, emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
    ) -> None:
        created = create(cf_client, PREFIX_V4_FREE, "198.51.100.0/24", "CDN")

        assert created is not None
        assert created.id is not None and HEX32.fullmatch(created.id)
        assert created.cidr == "198.51.100.0/24"
        assert created.service_name == "CDN"
        assert created.provisioning is not None
        assert created.provisioning.state == "provisioning"
        state = emulator.emulator.snapshot()
        bindings = state["accounts"][ACCOUNT_ID]["prefixes"][PREFIX_V4_FREE]["bindings"]
        assert [b["id"] for b in bindings] == [created.id]

    def test_first_binding_must_cover_the_prefix(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            create(cf_client, PREFIX_V4_FREE, "198.51.100.0/25", "Magic Transit")
        assert error_code(caught.value) == 1003
        assert "first binding" in str(caught.value)

    @pytest.mark.parametrize("override", ["CDN", "Spectrum"])
    def test_magic_transit_default_allows_cdn_and_spectrum(
        self, cf_client: cloudflare.Cloudflare, override: str
    ) -> None:
        created = create(cf_client, PREFIX_V4_BOUND, "203.0.113.8/29", override)

        assert created is not None
        assert created.service_name == override

    def test_both_overrides_side_by_side_under_magic_transit(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        create(cf_client, PREFIX_V4_BOUND, "203.0.113.0/28", "CDN")
        create(cf_client, PREFIX_V4_BOUND, "203.0.113.16/28", "Spectrum")

        listed = cf_client.addressing.prefixes.service_bindings.list(
            PREFIX_V4_BOUND, account_id=ACCOUNT_ID
        )
        assert [(b.cidr, b.service_name) for b in listed] == [
            ("203.0.113.0/24", "Magic Transit"),
            ("203.0.113.0/28", "CDN"),
            ("203.0.113.16/28", "Spectrum"),
        ]

    def test_magic_transit_override_is_refused(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            create(cf_client, PREFIX_V4_BOUND, "203.0.113.8/29", "Magic Transit")
        assert error_code(caught.value) == 1003
        assert "default binding" in str(caught.value)

    @pytest.mark.parametrize(
        ("default", "allowed", "refused"),
        [("CDN", "Spectrum", "CDN"), ("Spectrum", "CDN", "Spectrum")],
    )
    def test_cdn_and_spectrum_defaults_allow_only_the_other(
        self,
        cf_client: cloudflare.Cloudflare,
        default: str,
        allowed: str,
        refused: str,
    ) -> None:
        create(cf_client, PREFIX_V4_FREE, "198.51.100.0/24", default)

        created = create(cf_client, PREFIX_V4_FREE, "198.51.100.0/30", allowed)
        with pytest.raises(cloudflare.BadRequestError) as caught:
            create(cf_client, PREFIX_V4_FREE, "198.51.100.128/30", refused)

        assert created is not None and created.service_name == allowed
        assert error_code(caught.value) == 1003

    @pytest.mark.parametrize(
        "second",
        ["203.0.113.0/28", "203.0.113.0/30", "203.0.113.0/27"],
        ids=["identical", "nested-inside", "nested-around"],
    )
    def test_overlapping_overrides_are_refused(
        self, cf_client: cloudflare.Cloudflare, second: str
    ) -> None:
        create(cf_client, PREFIX_V4_BOUND, "203.0.113.0/28", "CDN")

        with pytest.raises(cloudflare.BadRequestError) as caught:
            create(cf_client, PREFIX_V4_BOUND, second, "Spectrum")
        assert error_code(caught.value) == 1003

    def test_second_binding_on_the_prefix_cidr_is_refused(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            create(cf_client, PREFIX_V4_BOUND, "203.0.113.0/24", "CDN")
        assert error_code(caught.value) == 1003

    @pytest.mark.parametrize(
        "cidr",
        [
            "203.0.114.0/28",
            "203.0.112.0/23",
            "2001:db8:100::/64",
            "203.0.113.5/24",
            "203.0.113.1",
            "not a cidr",
            "",
        ],
    )
    def test_cidr_outside_the_prefix_or_malformed_is_refused(
        self, cf_client: cloudflare.Cloudflare, cidr: str
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            create(cf_client, PREFIX_V4_BOUND, cidr, "CDN")
        assert error_code(caught.value) == 1003

    @pytest.mark.parametrize("service_id", ["0" * 32, "", "cdn"])
    def test_unknown_or_empty_service_id_is_refused(
        self, cf_client: cloudflare.Cloudflare, service_id: str
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            cf_client.addressing.prefixes.service_bindings.create(
                PREFIX_V4_BOUND,
                account_id=ACCOUNT_ID,
                cidr="203.0.113.0/28",
                service_id=service_id,
            )
        assert error_code(caught.value) == 1003

    def test_create_on_unknown_prefix_is_400_code_1003(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.BadRequestError) as caught:
            create(cf_client, "c" * 32, "203.0.113.0/24", "CDN")
        assert error_code(caught.value) == 1003

    def test_ipv6_default_and_override(self, cf_client: cloudflare.Cloudflare) -> None:
        create(cf_client, PREFIX_V6_FREE, "2001:DB8:100::/48", "Magic Transit")
        override = create(cf_client, PREFIX_V6_FREE, "2001:db8:100:1::/64", "CDN")

        assert override is not None and override.cidr == "2001:db8:100:1::/64"
        with pytest.raises(cloudflare.BadRequestError):
            create(cf_client, PREFIX_V6_FREE, "198.51.100.0/24", "CDN")


class TestDelete:
    def test_deletes_an_override(
        self, emulator: RunningEmulator, cf_client: cloudflare.Cloudflare
    ) -> None:
        created = create(cf_client, PREFIX_V4_BOUND, "203.0.113.64/26", "CDN")

        answer = cf_client.addressing.prefixes.service_bindings.delete(
            created.id, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
        )

        assert answer.success is True
        assert answer.errors == []
        prefixes = emulator.emulator.snapshot()["accounts"][ACCOUNT_ID]["prefixes"]
        assert [b["id"] for b in prefixes[PREFIX_V4_BOUND]["bindings"]] == [
            DEFAULT_BINDING_ID
        ]

    def test_default_with_overrides_inside_is_refused_then_allowed(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        bindings = cf_client.addressing.prefixes.service_bindings
        override = create(cf_client, PREFIX_V4_BOUND, "203.0.113.64/26", "Spectrum")

        with pytest.raises(cloudflare.BadRequestError) as caught:
            bindings.delete(
                DEFAULT_BINDING_ID, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
            )
        assert error_code(caught.value) == 1003
        assert "203.0.113.64/26" in str(caught.value)

        bindings.delete(override.id, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND)
        bindings.delete(
            DEFAULT_BINDING_ID, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
        )
        assert list(bindings.list(PREFIX_V4_BOUND, account_id=ACCOUNT_ID)) == []

    def test_deleted_cidr_can_be_bound_again(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        first = create(cf_client, PREFIX_V4_BOUND, "203.0.113.64/26", "CDN")
        cf_client.addressing.prefixes.service_bindings.delete(
            first.id, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
        )

        second = create(cf_client, PREFIX_V4_BOUND, "203.0.113.64/26", "Spectrum")

        assert second is not None and second.id != first.id

    def test_unknown_binding_is_404_code_1002(
        self, cf_client: cloudflare.Cloudflare
    ) -> None:
        with pytest.raises(cloudflare.NotFoundError) as caught:
            cf_client.addressing.prefixes.service_bindings.delete(
                "a" * 32, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_BOUND
            )
        assert error_code(caught.value) == 1002

    def test_delete_answer_has_no_result(self, emulator: RunningEmulator) -> None:
        answer = httpx.delete(
            f"{emulator.base_url}/accounts/{ACCOUNT_ID}/addressing/prefixes/"
            f"{PREFIX_V4_BOUND}/bindings/{DEFAULT_BINDING_ID}",
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

        assert answer.status_code == 200
        assert answer.json() == {"success": True, "errors": [], "messages": []}


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_binding_turns_active_after_the_propagation_delay() -> None:
    clock = FakeClock()
    backend = Emulator.from_seed(TEST_SEED, propagation_seconds=60, clock=clock)

    with (
        serve_in_thread(backend) as running,
        cloudflare.Cloudflare(
            api_token=TOKEN, base_url=running.base_url, max_retries=0
        ) as client,
    ):
        created = create(client, PREFIX_V4_FREE, "198.51.100.0/24", "Magic Transit")

        def state() -> str | None:
            got = client.addressing.prefixes.service_bindings.get(
                created.id, account_id=ACCOUNT_ID, prefix_id=PREFIX_V4_FREE
            )
            assert got is not None and got.provisioning is not None
            return got.provisioning.state

        clock.now += 59
        assert state() == "provisioning"
        clock.now += 1
        assert state() == "active"
        clock.now -= 30
        assert state() == "active"


def test_state_view_shows_every_account_prefix_and_binding(
    emulator: RunningEmulator,
) -> None:
    answer = httpx.get(emulator.state_url)

    assert answer.status_code == 200
    accounts = answer.json()["accounts"]
    assert list(accounts) == [ACCOUNT_ID]
    prefixes = accounts[ACCOUNT_ID]["prefixes"]
    assert sorted(prefixes) == [PREFIX_V4_BOUND, PREFIX_V4_FREE, PREFIX_V6_FREE]
    assert prefixes[PREFIX_V4_BOUND]["bindings"][0]["id"] == DEFAULT_BINDING_ID
    assert prefixes[PREFIX_V4_FREE]["bindings"] == []
    assert TOKEN not in answer.text


def test_state_view_is_read_only(emulator: RunningEmulator) -> None:
    answer = httpx.post(emulator.state_url, json={"accounts": {}})

    assert answer.status_code == 405
    assert answer.json()["success"] is False
    assert httpx.get(emulator.state_url).json()["accounts"]
