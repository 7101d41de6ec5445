"""Spec-driven validation and shaping, on the real cvm api.json."""

from __future__ import annotations

import pytest

from localcvm.api.spec import ProductSpec, unflatten
from localcvm.services import errors


@pytest.fixture(scope="module")
def cvm():
    return ProductSpec.load("cvm", "2017-03-12")


def test_validate_types_and_nesting(cvm):
    action = cvm.actions["DescribeImages"]
    got = cvm.validate_request(action, {"Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}], "Limit": 5})
    assert got == {"Filters": [{"Name": "image-type", "Values": ["PUBLIC_IMAGE"]}], "Limit": 5}


def test_legacy_strings_are_converted(cvm):
    action = cvm.actions["DescribeImages"]
    params = unflatten({"Filters.0.Name": "image-id", "Filters.0.Values.0": "img-1", "Filters.0.Values.1": "img-2",
                        "Limit": "7", "Offset": "0"})
    got = cvm.validate_request(action, params, from_strings=True)
    assert got == {"Filters": [{"Name": "image-id", "Values": ["img-1", "img-2"]}], "Limit": 7, "Offset": 0}


def test_unflatten_rejects_gaps_and_conflicts():
    with pytest.raises(errors.InvalidParameter):
        unflatten({"ImageIds.0": "a", "ImageIds.2": "b"})
    with pytest.raises(errors.InvalidParameter):
        unflatten({"Filters.0": "a", "Filters.0.Name": "b"})


def test_bool_and_float_strictness(cvm):
    action = cvm.actions["RunInstances"]
    with pytest.raises(errors.InvalidParameter) as err:
        cvm.validate_request(action, {"ImageId": "img-1", "DryRun": "yes"})
    assert "DryRun" in err.value.message


def test_shape_fills_required_and_nulls(cvm):
    action = cvm.actions["DescribeImages"]
    shaped = cvm.shape_response(action, {"ImageSet": [{"ImageId": "img-1", "ImageSize": "50"}]})
    assert shaped["TotalCount"] == 0  # output_required int -> 0
    image = shaped["ImageSet"][0]
    assert image["ImageId"] == "img-1" and image["ImageSize"] == 50  # typed by the spec
    assert "RequestId" not in shaped


def test_shape_strict_rejects_unknown_members(cvm):
    action = cvm.actions["DescribeZones"]
    with pytest.raises(errors.InternalError):
        cvm.shape_response(action, {"TotalCount": 1, "ZoneSet": [], "Surprise": 1}, strict=True)


@pytest.mark.parametrize("kind,low,high", [("int64", -(2**63), 2**63 - 1), ("uint64", 0, 2**63 - 1),
                                           ("int32", -(2**31), 2**31 - 1), ("uint32", 0, 2**32 - 1)])
def test_each_integer_kind_has_its_own_range(kind, low, high):
    from localcvm.api.spec import Member

    spec = ProductSpec("x", "1", {"objects": {"In": {"members": [{"name": "N", "type": "int", "member": kind}]},
                                              "Out": {"members": []}},
                                  "actions": {"A": {"input": "In", "output": "Out"}}})
    action = spec.actions["A"]
    assert isinstance(spec.objects["In"].members["N"], Member)
    for ok in (low, high, 0 if low == 0 else -1):
        assert spec.validate_request(action, {"N": ok}) == {"N": ok}
        assert spec.validate_request(action, {"N": str(ok)}, from_strings=True) == {"N": ok}
    for bad in (low - 1, high + 1, float(2**64), -float(2**63 + 4096)):
        with pytest.raises(errors.InvalidParameterValue, match=r"`N` is out of range"):
            spec.validate_request(action, {"N": bad})


def test_unflatten_bounds_the_depth():
    assert unflatten({".".join(["A"] * 32): "x"})  # deepest accepted
    for parts in (33, 1000, 5000):
        with pytest.raises(errors.InvalidParameter, match=f"{parts} dotted parts"):
            unflatten({".".join(["A"] * parts): "x"})
