"""How the gateway reads ``format`` and ``Accept`` (RFC 9110 weights, IPIP-412 CAR
parameters), on the pure negotiation function; the HTTP side is in tests/store."""

from __future__ import annotations

import pytest

from node.api.negotiation import NegotiationError, file_acceptable, negotiate

RAW = "application/vnd.ipld.raw"
CAR = "application/vnd.ipld.car"
NO_QUERY: dict[str, str | None] = {}


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        (None, "file"),
        ("*/*", "file"),
        (f"{RAW}, */*;q=0.1", "raw"),
        (f"{CAR}, */*", "car"),  # named beats a wildcard of the same weight
        (f"*/*, {CAR}", "car"),
        (f"{CAR};q=0.5, application/octet-stream", "file"),
        (f"{RAW};q=0.5, {CAR};q=0.9", "car"),
        (f"{RAW}, {CAR}", "raw"),  # equal weight: the earlier one
        (f"{CAR};version=2, {RAW};q=0.2", "raw"),  # a CAR variant we cannot send is skipped
        (f"{RAW};q=0, */*", "file"),
    ],
)
def test_what_each_accept_gets(accept: str | None, kind: str) -> None:
    assert negotiate(None, accept, NO_QUERY, None).kind == kind


@pytest.mark.parametrize(
    "accept", ["text/html", "*/*;q=0", f"{RAW};q=0", f"{CAR};order=foo", "application/x-tar"]
)
def test_nothing_served_is_406(accept: str) -> None:
    with pytest.raises(NegotiationError) as refused:
        negotiate(None, accept, NO_QUERY, None)
    assert refused.value.status == 406


def test_format_wins_and_car_query_parameters_win_over_accept_parameters() -> None:
    assert negotiate("raw", CAR, NO_QUERY, None).kind == "raw"
    car = negotiate("car", f"{CAR}; dups=y", NO_QUERY, "block")
    assert (car.kind, car.car.dups, car.scope, car.named_in_query) == ("car", True, "block", True)
    assert not negotiate("car", f"{CAR}; dups=y", {"dups": "n"}, None).car.dups
    with pytest.raises(NegotiationError) as bad_scope:
        negotiate("car", None, NO_QUERY, "everything")
    assert bad_scope.value.status == 400
    assert negotiate("raw", None, NO_QUERY, "everything").kind == "raw"  # CAR-only parameter


def test_the_file_is_checked_against_accept_once_its_type_is_known() -> None:
    assert file_acceptable(None, "application/octet-stream")
    assert file_acceptable("application/json", "application/json")
    assert not file_acceptable("application/json", "application/octet-stream")
    assert not file_acceptable(
        "application/*, application/octet-stream;q=0", "application/octet-stream"
    )
