"""Value coercion, TokenSet, inputs, errors: the small pure pieces of the xpm package."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from wagtail_xpm.xpm import errors
from wagtail_xpm.xpm.types import FrozenMap, NewClient, NewContact, NewLead, Tenant, TokenSet
from wagtail_xpm.xpm.values import (
    format_modified_since,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_int,
    parse_month,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123.45", Decimal("123.45")),
        ("1,234.50", Decimal("1234.50")),
        ("123,45", Decimal("123.45")),
        ("1.234,50", Decimal("1234.50")),
        ("1,234", Decimal("1234")),
        ("1,234,567.89", Decimal("1234567.89")),
        ("1.234.567", Decimal("1234567")),
        (" -12.5 ", Decimal("-12.5")),
        ("$1,000.00", Decimal("1000.00")),
        ("1\u00a0234,50", Decimal("1234.50")),
        ("", None),
        ("abc", None),
        ("NaN", None),
        (None, None),
    ],
)
def test_parse_decimal_is_tolerant(raw: str | None, expected: Decimal | None) -> None:
    assert parse_decimal(raw) == expected


def test_parse_datetime_treats_naive_as_utc_and_trims_fraction() -> None:
    assert parse_datetime("2008-09-12T13:00:00") == datetime(2008, 9, 12, 13, tzinfo=UTC)
    assert parse_datetime("2019-12-07T18:46:19.5165400") == datetime(
        2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC
    )
    assert parse_datetime("2020-01-01T12:00:00+13:00") == datetime(2019, 12, 31, 23, tzinfo=UTC)
    assert parse_datetime("2020-01-01T00:00:00Z").tzinfo is UTC
    assert parse_datetime("2020-02-30T00:00:00") is None
    assert parse_datetime("yesterday") is None
    assert parse_datetime("") is None


def test_parse_date_forms() -> None:
    assert parse_date("1970-11-26") == date(1970, 11, 26)
    assert parse_date("1970-11-26T00:00:00") == date(1970, 11, 26)
    assert parse_date("20101011") == date(2010, 10, 11)
    assert parse_date("20101341") is None
    assert parse_date(None) is None


def test_parse_bool_and_int_and_month() -> None:
    assert parse_bool("Yes") is True
    assert parse_bool(" false ") is False
    assert parse_bool("perhaps") is None
    assert parse_int("123") == 123
    assert parse_int("1,000") == 1000
    assert parse_int("1.5") is None
    assert parse_month("Sept") == 9
    assert parse_month(3) == 3
    assert parse_month(0) is None
    assert parse_month("") is None


def test_modified_since_is_utc_without_offset() -> None:
    nz = timezone(timedelta(hours=13))
    assert format_modified_since(datetime(2024, 1, 2, 3, 4, 5, 999, tzinfo=nz)) == (
        "2024-01-01T14:04:05"
    )
    with pytest.raises(ValueError):
        format_modified_since(datetime(2024, 1, 2))


# --------------------------------------------------------------------------- TokenSet


def _token(**overrides: object) -> TokenSet:
    values: dict[str, object] = {
        "access_token": "secret-access-token",
        "refresh_token": "secret-refresh-token",
        "expires_at": datetime(2030, 1, 1, tzinfo=UTC),
        "scopes": ("offline_access", "practicemanager"),
    }
    values.update(overrides)
    return TokenSet(**values)  # type: ignore[arg-type]


def test_token_repr_hides_tokens() -> None:
    token = _token(id_token="secret-id-token")
    for text in (repr(token), str(token), f"{token}", repr([token])):
        assert "secret" not in text
    assert "2030-01-01" in repr(token)
    assert "practicemanager" in repr(token)


def test_token_expiry_uses_leeway() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert _token(expires_at=now + timedelta(seconds=61)).is_expired(now=now) is False
    assert _token(expires_at=now + timedelta(seconds=59)).is_expired(now=now) is True
    assert (
        _token(expires_at=now + timedelta(seconds=59)).is_expired(now=now, leeway=timedelta(0))
        is False
    )


def test_token_dict_round_trip_is_json_safe() -> None:
    token = _token(id_token="idt")
    data = json.loads(json.dumps(token.to_dict()))
    assert TokenSet.from_dict(data) == token


def test_token_needs_aware_expiry() -> None:
    with pytest.raises(ValueError):
        _token(expires_at=datetime(2030, 1, 1))


def test_token_from_token_response() -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    token = TokenSet.from_token_response(
        {
            "access_token": "a",
            "refresh_token": "r",
            "expires_in": 1800,
            "token_type": "Bearer",
            "scope": "openid offline_access practicemanager.client",
        },
        now,
    )
    assert token.expires_at == now + timedelta(minutes=30)
    assert token.scopes == ("openid", "offline_access", "practicemanager.client")
    assert token.id_token is None

    # A server that does not rotate keeps the previous refresh token and scopes.
    kept = TokenSet.from_token_response(
        {"access_token": "b", "expires_in": 60}, now, previous=token
    )
    assert kept.refresh_token == "r"
    assert kept.scopes == token.scopes

    with pytest.raises(errors.XpmResponseError):
        TokenSet.from_token_response({"access_token": "a"}, now)
    with pytest.raises(errors.XpmResponseError):
        TokenSet.from_token_response({"refresh_token": "a"}, now)


def test_tenant_from_json_requires_tenant_id() -> None:
    with pytest.raises(errors.XpmResponseError):
        Tenant.from_json({"id": "x"})


def test_frozen_map_is_a_hashable_read_only_mapping() -> None:
    first = FrozenMap({"A": "1", "B": ""})
    assert first == {"A": "1", "B": ""}
    assert hash(first) == hash(FrozenMap([("B", ""), ("A", "1")]))
    assert list(first) == ["A", "B"]
    with pytest.raises(TypeError):
        first["A"] = "2"  # type: ignore[index]


# --------------------------------------------------------------------------- inputs


def test_inputs_validate_required_text() -> None:
    with pytest.raises(ValueError):
        NewClient("  ")
    with pytest.raises(ValueError):
        NewContact("")
    with pytest.raises(ValueError):
        NewLead("Enquiry", "", "owner")
    client = NewClient("Acme", contacts=[NewContact("Jo")])  # type: ignore[arg-type]
    assert isinstance(client.contacts, tuple)
    assert hash(client)


# --------------------------------------------------------------------------- errors


def test_error_tree_and_standard_bases() -> None:
    assert issubclass(errors.XpmInvalidGrant, errors.XpmAuthError)
    assert issubclass(errors.XpmReauthorizationRequired, errors.XpmAuthError)
    assert issubclass(errors.XpmTenantError, errors.XpmAuthError)
    assert issubclass(errors.XpmDailyLimitReached, errors.XpmRateLimited)
    assert issubclass(errors.XpmTransientError, ConnectionError)
    assert issubclass(errors.XpmResponseError, ValueError)
    assert issubclass(errors.XpmNotFoundError, errors.XpmApiError)
    for cls in (
        errors.XpmAuthError,
        errors.XpmApiError,
        errors.XpmRateLimited,
        errors.XpmTransientError,
        errors.XpmResponseError,
        errors.XpmConfigurationError,
    ):
        assert issubclass(cls, errors.XpmError)


@pytest.mark.parametrize(
    "error",
    [
        errors.XpmTransientError("down", outcome_unknown=True, status=503, correlation_id="c"),
        errors.XpmDailyLimitReached("day", retry_after=100.0),
        errors.XpmRateLimited("minute", problem="minute", retry_after=3.0),
        errors.XpmTenantError("tenant t1", tenant_id="t1"),
        errors.XpmApiError("Invalid owner", description="Invalid owner", status=200),
        errors.XpmResponseError("bad"),
    ],
)
def test_errors_survive_pickling(error: errors.XpmError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert vars(clone) == vars(error)
    assert str(clone) == str(error) == error.message
