"""tests/gojson.py decodes and encodes as encoding/json does, so that the kfutil replay fails where kfutil would."""

import json

import pytest

from tests.gojson import GoDecodeError, Struct, decode, marshal, type_errors

INNER = Struct("GojsonInner", {"Minutes": "int"})
OUTER = Struct(
    "GojsonOuter",
    {
        "Id,omitempty": "*int",
        "Name": "string",
        "Enabled,omitempty": "*bool",
        "Count,omitempty": "int",
        "Tags,omitempty": "[]string",
        "Inner,omitempty": "GojsonInner",
        "Extra": "map[string]interface{}",
        "Any": "interface{}",
    },
)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"Name": 5}, "number 5 into Go value of type string at GojsonOuter.Name"),
        ({"Count": "5"}, "string into Go value of type int at GojsonOuter.Count"),
        ({"Count": 1.5}, "number 1.5 into Go value of type int"),
        ({"Count": 2**63}, "into Go value of type int"),
        ({"Enabled": "true"}, "string into Go value of type bool"),
        ({"Tags": "a"}, "string into Go value of type []string"),
        ({"Tags": [1]}, "number 1 into Go value of type string at GojsonOuter.Tags[0]"),
        ({"Inner": {"Minutes": "60"}}, "at GojsonOuter.Inner.Minutes"),
        ({"Name": {"Off": True}}, "object into Go value of type string"),
        ({"Extra": []}, "array into Go value of type map[string]interface{}"),
    ],
)
def test_a_value_of_another_json_type_fails(document: dict[str, object], message: str) -> None:
    (error,) = type_errors(document, OUTER)

    assert message in error
    with pytest.raises(GoDecodeError):
        decode(document, OUTER)


def test_null_unknown_keys_and_any_case_are_accepted() -> None:
    document = {"name": "a", "ID": 7, "Count": None, "Tags": None, "Unknown": [1], "inner": {"MINUTES": 3}, "Any": 1.5}

    decoded = decode(document, OUTER)

    assert decoded == {
        "Id": 7,
        "Name": "a",
        "Enabled": None,
        "Count": 0,
        "Tags": None,
        "Inner": {"Minutes": 3},
        "Extra": None,
        "Any": 1.5,
    }
    assert type_errors([{"Name": "x"}, None], "[]GojsonOuter") == []


def test_an_exact_name_wins_over_one_in_another_case() -> None:
    assert decode({"name": "lower", "Name": "exact"}, OUTER)["Name"] == "exact"


def test_marshal_leaves_out_empty_omitempty_fields_but_not_pointers_to_false_or_structs() -> None:
    value = decode({"Name": "", "Enabled": False, "Count": 0, "Tags": [], "Any": {"b": 1, "a": "<&>"}}, OUTER)

    text = marshal(value, OUTER)

    assert text == (
        '{"Name":"","Enabled":false,"Inner":{"Minutes":0},"Extra":null,"Any":{"a":"\\u003c\\u0026\\u003e","b":1}}'
    )
    assert json.loads(text)["Any"] == {"a": "<&>", "b": 1}
