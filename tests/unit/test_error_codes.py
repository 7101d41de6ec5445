"""The documented error codes (data/error_codes.json) and the strict error mode."""

from __future__ import annotations

from localcvm.api.error_codes import ErrorCodes, is_common
from localcvm.api.errors import error_body
from localcvm.services import errors


def test_the_data_covers_every_product_and_names_its_sources():
    codes = ErrorCodes.builtin()
    assert set(codes.products) >= {"cvm", "cbs", "vpc", "cam", "tag", "billing"}
    assert codes.sources["tencentcloud-sdk-go"]["version"]
    assert codes.sources["tencentcloud-sdk-python"]["version"]
    # all actions, not only the implemented ones
    assert "AllocateHosts" in codes.products["cvm"]["actions"]
    assert "UnsupportedOperation.KeyPairUnsupportedWindows" in codes.documented("cvm", "RunInstances")
    assert "ResourceUnavailable.Attached" in codes.documented("cbs", "AttachDisks")
    assert "InvalidDisk.AlreadyBound" not in codes.documented("cbs", "AttachDisks")
    assert "InvalidDisk.Busy" not in codes.product_codes("cvm")


def test_common_codes_are_allowed_everywhere():
    for code in ("InternalError", "UnsupportedRegion", "AuthFailure.SignatureExpire", "MissingParameter",
                 "RequestLimitExceeded.UinLimitExceeded", "ResourceInUse"):
        assert is_common(code)
        assert ErrorCodes.builtin().check("cbs", "AttachDisks", code) is None
    assert not is_common("InvalidRegion.NotFound")


def test_strict_mode_turns_an_undocumented_code_into_a_failure_that_names_the_fix():
    exc = errors.InvalidDiskAlreadyBound("The disk `disk-1` is attached to `ins-1`.")
    body = error_body(exc, "rid", product="cbs", action="AttachDisks", strict=True)
    assert body["Error"]["Code"] == "InternalError"
    message = body["Error"]["Message"]
    assert "cbs AttachDisks answered `InvalidDisk.AlreadyBound`" in message
    assert "not a cbs code at all" not in message  # cbs knows the code, AttachDisks does not document it
    # the same family first, then the whole list
    assert "Closest documented: InvalidDisk.NotPortable, InvalidDisk.NotSupported, InvalidDisk.TypeError" in message
    assert "ResourceUnavailable.Attached" in message
    assert "The disk `disk-1` is attached" in message

    cbs_only = errors.ApiError("busy", code="InvalidDisk.AlreadyBound")
    cvm_only = error_body(cbs_only, "rid", product="cvm", action="CreateImage", strict=True)
    assert "not a cvm code at all" in cvm_only["Error"]["Message"]


def test_documented_and_common_codes_pass_and_the_mode_is_off_by_default():
    documented = errors.ResourceUnavailableAttached("attached")
    assert error_body(documented, "r", product="cbs", action="AttachDisks", strict=True)["Error"]["Code"] == (
        "ResourceUnavailable.Attached"
    )
    common = errors.UnsupportedRegion("no such region")
    assert error_body(common, "r", product="cvm", action="RunInstances", strict=True)["Error"]["Code"] == (
        "UnsupportedRegion"
    )
    undocumented = errors.InvalidDiskAlreadyBound("x")
    assert error_body(undocumented, "r", product="cbs", action="AttachDisks")["Error"]["Code"] == (
        "InvalidDisk.AlreadyBound"
    )
    # an action the data does not know (it is answered InvalidAction before any handler) is not judged
    assert error_body(undocumented, "r", product="cbs", action="NoSuchAction", strict=True)["Error"]["Code"] == (
        "InvalidDisk.AlreadyBound"
    )


def test_one_situation_answers_the_code_each_action_documents():
    unknown = errors.UnknownRegion("no such region")
    code = {a: error_body(unknown, "r", product="cvm", action=a)["Error"]["Code"]
            for a in ("RunInstances", "DescribeImages", "SyncImages")}
    assert code == {"RunInstances": "UnsupportedRegion", "DescribeImages": "InvalidRegion.NotFound",
                    "SyncImages": "InvalidRegion.NotFound"}
    assert error_body(unknown, "r", product="cbs", action="CreateDisks")["Error"]["Code"] == "UnsupportedRegion"
    # in process (no action known) the class's own code
    assert unknown.code == "UnsupportedRegion"

    state = errors.instance_state_error("LAUNCH_FAILED", "ins-1", "StartInstances")
    assert error_body(state, "r", product="cvm", action="TerminateInstances")["Error"]["Code"] == (
        "UnsupportedOperation.InstanceStateLaunchFailed"
    )
    assert error_body(state, "r", product="cvm", action="StartInstances")["Error"]["Code"] == "InvalidInstance.NotSupported"
    busy = errors.instance_state_error("STOPPING", "ins-1", "AttachDisks")
    assert error_body(busy, "r", product="cbs", action="AttachDisks")["Error"]["Code"] == "ResourceBusy"
    assert error_body(busy, "r", product="cvm", action="StartInstances")["Error"]["Code"] == (
        "UnsupportedOperation.InstanceStateStopping"
    )


def test_every_code_the_catalogue_can_answer_is_a_real_one():
    """Each class's code and preferred codes exist in some product's code list (no typos)."""
    codes = ErrorCodes.builtin()
    known = set().union(*(codes.product_codes(p) for p in codes.products))
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, errors.ApiError)]
    assert len(classes) > 50
    for cls in classes:
        for code in (cls.code, *cls.prefer):
            assert code in known or is_common(code), (cls.__name__, code)
