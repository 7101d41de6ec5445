"""The error catalogue: one class per real Tencent Cloud API error code.

Services raise these; ``api/`` renders them as
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.
Codes are the real ones (see the SDK's ``errorcodes.py`` per product and
the API 3.0 common error codes); messages are ours and always name the
parameter or resource involved.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error with a wire code. ``code`` is the real API's error code."""

    code = "InternalError"
    default_message = "An internal error occurred."

    def __init__(self, message: str | None = None, *, code: str | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        super().__init__(self.message)

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


def error_class(code: str, default_message: str) -> type[ApiError]:
    """Declare an error class for ``code`` (kept small on purpose)."""
    name = code.replace(".", "_")
    return type(name, (ApiError,), {"code": code, "default_message": default_message})


# --- common errors (API 3.0, every product) --------------------------------
InternalError = error_class("InternalError", "An internal error occurred; retry later.")
AuthFailure = error_class("AuthFailure", "Authentication failed.")
AuthFailureSignatureFailure = error_class(
    "AuthFailure.SignatureFailure",
    "The request signature does not match the one computed by the server; "
    "check the SecretKey and the signing process.",
)
AuthFailureSecretIdNotFound = error_class(
    "AuthFailure.SecretIdNotFound", "The SecretId does not exist or is disabled."
)
AuthFailureSignatureExpire = error_class(
    "AuthFailure.SignatureExpire",
    "The signature has expired: the request timestamp differs from the server time by more than 5 minutes.",
)
AuthFailureInvalidAuthorization = error_class(
    "AuthFailure.InvalidAuthorization",
    "The Authorization header is missing or does not follow the TC3-HMAC-SHA256 format.",
)
AuthFailureUnauthorizedOperation = error_class(
    "AuthFailure.UnauthorizedOperation", "The request is not authorized by CAM."
)
UnauthorizedOperation = error_class("UnauthorizedOperation", "The operation is not authorized.")
InvalidAction = error_class("InvalidAction", "The action does not exist.")
NoSuchVersion = error_class("NoSuchVersion", "The API version does not exist.")
UnsupportedOperation = error_class("UnsupportedOperation", "The operation is not supported.")
UnsupportedProtocol = error_class(
    "UnsupportedProtocol", "Only HTTP(S) POST (and GET for legacy signatures) requests are supported."
)
UnsupportedRegion = error_class("UnsupportedRegion", "The action does not support this region.")
InvalidRequest = error_class("InvalidRequest", "The request body is malformed.")
RequestSizeLimitExceeded = error_class("RequestSizeLimitExceeded", "The request body exceeds the size limit.")
MissingParameter = error_class("MissingParameter", "A required parameter is missing.")
UnknownParameter = error_class("UnknownParameter", "An unknown parameter was given.")
InvalidParameter = error_class("InvalidParameter", "A parameter has the wrong format or type.")
InvalidParameterValue = error_class("InvalidParameterValue", "A parameter has an invalid value.")
InvalidFilter = error_class("InvalidFilter", "The filter is not supported.")
ResourceNotFound = error_class("ResourceNotFound", "The resource does not exist.")
LimitExceeded = error_class("LimitExceeded", "A limit was exceeded.")
DryRunOperation = error_class("DryRunOperation", "The request would have succeeded, but DryRun was set.")

# --- regions --------------------------------------------------------------------
InvalidRegionNotFound = error_class("InvalidRegion.NotFound", "The region does not exist.")
InvalidRegionUnavailable = error_class("InvalidRegion.Unavailable", "The region is not available.")
InvalidParameterValueInvalidRegion = error_class(
    "InvalidParameterValue.InvalidRegion", "The region ID is not available."
)
InvalidZoneMismatchRegion = error_class("InvalidZone.MismatchRegion", "The zone does not belong to the region.")

# --- images ---------------------------------------------------------------------------
InvalidImageIdMalformed = error_class("InvalidImageId.Malformed", "The image ID is malformed.")
InvalidImageIdNotFound = error_class("InvalidImageId.NotFound", "The image does not exist.")
InvalidImageIdIncorrectState = error_class("InvalidImageId.IncorrectState", "The image is not in a state that allows this.")
InvalidImageIdInShared = error_class("InvalidImageId.InShared", "The image is shared with other accounts.")
InvalidImageNameDuplicate = error_class("InvalidImageName.Duplicate", "An image with this name already exists.")
InvalidImageOsTypeUnsupported = error_class("InvalidImageOsType.Unsupported", "The OS type is not supported.")
InvalidImageOsVersionUnsupported = error_class("InvalidImageOsVersion.Unsupported", "The OS version is not supported.")
ImageQuotaLimitExceeded = error_class("ImageQuotaLimitExceeded", "The custom image quota of this region is used up.")
InvalidParameterCoexistImageIdsFilters = error_class(
    "InvalidParameter.InvalidParameterCoexistImageIdsFilters", "ImageIds and Filters cannot be given together."
)
InvalidParameterImageIdsSnapshotIdsMustOne = error_class(
    "InvalidParameter.ImageIdsSnapshotIdsMustOne", "Give exactly one of ImageIds and SnapshotIds."
)
InvalidFilterValueLimitExceeded = error_class("InvalidFilterValue.LimitExceeded", "Too many filters or filter values.")
InvalidParameterValueLimitExceeded = error_class("InvalidParameterValue.LimitExceeded", "Too many values.")
InvalidParameterValueInvalidImageFamily = error_class(
    "InvalidParameterValue.InvalidImageFamily", "The image family name is malformed."
)
InvalidParameterValueInvalidBucketPermissionForExport = error_class(
    "InvalidParameterValue.InvalidBucketPermissionForExport", "The bucket does not exist or cannot be written."
)
UnauthorizedOperationImageNotBelongToAccount = error_class(
    "UnauthorizedOperation.ImageNotBelongToAccount", "The image does not belong to this account."
)
UnsupportedOperationPublicImageExportUnsupported = error_class(
    "UnsupportedOperation.PublicImageExportUnsupported", "Public and marketplace images cannot be exported."
)
UnsupportedOperationSharedImageExportUnsupported = error_class(
    "UnsupportedOperation.SharedImageExportUnsupported", "Shared images cannot be exported."
)
UnsupportedOperationWindowsImageExportUnsupported = error_class(
    "UnsupportedOperation.WindowsImageExportUnsupported", "Windows images cannot be exported."
)
UnsupportedOperationMarketImageExportUnsupported = error_class(
    "UnsupportedOperation.MarketImageExportUnsupported", "Images made from marketplace images cannot be exported."
)
UnsupportedOperationSharedImageModifyUnsupported = error_class(
    "UnsupportedOperation.SharedImageModifyUnsupported", "Images shared by another account cannot be modified."
)

# --- instances ----------------------------------------------------------------------------
InvalidInstanceIdMalformed = error_class("InvalidInstanceId.Malformed", "The instance ID is malformed.")
InvalidInstanceIdNotFound = error_class("InvalidInstanceId.NotFound", "The instance does not exist.")
InvalidZoneMismatchRegion = error_class("InvalidZone.MismatchRegion", "The zone does not belong to the region.")
InvalidInstanceTypeMalformed = error_class("InvalidInstanceType.Malformed", "The instance type is malformed.")
InvalidParameterValueInstanceTypeNotFound = error_class(
    "InvalidParameterValue.InstanceTypeNotFound", "The instance type does not exist."
)
ResourceInsufficientZoneSoldOutForSpecifiedInstance = error_class(
    "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance", "The instance type is not sold in this zone."
)
InvalidParameterValueInvalidImageForGivenInstanceType = error_class(
    "InvalidParameterValue.InvalidImageForGivenInstanceType", "The image does not fit the instance type."
)
InvalidParameterValueRange = error_class("InvalidParameterValue.Range", "The value is out of range.")
InvalidParameterValueTooLong = error_class("InvalidParameterValue.TooLong", "The value is too long.")
InvalidParameterValueKeyPairNotSupported = error_class(
    "InvalidParameterValue.KeyPairNotSupported", "Key pairs are not supported for this image."
)
InvalidKeyPairIdMalformed = error_class("InvalidKeyPairId.Malformed", "The key pair ID is malformed.")
InvalidKeyPairIdNotFound = error_class("InvalidKeyPairId.NotFound", "The key pair does not exist.")
InvalidKeyPairNameDuplicate = error_class("InvalidKeyPairName.Duplicate", "A key pair with this name already exists.")
InvalidKeyPairLimitExceeded = error_class("InvalidKeyPair.LimitExceeded", "Too many key pairs.")
UnsupportedOperationKeyPairUnsupportedWindows = error_class(
    "UnsupportedOperation.KeyPairUnsupportedWindows", "Windows instances do not support key pairs."
)
InvalidClientTokenTooLong = error_class("InvalidClientToken.TooLong", "The ClientToken is longer than 64 characters.")
InvalidInstanceState = error_class("InvalidInstanceState", "The instance is not in a state that allows this.")
OperationDeniedInstanceOperationInProgress = error_class(
    "OperationDenied.InstanceOperationInProgress", "Another operation on the instance is in progress."
)
UnsupportedOperationInstancesProtected = error_class(
    "UnsupportedOperation.InstancesProtected", "The instance is protected from termination (DisableApiTermination)."
)
InvalidParameterDataDiskNotBelongSpecifiedInstance = error_class(
    "InvalidParameter.DataDiskNotBelongSpecifiedInstance", "The data disk does not belong to the instance."
)
InvalidSnapshotIdNotFound = error_class("InvalidSnapshotId.NotFound", "The snapshot does not exist.")
InvalidPeriod = error_class("InvalidPeriod", "The prepaid period is not valid.")


def instance_state_error(state: str, instance_id: str, action: str) -> ApiError:
    """The real code for an operation refused in ``state``: UnsupportedOperation.InstanceState<State>."""
    pascal = "".join(part.capitalize() for part in state.split("_"))
    code = f"UnsupportedOperation.InstanceState{pascal}"
    return ApiError(f"The instance `{instance_id}` is {state}; {action} is not allowed in that state.", code=code)
InvalidPublicKeyDuplicate = error_class("InvalidPublicKey.Duplicate", "The public key already exists.")
InvalidPublicKeyMalformed = error_class("InvalidPublicKey.Malformed", "The public key is malformed.")

# --- CBS ---------------------------------------------------------------------------------------
InvalidDiskIdNotFound = error_class("InvalidDiskId.NotFound", "The disk does not exist.")
InvalidDiskAlreadyBound = error_class("InvalidDisk.AlreadyBound", "The disk is already attached.")
InvalidDiskBusy = error_class("InvalidDisk.Busy", "The disk is busy.")
InvalidDiskNotPortable = error_class("InvalidDisk.NotPortable", "The disk cannot be attached or detached on its own.")
ResourceUnavailableZoneNotMatch = error_class("ResourceUnavailable.ZoneNotMatch", "The disk and the instance are in different zones.")
ResourceUnavailableAttached = error_class("ResourceUnavailable.Attached", "The disk is attached.")
LimitExceededInstanceAttachedDisk = error_class("LimitExceeded.InstanceAttachedDisk", "The instance has too many data disks.")
InvalidParameterDiskSizeNotMatch = error_class("InvalidParameter.DiskSizeNotMatch", "The disk size is not valid.")
UnsupportedOperationSnapshotHasBindedImage = error_class(
    "UnsupportedOperation.SnapshotHasBindedImage", "The snapshot belongs to an image; delete the image first."
)
UnsupportedOperationStateError = error_class("UnsupportedOperation.StateError", "The resource's state does not allow this.")

# --- image sharing and copying (ModifyImageSharePermission, SyncImages) -----------------------------
InvalidAccountIdNotFound = error_class("InvalidAccountId.NotFound", "The account ID does not exist.")
InvalidAccountIsYourSelf = error_class("InvalidAccountIs.YourSelf", "An image cannot be shared with its own account.")
FailedOperationAccountAlreadyExists = error_class(
    "FailedOperation.AccountAlreadyExists", "The image is already shared with this account."
)
FailedOperationBYOLImageShareFailed = error_class(
    "FailedOperation.BYOLImageShareFailed", "Images with a BYOL license cannot be shared."
)
OverQuota = error_class("OverQuota", "The image is shared with as many accounts as allowed.")
UnsupportedOperationRegion = error_class("UnsupportedOperation.Region", "The operation is not supported for this region.")
UnsupportedOperationSyncEncryptImageNotSupport = error_class(
    "UnsupportedOperation.SyncEncryptImageNotSupport", "Copying an image as an encrypted image is not supported."
)

# --- CreateImage / snapshots bound to images ----------------------------------------------------
InvalidParameterSnapshotNotFound = error_class("InvalidParameter.SnapshotNotFound", "The snapshot does not exist.")
InvalidParameterSystemSnapshotNotFound = error_class(
    "InvalidParameter.SystemSnapshotNotFound", "SnapshotIds must include a system disk snapshot."
)
InvalidParameterDuplicateSystemSnapshots = error_class(
    "InvalidParameter.DuplicateSystemSnapshots", "SnapshotIds may include only one system disk snapshot."
)
InvalidParameterValueSnapshotIdMalformed = error_class(
    "InvalidParameterValue.SnapshotIdMalformed", "The snapshot ID is malformed."
)
ResourceUnavailableSnapshotCreating = error_class("ResourceUnavailable.SnapshotCreating", "The snapshot is being created.")
UnsupportedOperationSnapshotHasBindedImage = error_class(
    "UnsupportedOperation.SnapshotHasBindedImage", "The snapshot backs a custom image; delete the image first."
)

# --- image jobs that fail (ImportImage, SyncImages): the image's state and error say why ------------
ImportFailed = error_class("FailedOperation", "The image could not be imported.")
SyncFailed = error_class("FailedOperation", "The image could not be copied.")

# --- instance parameter rules (RunInstances, ResetInstance, ModifyInstancesAttribute, ...) ------------
InvalidParameterValueInvalidPassword = error_class(
    "InvalidParameterValue.InvalidPassword", "The password does not meet the password complexity rules."
)
InvalidInstanceNameTooLong = error_class("InvalidInstanceName.TooLong", "The instance name is too long.")
InvalidParameterValueIllegalHostName = error_class(
    "InvalidParameterValue.IllegalHostName", "The HostName value is not valid."
)
InvalidParameterHostNameIllegal = error_class("InvalidParameter.HostNameIllegal", "The HostName does not follow the rules.")
InvalidParameterValueInvalidUserDataFormat = error_class(
    "InvalidParameterValue.InvalidUserDataFormat", "UserData must be base64-encoded."
)
InvalidParameterValueTooLarge = error_class("InvalidParameterValue.TooLarge", "The value exceeds the maximum.")

# --- key pair names -------------------------------------------------------------------------------
InvalidKeyPairNameEmpty = error_class("InvalidKeyPairNameEmpty", "The key pair name is empty.")
InvalidKeyPairNameTooLong = error_class("InvalidKeyPairNameTooLong", "The key pair name is longer than 25 characters.")
InvalidKeyPairNameIncludeIllegalChar = error_class(
    "InvalidKeyPairNameIncludeIllegalChar",
    "The key pair name may only contain English letters, digits and underscores.",
)

# --- the QEMU driver (real virtual machines) -------------------------------------------------------
UnsupportedOperationInstanceOsWindows = error_class(
    "UnsupportedOperation.InstanceOsWindows", "Windows instances are not supported by this operation."
)
UnsupportedOperationArmArchitecture = error_class(
    "UnsupportedOperation.ArmArchitecture", "ARM instances are not supported by this operation."
)
LimitExceededEipNumLimit = error_class("LimitExceeded.EipNumLimit", "No public IP address is left to assign.")
