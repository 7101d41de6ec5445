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


def _error(code: str, default_message: str) -> type[ApiError]:
    """Declare an error class for ``code`` (kept small on purpose)."""
    name = code.replace(".", "_")
    return type(name, (ApiError,), {"code": code, "default_message": default_message})


# --- common errors (API 3.0, every product) --------------------------------
InternalError = _error("InternalError", "An internal error occurred; retry later.")
AuthFailure = _error("AuthFailure", "Authentication failed.")
AuthFailureSignatureFailure = _error(
    "AuthFailure.SignatureFailure",
    "The request signature does not match the one computed by the server; "
    "check the SecretKey and the signing process.",
)
AuthFailureSecretIdNotFound = _error(
    "AuthFailure.SecretIdNotFound", "The SecretId does not exist or is disabled."
)
AuthFailureSignatureExpire = _error(
    "AuthFailure.SignatureExpire",
    "The signature has expired: the request timestamp differs from the server time by more than 5 minutes.",
)
AuthFailureInvalidAuthorization = _error(
    "AuthFailure.InvalidAuthorization",
    "The Authorization header is missing or does not follow the TC3-HMAC-SHA256 format.",
)
AuthFailureUnauthorizedOperation = _error(
    "AuthFailure.UnauthorizedOperation", "The request is not authorized by CAM."
)
UnauthorizedOperation = _error("UnauthorizedOperation", "The operation is not authorized.")
InvalidAction = _error("InvalidAction", "The action does not exist.")
NoSuchVersion = _error("NoSuchVersion", "The API version does not exist.")
UnsupportedOperation = _error("UnsupportedOperation", "The operation is not supported.")
UnsupportedProtocol = _error(
    "UnsupportedProtocol", "Only HTTP(S) POST (and GET for legacy signatures) requests are supported."
)
UnsupportedRegion = _error("UnsupportedRegion", "The action does not support this region.")
InvalidRequest = _error("InvalidRequest", "The request body is malformed.")
RequestSizeLimitExceeded = _error("RequestSizeLimitExceeded", "The request body exceeds the size limit.")
MissingParameter = _error("MissingParameter", "A required parameter is missing.")
UnknownParameter = _error("UnknownParameter", "An unknown parameter was given.")
InvalidParameter = _error("InvalidParameter", "A parameter has the wrong format or type.")
InvalidParameterValue = _error("InvalidParameterValue", "A parameter has an invalid value.")
InvalidFilter = _error("InvalidFilter", "The filter is not supported.")
ResourceNotFound = _error("ResourceNotFound", "The resource does not exist.")
LimitExceeded = _error("LimitExceeded", "A limit was exceeded.")
DryRunOperation = _error("DryRunOperation", "The request would have succeeded, but DryRun was set.")

# --- regions --------------------------------------------------------------------
InvalidRegionNotFound = _error("InvalidRegion.NotFound", "The region does not exist.")
InvalidRegionUnavailable = _error("InvalidRegion.Unavailable", "The region is not available.")
InvalidParameterValueInvalidRegion = _error(
    "InvalidParameterValue.InvalidRegion", "The region ID is not available."
)
InvalidZoneMismatchRegion = _error("InvalidZone.MismatchRegion", "The zone does not belong to the region.")

