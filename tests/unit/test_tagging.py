"""Six-segment resource descriptions, as the tag API (and the Terraform provider) writes them."""

import pytest

from localcvm.services import errors, tagging
from localcvm.services.iam import Identity

ME = Identity(uin="100000000001", app_id=1, name="me", secret_id="AKID")


def test_the_account_segment_may_be_empty_or_the_callers():
    for name in ("qcs::cvm:ap-guangzhou:uin/:instance/ins-12345678",
                 "qcs::cvm:ap-guangzhou:uin/100000000001:instance/ins-12345678"):
        assert tagging.parse_resource(name, ME) == tagging.ResourceName("cvm", "ap-guangzhou", "instance", "ins-12345678")


@pytest.mark.parametrize("name, error", [
    ("qcs::cvm:ap-guangzhou:uin/100000000002:instance/ins-12345678", errors.InvalidParameterValueUinInvalid),
    ("qcs::cvm:ap-guangzhou:instance/ins-12345678", errors.InvalidParameterValueResourceDescriptionError),
    ("qcs::cvm:ap-guangzhou:uin/:ins-12345678", errors.InvalidParameterValueResourceDescriptionError),
    ("qcs::cos:ap-guangzhou:uin/:bucket/b-1", errors.InvalidParameterUnsupportedService),
    ("qcs::cvm:ap-guangzhou:uin/:volume/disk-12345678", errors.InvalidParameterValueResourcePrefixInvalid),
    ("qcs::cbs:ap-guangzhou:uin/:disk/disk-12345678", None),
])
def test_malformed_foreign_and_unsupported_descriptions_are_refused(name, error):
    if error is None:
        assert tagging.parse_resource(name, ME).prefix == "disk"
    else:
        with pytest.raises(error):
            tagging.parse_resource(name, ME)
