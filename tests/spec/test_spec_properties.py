"""Any input whatever either validates or raises SpecError, never anything else."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloudflare_byoip import SpecError, validate_stack

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)

cidrs = st.one_of(
    st.sampled_from(
        [
            "203.0.113.0/24",
            "203.0.113.1/32",
            "203.0.113.16/29",
            "203.0.113.0/25",
            "203.0.113.7/24",
            "2001:db8:100::/48",
            "2001:db8:100:1::/64",
            "::/0",
            "0.0.0.0/0",
            "203.0.113.0",
            "/24",
            "",
        ]
    ),
    st.builds(
        "{}.{}.{}.{}/{}".format,
        *[st.integers(-1, 256)] * 4,
        st.integers(-1, 33),
    ),
    st.text(max_size=30),
    json_values,
)
services = st.one_of(
    st.sampled_from(["magic_transit", "Magic Transit", "cdn", "CDN", "spectrum"]),
    json_values,
)
ids = st.one_of(
    st.sampled_from(["0123456789abcdef0123456789abcdef", "a" * 32, "A" * 32]),
    json_values,
)
overrides = st.lists(
    st.fixed_dictionaries({"cidr": cidrs, "service": services})
    | st.dictionaries(st.sampled_from(["cidr", "service", "x"]), json_values),
    max_size=6,
)
prefix = st.fixed_dictionaries(
    {
        "name": st.sampled_from(["a", "b", "", "-x"]) | json_values,
        "prefixId": ids,
        "cidr": cidrs,
        "defaultService": services,
    },
    optional={"overrides": overrides | json_values, "cdnEgress": json_values},
)
configs = st.fixed_dictionaries(
    {"byoip:accountId": ids, "byoip:prefixes": st.lists(prefix, max_size=3)},
    optional={"byoip:maxRetries": json_values, "byoip:unknown": json_values},
)


def check(config: Any) -> None:
    try:
        validate_stack(config)
    except SpecError as error:
        assert error.problems
        for path, message in error.problems:
            assert isinstance(path, str) and path
            assert isinstance(message, str) and message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs)
def test_structured_inputs_raise_only_spec_error(config: dict[str, Any]) -> None:
    check(config)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=16), json_values, max_size=5))
def test_arbitrary_mappings_raise_only_spec_error(config: dict[str, Any]) -> None:
    check(config)
