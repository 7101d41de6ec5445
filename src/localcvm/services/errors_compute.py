"""Errors of instance type, charge type and project changes and of launch templates (part of the one
error catalogue, ``services/errors.py``, which re-exports them)."""

from __future__ import annotations

from .errors import error_class

# --- instance type, charge type and project changes (ResetInstancesType, ModifyInstancesChargeType, ...) ---
ResourceNotFoundInvalidZoneInstanceType = error_class(
    "ResourceNotFound.InvalidZoneInstanceType", "The zone does not offer this instance type."
)
ResourceUnavailableInstanceType = error_class("ResourceUnavailable.InstanceType", "The zone does not sell this instance type.")
UnsupportedOperationUnsupportedChangeInstanceFamilyToARM = error_class(
    "UnsupportedOperation.UnsupportedChangeInstanceFamilyToARM", "A non-ARM instance cannot change to an ARM type."
)
UnsupportedOperationUnsupportedARMChangeInstanceFamily = error_class(
    "UnsupportedOperation.UnsupportedARMChangeInstanceFamily", "An ARM instance cannot change to a non-ARM type."
)
InvalidParameterValueGPUInstanceFamily = error_class(
    "InvalidParameterValue.GPUInstanceFamily", "A non-GPU instance cannot change to a GPU type."
)
InvalidParameterValueInvalidGPUFamilyChange = error_class(
    "InvalidParameterValue.InvalidGPUFamilyChange", "A GPU instance cannot change to a non-GPU or another GPU type."
)
UnsupportedOperationStoppedModeStopCharging = error_class(
    "UnsupportedOperation.StoppedModeStopCharging", "Not supported for an instance stopped with STOP_CHARGING."
)
UnsupportedOperationSystemDiskType = error_class(
    "UnsupportedOperation.SystemDiskType", "Not supported for this system disk type."
)
FailedOperationZoneInconsistent = error_class("FailedOperation.ZoneInconsistent", "The instances are in different zones.")
UnsupportedOperationInstanceChargeType = error_class(
    "UnsupportedOperation.InstanceChargeType", "Not supported for this instance charge type."
)
InvalidProjectIdNotFound = error_class("InvalidProjectId.NotFound", "The project ID does not exist.")

# --- launch templates ------------------------------------------------------------------------------
InvalidParameterCombination = error_class("InvalidParameterCombination", "These parameters cannot be given together.")
InvalidParameterValueLaunchTemplateIdMalformed = error_class(
    "InvalidParameterValue.LaunchTemplateIdMalformed", "The launch template ID is malformed (lt-xxxxxxxx)."
)
InvalidParameterValueLaunchTemplateNotFound = error_class(
    "InvalidParameterValue.LaunchTemplateNotFound", "The launch template does not exist."
)
InvalidParameterValueLaunchTemplateIdVerNotExisted = error_class(
    "InvalidParameterValue.LaunchTemplateIdVerNotExisted", "The launch template has no such version."
)
InvalidParameterValueLaunchTemplateVersion = error_class(
    "InvalidParameterValue.LaunchTemplateVersion", "The launch template version number is not valid."
)
InvalidParameterValueLaunchTemplateIdVerSetAlready = error_class(
    "InvalidParameterValue.LaunchTemplateIdVerSetAlready", "The version is already the default."
)
InvalidParameterValueLaunchTemplateDefaultVersion = error_class(
    "InvalidParameterValue.LaunchTemplateDefaultVersion", "The default version cannot be deleted."
)
InvalidParameterValueInvalidLaunchTemplateName = error_class(
    "InvalidParameterValue.InvalidLaunchTemplateName", "The launch template name is not valid."
)
InvalidParameterValueInvalidLaunchTemplateVersionDescription = error_class(
    "InvalidParameterValue.InvalidLaunchTemplateVersionDescription", "The launch template version description is not valid."
)
LimitExceededLaunchTemplateQuota = error_class("LimitExceeded.LaunchTemplateQuota", "Too many launch templates.")
LimitExceededLaunchTemplateVersionQuota = error_class(
    "LimitExceeded.LaunchTemplateVersionQuota", "Too many versions of the launch template."
)
