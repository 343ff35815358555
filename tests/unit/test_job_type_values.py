"""Custom job type field types and the canonical text of their values (domain.job_types)."""

import pytest

from orchjobs.domain.job_types import FieldType, Scalar, canonical_value, parse_field_type


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1, FieldType.STRING),
        ("2", FieldType.INT),
        (" datetime ", FieldType.DATETIME),
        ("BOOLEAN", FieldType.BOOL),
        ("Integer", FieldType.INT),
        (5, None),
        (0, None),
        ("Float", None),
        ("", None),
    ],
)
def test_field_types_by_number_or_name(raw: int | str, expected: FieldType | None) -> None:
    assert parse_field_type(raw) is expected


@pytest.mark.parametrize(
    ("field_type", "raw", "expected"),
    [
        (FieldType.STRING, " as given ", " as given "),
        (FieldType.STRING, 1, "1"),
        (FieldType.STRING, 2.5, "2.5"),
        (FieldType.STRING, True, "true"),
        (FieldType.STRING, "x" * 32769, None),
        (FieldType.INT, " +42 ", "42"),
        (FieldType.INT, -7, "-7"),
        (FieldType.INT, 2**31 - 1, "2147483647"),
        (FieldType.INT, -(2**31), "-2147483648"),
        (FieldType.INT, 2**31, None),
        (FieldType.INT, "1e3", None),
        (FieldType.INT, 1.0, None),
        (FieldType.INT, True, None),
        (FieldType.INT, "٣", None),
        (FieldType.BOOL, True, "true"),
        (FieldType.BOOL, " False ", "false"),
        (FieldType.BOOL, "yes", None),
        (FieldType.BOOL, 0, None),
        (FieldType.DATETIME, "2026-01-31T08:30:00+01:00", "2026-01-31T07:30:00Z"),
        (FieldType.DATETIME, "2026-01-31T08:30:00.250Z", "2026-01-31T08:30:00.25Z"),
        (FieldType.DATETIME, "2026-01-31 08:30", "2026-01-31T08:30:00Z"),
        (FieldType.DATETIME, "2026-01-31", "2026-01-31T00:00:00Z"),
        (FieldType.DATETIME, "31/01/2026", None),
        (FieldType.DATETIME, "2026-02-30", None),
        (FieldType.DATETIME, 1769848200, None),
    ],
)
def test_canonical_values(field_type: FieldType, raw: Scalar, expected: str | None) -> None:
    assert canonical_value(field_type, raw) == expected