# --- images ---------------------------------------------------------------------------
InvalidImageIdMalformed = _error("InvalidImageId.Malformed", "The image ID is malformed.")
InvalidImageIdNotFound = _error("InvalidImageId.NotFound", "The image does not exist.")
InvalidImageIdIncorrectState = _error("InvalidImageId.IncorrectState", "The image is not in a state that allows this.")
InvalidImageIdInShared = _error("InvalidImageId.InShared", "The image is shared with other accounts.")
InvalidImageNameDuplicate = _error("InvalidImageName.Duplicate", "An image with this name already exists.")
InvalidImageOsTypeUnsupported = _error("InvalidImageOsType.Unsupported", "The OS type is not supported.")
InvalidImageOsVersionUnsupported = _error("InvalidImageOsVersion.Unsupported", "The OS version is not supported.")
ImageQuotaLimitExceeded = _error("ImageQuotaLimitExceeded", "The custom image quota of this region is used up.")
InvalidParameterCoexistImageIdsFilters = _error(
    "InvalidParameter.InvalidParameterCoexistImageIdsFilters", "ImageIds and Filters cannot be given together."
)
InvalidParameterImageIdsSnapshotIdsMustOne = _error(
    "InvalidParameter.ImageIdsSnapshotIdsMustOne", "Give exactly one of ImageIds and SnapshotIds."
)
InvalidFilterValueLimitExceeded = _error("InvalidFilterValue.LimitExceeded", "Too many filters or filter values.")
InvalidParameterValueLimitExceeded = _error("InvalidParameterValue.LimitExceeded", "Too many values.")
InvalidParameterValueInvalidImageFamily = _error(
    "InvalidParameterValue.InvalidImageFamily", "The image family name is malformed."
)
InvalidParameterValueInvalidBucketPermissionForExport = _error(
    "InvalidParameterValue.InvalidBucketPermissionForExport", "The bucket does not exist or cannot be written."
)
UnauthorizedOperationImageNotBelongToAccount = _error(
    "UnauthorizedOperation.ImageNotBelongToAccount", "The image does not belong to this account."
)
UnsupportedOperationPublicImageExportUnsupported = _error(
    "UnsupportedOperation.PublicImageExportUnsupported", "Public and marketplace images cannot be exported."
)
UnsupportedOperationSharedImageExportUnsupported = _error(
    "UnsupportedOperation.SharedImageExportUnsupported", "Shared images cannot be exported."
)
UnsupportedOperationWindowsImageExportUnsupported = _error(
    "UnsupportedOperation.WindowsImageExportUnsupported", "Windows images cannot be exported."
)
UnsupportedOperationMarketImageExportUnsupported = _error(
    "UnsupportedOperation.MarketImageExportUnsupported", "Images made from marketplace images cannot be exported."
)
UnsupportedOperationSharedImageModifyUnsupported = _error(
    "UnsupportedOperation.SharedImageModifyUnsupported", "Images shared by another account cannot be modified."
)

# --- instances ----------------------------------------------------------------------------
InvalidInstanceIdMalformed = _error("InvalidInstanceId.Malformed", "The instance ID is malformed.")
InvalidInstanceIdNotFound = _error("InvalidInstanceId.NotFound", "The instance does not exist.")
InvalidZoneMismatchRegion = _error("InvalidZone.MismatchRegion", "The zone does not belong to the region.")
InvalidInstanceTypeMalformed = _error("InvalidInstanceType.Malformed", "The instance type is malformed.")
InvalidParameterValueInstanceTypeNotFound = _error(
    "InvalidParameterValue.InstanceTypeNotFound", "The instance type does not exist."
)
ResourceInsufficientZoneSoldOutForSpecifiedInstance = _error(
    "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance", "The instance type is not sold in this zone."
)
InvalidParameterValueInvalidImageForGivenInstanceType = _error(
    "InvalidParameterValue.InvalidImageForGivenInstanceType", "The image does not fit the instance type."
)
InvalidParameterValueRange = _error("InvalidParameterValue.Range", "The value is out of range.")
InvalidParameterValueTooLong = _error("InvalidParameterValue.TooLong", "The value is too long.")
InvalidParameterValueKeyPairNotSupported = _error(
    "InvalidParameterValue.KeyPairNotSupported", "Key pairs are not supported for this image."
)
InvalidKeyPairIdMalformed = _error("InvalidKeyPairId.Malformed", "The key pair ID is malformed.")
InvalidKeyPairIdNotFound = _error("InvalidKeyPairId.NotFound", "The key pair does not exist.")
InvalidKeyPairNameDuplicate = _error("InvalidKeyPairName.Duplicate", "A key pair with this name already exists.")
InvalidKeyPairLimitExceeded = _error("InvalidKeyPair.LimitExceeded", "Too many key pairs.")
UnsupportedOperationKeyPairUnsupportedWindows = _error(
    "UnsupportedOperation.KeyPairUnsupportedWindows", "Windows instances do not support key pairs."
)
InvalidClientTokenTooLong = _error("InvalidClientToken.TooLong", "The ClientToken is longer than 64 characters.")
InvalidInstanceState = _error("InvalidInstanceState", "The instance is not in a state that allows this.")
OperationDeniedInstanceOperationInProgress = _error(
    "OperationDenied.InstanceOperationInProgress", "Another operation on the instance is in progress."
)
UnsupportedOperationInstancesProtected = _error(
    "UnsupportedOperation.InstancesProtected", "The instance is protected from termination (DisableApiTermination)."
)
InvalidParameterDataDiskNotBelongSpecifiedInstance = _error(
    "InvalidParameter.DataDiskNotBelongSpecifiedInstance", "The data disk does not belong to the instance."
)
InvalidSnapshotIdNotFound = _error("InvalidSnapshotId.NotFound", "The snapshot does not exist.")
InvalidPeriod = _error("InvalidPeriod", "The prepaid period is not valid.")


