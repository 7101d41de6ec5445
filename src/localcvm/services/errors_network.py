"""Errors of the vpc product and of cvm's network parameters (part of the one error catalogue, ``services/errors.py``, which re-exports them)."""

from __future__ import annotations

from .errors import error_class

# --- networks: VPCs, subnets, private addresses, security groups (vpc 2017-03-12; cvm's codes for RunInstances) --
InvalidParameterValueMalformed = error_class("InvalidParameterValue.Malformed", "The value's format is not valid.")
InvalidParameterValueEmpty = error_class("InvalidParameterValue.Empty", "The value must not be empty.")
InvalidParameterValueTooLong = error_class("InvalidParameterValue.TooLong", "The value is too long.")
InvalidParameterValueSubnetRange = error_class("InvalidParameterValue.SubnetRange", "The subnet CIDR is not valid.")
InvalidParameterValueSubnetConflict = error_class("InvalidParameterValue.SubnetConflict", "The subnet CIDR conflicts.")
InvalidParameterValueDuplicate = error_class("InvalidParameterValue.Duplicate", "A value is given twice.")
InvalidParameterCoexist = error_class("InvalidParameter.Coexist", "These parameters cannot be given together.")
# Most vpc actions document the generic InvalidParameterValue.Malformed / ResourceNotFound for an ID
InvalidVpcIdMalformed = error_class("InvalidVpcId.Malformed", "The VPC ID is malformed.",
                                    prefer=("InvalidVpcId.Malformed", "InvalidParameterValue.Malformed"))
InvalidVpcIdNotFound = error_class("InvalidVpcId.NotFound", "The VPC does not exist.",
                                   prefer=("InvalidVpcId.NotFound", "ResourceNotFound"))
InvalidSecurityGroupIDMalformed = error_class("InvalidSecurityGroupID.Malformed", "The security group ID is malformed.")
InvalidSecurityGroupIDNotFound = error_class("InvalidSecurityGroupID.NotFound", "The security group does not exist.")
VpcLimitExceeded = error_class("VpcLimitExceeded", "The region holds as many VPCs as allowed.",
                               prefer=("VpcLimitExceeded", "LimitExceeded"))
LimitExceededSubnetCidrBlock = error_class("LimitExceeded.SubnetCidrBlock", "The VPC holds as many subnets as allowed.")
LimitExceededSecurityGroupPolicySet = error_class(
    "LimitExceeded.SecurityGroupPolicySet", "The security group holds as many rules as allowed.")
ResourceInUse = error_class("ResourceInUse", "The resource is in use.")
UnsupportedOperationVersionMismatch = error_class(
    "UnsupportedOperation.VersionMismatch", "The policy set's Version is not the current one.")
UnsupportedOperationDuplicatePolicy = error_class("UnsupportedOperation.DuplicatePolicy", "The rule exists already.")
UnsupportedOperationDefaultVpc = error_class("LimitExceeded.DefaultVpcLimitExceeded", "The default VPC exists already.")
# cvm RunInstances / AssociateSecurityGroups
InvalidParameterValueVpcIdMalformed = error_class("InvalidParameterValue.VpcIdMalformed", "The VPC ID is malformed.")
InvalidParameterValueSubnetIdMalformed = error_class("InvalidParameterValue.SubnetIdMalformed", "The subnet ID is malformed.")
InvalidParameterValueVpcIdNotExist = error_class("InvalidParameterValue.VpcIdNotExist", "The VPC does not exist.")
InvalidParameterValueSubnetNotExist = error_class("InvalidParameterValue.SubnetNotExist", "The subnet does not exist.")
InvalidParameterValueVpcIdSubnetIdNotMatch = error_class(
    "InvalidParameterValue.VpcIdSubnetIdNotMatch", "The subnet is not in the VPC.")
InvalidParameterValueSubnetIdZoneIdNotMatch = error_class(
    "InvalidParameterValue.SubnetIdZoneIdNotMatch", "The subnet is not in the instance's zone.")
InvalidParameterValueIPAddressMalformed = error_class("InvalidParameterValue.IPAddressMalformed", "The IP is malformed.")
VpcAddrNotInSubNet = error_class("VpcAddrNotInSubNet", "The private IP is not in the subnet.")
VpcIpIsUsed = error_class("VpcIpIsUsed", "The private IP is in use.")
FailedOperationNoAvailableIpAddressCountInSubnet = error_class(
    "FailedOperation.NoAvailableIpAddressCountInSubnet", "The subnet has no free private IP left.")
InvalidSgIdMalformed = error_class("InvalidSgId.Malformed", "The security group ID is malformed.")
InvalidSecurityGroupIdNotFound = error_class("InvalidSecurityGroupId.NotFound", "The security group does not exist.")
LimitExceededAssociateUSGLimitExceeded = error_class(
    "LimitExceeded.AssociateUSGLimitExceeded", "An instance can be in at most 5 security groups.")
ResourceInsufficientCidrBlock = error_class("ResourceInsufficient.CidrBlock", "No CIDR block is left.")
UnsupportedOperationRemoteRegionSgHasReferencedSg = error_class(
    "UnsupportedOperation.RemoteRegionSgHasReferencedSg", "Rules naming groups cannot be cloned to another region.")