def instance_state_error(state: str, instance_id: str, action: str) -> ApiError:
    """The real code for an operation refused in ``state``: UnsupportedOperation.InstanceState<State>."""
    pascal = "".join(part.capitalize() for part in state.split("_"))
    code = f"UnsupportedOperation.InstanceState{pascal}"
    return ApiError(f"The instance `{instance_id}` is {state}; {action} is not allowed in that state.", code=code)
InvalidPublicKeyDuplicate = _error("InvalidPublicKey.Duplicate", "The public key already exists.")
InvalidPublicKeyMalformed = _error("InvalidPublicKey.Malformed", "The public key is malformed.")

# --- CBS ---------------------------------------------------------------------------------------
InvalidDiskIdNotFound = _error("InvalidDiskId.NotFound", "The disk does not exist.")
InvalidDiskAlreadyBound = _error("InvalidDisk.AlreadyBound", "The disk is already attached.")
InvalidDiskBusy = _error("InvalidDisk.Busy", "The disk is busy.")
InvalidDiskNotPortable = _error("InvalidDisk.NotPortable", "The disk cannot be attached or detached on its own.")
ResourceUnavailableZoneNotMatch = _error("ResourceUnavailable.ZoneNotMatch", "The disk and the instance are in different zones.")
ResourceUnavailableAttached = _error("ResourceUnavailable.Attached", "The disk is attached.")
LimitExceededInstanceAttachedDisk = _error("LimitExceeded.InstanceAttachedDisk", "The instance has too many data disks.")
InvalidParameterDiskSizeNotMatch = _error("InvalidParameter.DiskSizeNotMatch", "The disk size is not valid.")
UnsupportedOperationSnapshotHasBindedImage = _error(
    "UnsupportedOperation.SnapshotHasBindedImage", "The snapshot belongs to an image; delete the image first."
)
UnsupportedOperationStateError = _error("UnsupportedOperation.StateError", "The resource's state does not allow this.")

# --- image sharing and copying (ModifyImageSharePermission, SyncImages) -----------------------------
InvalidAccountIdNotFound = _error("InvalidAccountId.NotFound", "The account ID does not exist.")
InvalidAccountIsYourSelf = _error("InvalidAccountIs.YourSelf", "An image cannot be shared with its own account.")
FailedOperationAccountAlreadyExists = _error(
    "FailedOperation.AccountAlreadyExists", "The image is already shared with this account."
)
FailedOperationBYOLImageShareFailed = _error(
    "FailedOperation.BYOLImageShareFailed", "Images with a BYOL license cannot be shared."
)
OverQuota = _error("OverQuota", "The image is shared with as many accounts as allowed.")
UnsupportedOperationRegion = _error("UnsupportedOperation.Region", "The operation is not supported for this region.")
UnsupportedOperationSyncEncryptImageNotSupport = _error(
    "UnsupportedOperation.SyncEncryptImageNotSupport", "Copying an image as an encrypted image is not supported."
)

# --- CreateImage / snapshots bound to images ----------------------------------------------------
InvalidParameterSnapshotNotFound = _error("InvalidParameter.SnapshotNotFound", "The snapshot does not exist.")
InvalidParameterSystemSnapshotNotFound = _error(
    "InvalidParameter.SystemSnapshotNotFound", "SnapshotIds must include a system disk snapshot."
)
InvalidParameterDuplicateSystemSnapshots = _error(
    "InvalidParameter.DuplicateSystemSnapshots", "SnapshotIds may include only one system disk snapshot."
)
InvalidParameterValueSnapshotIdMalformed = _error(
    "InvalidParameterValue.SnapshotIdMalformed", "The snapshot ID is malformed."
)
ResourceUnavailableSnapshotCreating = _error("ResourceUnavailable.SnapshotCreating", "The snapshot is being created.")
UnsupportedOperationSnapshotHasBindedImage = _error(
    "UnsupportedOperation.SnapshotHasBindedImage", "The snapshot backs a custom image; delete the image first."
)
