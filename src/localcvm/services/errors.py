"""The error catalogue: one class per real Tencent Cloud API error code.

Services raise these; ``api/`` renders them as
``{"Response": {"Error": {"Code", "Message"}, "RequestId"}}``.
Codes are the real ones (see the SDK's ``errorcodes.py`` per product and
the API 3.0 common error codes); messages are ours and always name the
parameter or resource involved.
"""

from __future__ import annotations


# An ID's situation in the generic codes most products document for it, when the action lists no
# specific one (vpc's actions document InvalidParameterValue.Malformed and ResourceNotFound for
# every kind of ID; cvm's and cbs's their InvalidXxxId.* codes).
SITUATIONS: dict[str, tuple[str, ...]] = {
    "Malformed": ("InvalidParameterValue.Malformed", "InvalidParameterValue"),
    "NotFound": ("ResourceNotFound",),
}


class ApiError(Exception):
    """An error with a wire code. ``code`` is the real API's error code.

    One situation can have a different documented code per action (an unknown region is
    ``UnsupportedRegion`` for most actions, ``InvalidRegion.NotFound`` for the few that
    document it). ``prefer`` lists such codes, most specific first: ``api/`` answers the
    first one the action documents (``data/error_codes.json``) or that is a common API 3.0
    code, else ``code``. In process (no action known) ``code`` is what callers see.
    """

    code = "InternalError"
    default_message = "An internal error occurred."
    prefer: tuple[str, ...] = ()

    def __init__(self, message: str | None = None, *, code: str | None = None, prefer: tuple[str, ...] | None = None):
        self.message = message or self.default_message
        if code:
            self.code = code
        if prefer is not None:
            self.prefer = tuple(prefer)
        super().__init__(self.message)

    def code_for(self, allowed) -> str:
        """The code to answer: the first of ``prefer`` that ``allowed(code)`` accepts (the action
        documents it, or it is a common code), else ``code`` when allowed, else the family of
        ``code`` (``LimitExceeded`` for ``LimitExceeded.EipNumLimit``) when that is a common code
        the action may answer, else ``code`` (which the strict error mode then reports)."""
        for code in self.prefer:
            if allowed(code):
                return code
        if allowed(self.code):
            return self.code
        family, _, situation = self.code.partition(".")
        for code in ((family,) if situation else ()) + SITUATIONS.get(situation, ()):
            if allowed(code):
                return code
        return self.code

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


def error_class(code: str, default_message: str, prefer: tuple[str, ...] = ()) -> type[ApiError]:
    """Declare an error class for ``code`` (kept small on purpose); ``prefer``: see ApiError."""
    name = code.replace(".", "_")
    return type(name, (ApiError,), {"code": code, "default_message": default_message, "prefer": tuple(prefer)})


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
# vpc's Describe* document InvalidParameter.FilterInvalidKey for an unknown filter name
InvalidFilter = error_class("InvalidFilter", "The filter is not supported.",
                            prefer=("InvalidFilter", "InvalidParameter.FilterInvalidKey"))
ResourceNotFound = error_class("ResourceNotFound", "The resource does not exist.")
LimitExceeded = error_class("LimitExceeded", "A limit was exceeded.")
DryRunOperation = error_class("DryRunOperation", "The request would have succeeded, but DryRun was set.")

# --- regions --------------------------------------------------------------------
InvalidRegionNotFound = error_class("InvalidRegion.NotFound", "The region does not exist.")
# An unknown region: the common code, except for the actions that document InvalidRegion.NotFound.
UnknownRegion = error_class("UnsupportedRegion", "The region does not exist.", prefer=("InvalidRegion.NotFound",))
InvalidRegionUnavailable = error_class(
    "InvalidRegion.Unavailable", "The region is not available.", prefer=("InvalidRegion.Unavailable", "UnsupportedRegion")
)
InvalidParameterValueInvalidRegion = error_class(
    "InvalidParameterValue.InvalidRegion", "The region ID is not available."
)
InvalidZoneMismatchRegion = error_class(
    "InvalidZone.MismatchRegion", "The zone does not belong to the region.",
    prefer=("InvalidZone.MismatchRegion", "InvalidParameterValue.ZoneNotSupported", "InvalidParameterValue"),
)

# --- images ---------------------------------------------------------------------------
InvalidImageIdMalformed = error_class("InvalidImageId.Malformed", "The image ID is malformed.")
InvalidImageIdNotFound = error_class("InvalidImageId.NotFound", "The image does not exist.")
# Image not NORMAL: DeleteImages, ModifyImageAttribute, SyncImages document InvalidImageId.IncorrectState;
# RunInstances, ResetInstance, ExportImages, ModifyImageSharePermission InvalidParameterValue.InvalidImageState.
InvalidImageIdIncorrectState = error_class(
    "InvalidImageId.IncorrectState", "The image is not in a state that allows this.",
    prefer=("InvalidImageId.IncorrectState", "InvalidParameterValue.InvalidImageState", "ResourceUnavailable"),
)
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
# cvm documents InvalidFilterValue.LimitExceeded; vpc and cbs actions InvalidParameterValue.LimitExceeded.
InvalidFilterValueLimitExceeded = error_class(
    "InvalidFilterValue.LimitExceeded", "Too many filters or filter values.",
    prefer=("InvalidFilterValue.LimitExceeded", "InvalidParameterValue.LimitExceeded", "InvalidParameterValue"),
)
InvalidParameterValueLimitExceeded = error_class("InvalidParameterValue.LimitExceeded", "Too many values.")
# Describe*'s Limit above 100 (DescribeKeyPairs also documents InvalidParameterValueLimit).
PageLimitExceeded = error_class(
    "InvalidParameterValue.LimitExceeded", "Limit is out of range.",
    prefer=("InvalidParameterValue.LimitExceeded", "InvalidParameterValueLimit", "InvalidParameterValue"),
)
InvalidParameterValueInvalidTimeFormat = error_class(
    "InvalidParameterValue.InvalidTimeFormat", "The time is malformed.",
    prefer=("InvalidParameterValue.InvalidTimeFormat", "InvalidParameterValue"),
)
InvalidParameterValueInvalidImageFamily = error_class(
    "InvalidParameterValue.InvalidImageFamily", "The image family name is malformed."
)
InvalidParameterValueInvalidBucketPermissionForExport = error_class(
    "InvalidParameterValue.InvalidBucketPermissionForExport", "The bucket does not exist or cannot be written."
)
# A public, marketplace or other account's image where the action needs one's own: the image
# sharing actions document UnauthorizedOperation.ImageNotBelongToAccount; DeleteImages and SyncImages
# InvalidParameterValue.InvalidImageId ("the image does not allow this operation"); ModifyImageAttribute
# only InvalidImageId.NotFound.
UnauthorizedOperationImageNotBelongToAccount = error_class(
    "UnauthorizedOperation.ImageNotBelongToAccount", "The image does not belong to this account.",
    prefer=("UnauthorizedOperation.ImageNotBelongToAccount", "InvalidParameterValue.InvalidImageId",
            "InvalidImageId.NotFound"),
)
UnsupportedOperationPublicImageExportUnsupported = error_class(
    "UnsupportedOperation.PublicImageExportUnsupported", "Public and marketplace images cannot be exported."
)
InvalidParameterValueInvalidBootMode = error_class("InvalidParameterValue.InvalidBootMode", "The boot mode is not supported.")
InvalidParameterValueInvalidLicenseType = error_class("InvalidParameterValue.InvalidLicenseType", "The license type is not valid.")
InvalidParameterInvalidParameterUrlError = error_class(
    "InvalidParameter.InvalidParameterUrlError", "The URL is not valid.",
    prefer=("InvalidParameter.InvalidParameterUrlError", "InvalidParameterValue"),
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
# CreateImage and the CBS actions document no Malformed code: a malformed ID names no instance.
InvalidInstanceIdMalformed = error_class(
    "InvalidInstanceId.Malformed", "The instance ID is malformed.",
    prefer=("InvalidInstanceId.Malformed", "InvalidParameterValue.InstanceIdMalformed", "InvalidInstanceId.NotFound"),
)
InvalidInstanceIdNotFound = error_class("InvalidInstanceId.NotFound", "The instance does not exist.")
InvalidInstanceTypeMalformed = error_class("InvalidInstanceType.Malformed", "The instance type is malformed.")
InvalidParameterValueInstanceTypeNotFound = error_class(
    "InvalidParameterValue.InstanceTypeNotFound", "The instance type does not exist."
)
# RunInstances documents the sold-out codes, not ZoneSoldOutForSpecifiedInstance.
ResourceInsufficientZoneSoldOutForSpecifiedInstance = error_class(
    "ResourceInsufficient.ZoneSoldOutForSpecifiedInstance", "The instance type is not sold in this zone.",
    prefer=("ResourceInsufficient.ZoneSoldOutForSpecifiedInstance", "ResourcesSoldOut.SpecifiedInstanceType",
            "ResourceInsufficient.SpecifiedInstanceType"),
)
# The host (LOCALCVM_HOST_VCPUS / LOCALCVM_HOST_MEMORY_GIB) has no room for the type.
ResourceInsufficientSpecifiedInstanceType = error_class(
    "ResourceInsufficient.SpecifiedInstanceType", "The specified instance type is out of stock.",
    prefer=("ResourceInsufficient.SpecifiedInstanceType", "ResourcesSoldOut.SpecifiedInstanceType"),
)
InvalidParameterValueInvalidImageForGivenInstanceType = error_class(
    "InvalidParameterValue.InvalidImageForGivenInstanceType", "The image does not fit the instance type."
)
InvalidParameterValueRange = error_class(
    "InvalidParameterValue.Range", "The value is out of range.", prefer=("InvalidParameterValue.Range", "InvalidParameterValue")
)
InvalidParameterValueTooLong = error_class(
    "InvalidParameterValue.TooLong", "The value is too long.", prefer=("InvalidParameterValue.TooLong", "InvalidParameterValue")
)
InvalidParameterValueKeyPairNotSupported = error_class(
    "InvalidParameterValue.KeyPairNotSupported", "Key pairs are not supported for this image.",
    prefer=("InvalidParameterValue.KeyPairNotSupported", "UnsupportedOperation.KeyPairUnsupportedWindows"),
)
InvalidKeyPairIdMalformed = error_class("InvalidKeyPairId.Malformed", "The key pair ID is malformed.")
# RunInstances and ResetInstance document InvalidParameterValue.KeyPairNotFound for a missing key.
InvalidKeyPairIdNotFound = error_class(
    "InvalidKeyPairId.NotFound", "The key pair does not exist.",
    prefer=("InvalidKeyPairId.NotFound", "InvalidParameterValue.KeyPairNotFound", "ResourceNotFound.KeyPairNotFound"),
)
InvalidKeyPairNameDuplicate = error_class("InvalidKeyPairName.Duplicate", "A key pair with this name already exists.")
InvalidKeyPairLimitExceeded = error_class("InvalidKeyPair.LimitExceeded", "Too many key pairs.")
UnsupportedOperationKeyPairUnsupportedWindows = error_class(
    "UnsupportedOperation.KeyPairUnsupportedWindows", "Windows instances do not support key pairs.",
    prefer=("UnsupportedOperation.KeyPairUnsupportedWindows", "InvalidParameterValue.KeyPairNotSupported"),
)
InvalidClientTokenTooLong = error_class("InvalidClientToken.TooLong", "The ClientToken is longer than 64 characters.")
InvalidInstanceState = error_class("InvalidInstanceState", "The instance is not in a state that allows this.")
# CBS's actions document ResourceBusy for the same situation.
OperationDeniedInstanceOperationInProgress = error_class(
    "OperationDenied.InstanceOperationInProgress", "Another operation on the instance is in progress.",
    prefer=("OperationDenied.InstanceOperationInProgress", "ResourceBusy", "ResourceInUse"),
)
UnsupportedOperationInstancesProtected = error_class(
    "UnsupportedOperation.InstancesProtected", "The instance is protected from termination (DisableApiTermination)."
)
# A disk of another instance: CreateImage's code; ResizeInstanceDisks documents UnsupportedOperation.InvalidDataDisk.
InvalidParameterDataDiskNotBelongSpecifiedInstance = error_class(
    "InvalidParameter.DataDiskNotBelongSpecifiedInstance", "The data disk does not belong to the instance.",
    prefer=("InvalidParameter.DataDiskNotBelongSpecifiedInstance", "UnsupportedOperation.InvalidDataDisk",
            "InvalidParameterValue"),
)
InvalidParameterDataDiskIdContainsRootDisk = error_class(
    "InvalidParameter.DataDiskIdContainsRootDisk", "DataDiskIds lists the system disk."
)
UnsupportedOperationInvalidDataDisk = error_class("UnsupportedOperation.InvalidDataDisk", "The data disk is not supported.")
MissingParameterAtLeastOne = error_class("MissingParameter.AtLeastOne", "Give at least one of the parameters.")
# CBS's code; RunInstances, CreateImage and ExportImages document InvalidParameter.SnapshotNotFound.
InvalidSnapshotIdNotFound = error_class(
    "InvalidSnapshotId.NotFound", "The snapshot does not exist.",
    prefer=("InvalidSnapshotId.NotFound", "InvalidParameter.SnapshotNotFound", "ResourceNotFound"),
)
InvalidPeriod = error_class("InvalidPeriod", "The prepaid period is not valid.")


# States an instance passes through on its own; an operation refused in one of them is "busy".
TRANSITIONAL_STATES = frozenset({"PENDING", "STARTING", "STOPPING", "REBOOTING", "TERMINATING"})


def instance_state_error(state: str, instance_id: str, action: str) -> ApiError:
    """An operation refused in ``state``. CVM actions document UnsupportedOperation.InstanceState<State>
    for the states they refuse; the others (and CBS's AttachDisks, DetachDisks, CreateSnapshot)
    document InvalidInstance.NotSupported, or ResourceBusy while the instance is changing state."""
    pascal = "".join(part.capitalize() for part in state.split("_"))
    specific = f"UnsupportedOperation.InstanceState{pascal}"
    if state in TRANSITIONAL_STATES:
        general = ("OperationDenied.InstanceOperationInProgress", "ResourceBusy", "InvalidInstance.NotSupported")
    else:
        general = ("InvalidInstance.NotSupported", "ResourceBusy")
    return ApiError(
        f"The instance `{instance_id}` is {state}; {action} is not allowed in that state.",
        code=specific, prefer=(specific, *general, "UnsupportedOperation"),
    )


InvalidPublicKeyDuplicate = error_class("InvalidPublicKey.Duplicate", "The public key already exists.")
InvalidPublicKeyMalformed = error_class("InvalidPublicKey.Malformed", "The public key is malformed.")

# --- CBS ---------------------------------------------------------------------------------------
# TerminateDisks documents no disk-not-found code: the common ResourceNotFound there.
InvalidDiskIdNotFound = error_class(
    "InvalidDiskId.NotFound", "The disk does not exist.",
    prefer=("InvalidDiskId.NotFound", "ResourceNotFound.NotFound", "ResourceNotFound"),
)
InvalidDiskAlreadyBound = error_class("InvalidDisk.AlreadyBound", "The disk is already attached.")
# CreateSnapshot and ResizeDisk document InvalidDisk.Busy; CreateImage (a cvm action) ResourceInUse.
InvalidDiskBusy = error_class(
    "InvalidDisk.Busy", "The disk is busy.", prefer=("InvalidDisk.Busy", "ResourceBusy", "ResourceInUse")
)
# A disk or snapshot that is changing state: CBS's ResourceBusy (ResourceInUse, common, elsewhere).
ResourceBusy = error_class("ResourceBusy", "The resource is busy; retry later.", prefer=("ResourceBusy", "ResourceInUse"))
InvalidParameterDiskConfigNotSupported = error_class(
    "InvalidParameter.DiskConfigNotSupported", "The disk configuration is not supported."
)
InvalidDiskNotPortable = error_class("InvalidDisk.NotPortable", "The disk cannot be attached or detached on its own.")
ResourceUnavailableZoneNotMatch = error_class("ResourceUnavailable.ZoneNotMatch", "The disk and the instance are in different zones.")
# AttachDisks documents ResourceUnavailable.Attached; TerminateDisks nothing closer than the common ResourceInUse.
ResourceUnavailableAttached = error_class(
    "ResourceUnavailable.Attached", "The disk is attached.", prefer=("ResourceUnavailable.Attached", "ResourceInUse")
)
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
# CreateImage documents no Malformed code: a malformed ID names no snapshot.
InvalidParameterValueSnapshotIdMalformed = error_class(
    "InvalidParameterValue.SnapshotIdMalformed", "The snapshot ID is malformed.",
    prefer=("InvalidParameterValue.SnapshotIdMalformed", "InvalidParameter.SnapshotNotFound", "InvalidSnapshotId.NotFound",
            "InvalidParameterValue"),
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
# CreateKeyPair and ImportKeyPair document these three; ModifyKeyPairAttribute documents none of
# them and answers a bad new name with InvalidParameterValue.
InvalidKeyPairNameEmpty = error_class("InvalidKeyPairNameEmpty", "The key pair name is empty.",
                                      prefer=("InvalidKeyPairNameEmpty", "InvalidParameterValue"))
InvalidKeyPairNameTooLong = error_class("InvalidKeyPairNameTooLong", "The key pair name is longer than 25 characters.",
                                        prefer=("InvalidKeyPairNameTooLong", "InvalidParameterValue"))
InvalidKeyPairNameIncludeIllegalChar = error_class(
    "InvalidKeyPairNameIncludeIllegalChar",
    "The key pair name may only contain English letters, digits and underscores.",
    prefer=("InvalidKeyPairNameIncludeIllegalChar", "InvalidParameterValue"),
)

# --- image families ---------------------------------------------------------------------------------
InvalidParameterValueInvalidImageId = error_class(
    "InvalidParameterValue.InvalidImageId", "The image does not allow this operation."
)

# --- CBS restore and attributes (ApplySnapshot, ModifySnapshotAttribute, ModifyDiskAttributes) --------
InvalidSnapshotNotSupported = error_class("InvalidSnapshot.NotSupported", "The snapshot does not support this operation.")
ResourceInUseDiskRollbacking = error_class("ResourceInUse.DiskRollbacking", "The disk is rolling back to a snapshot.")
UnsupportedOperationInstanceNotStopped = error_class(
    "UnsupportedOperation.InstanceNotStopped", "The instance the disk is attached to is not stopped.",
    prefer=("UnsupportedOperation.InstanceNotStopped", "InvalidInstance.NotSupported"),
)
InvalidDiskNotSupported = error_class("InvalidDisk.NotSupported", "The disk does not support this operation.")

# --- CBS auto-snapshot policies ----------------------------------------------------------------------
InvalidAutoSnapshotPolicyIdNotFound = error_class(
    "InvalidAutoSnapshotPolicyId.NotFound", "The auto-snapshot policy does not exist."
)
LimitExceededAutoSnapshotPolicyOutOfQuota = error_class(
    "LimitExceeded.AutoSnapshotPolicyOutOfQuota", "Too many auto-snapshot policies in the region."
)
InvalidDiskAlreadyBound = error_class("InvalidDisk.AlreadyBound", "The disk is already bound to the policy.")

# --- CBS snapshot copies and sharing ----------------------------------------------------------------
ResourceInUseCopySnapshotConflict = error_class(
    "ResourceInUse.CopySnapshotConflict", "The snapshot is already being copied to that region."
)
ResourceInsufficientOverQuota = error_class(
    "ResourceInsufficient.OverQuota", "The snapshot is shared with as many accounts as allowed."
)
InvalidParameterInvalidInstanceNotSupported = error_class(
    "InvalidParameter.InvalidInstanceNotSupported", "The operation does not support this instance."
)

# (billing and price inquiries use UnsupportedOperationInstanceChargeType, errors_compute.py)
# --- tag (the tag product) ---------------------------------------------------------------------
# A resource description (qcs::service:region:uin/owner:prefix/id) that names no resource of the
# caller: DescribeResourceTagsByResourceIds documents each case; ModifyResourceTags, TagResources and
# UnTagResources only InvalidParameterValue.ResourceDescriptionError (and ResourceNotFound, common).
_DESCRIPTION = ("InvalidParameterValue.ResourceDescriptionError", "InvalidParameterValue")
InvalidParameterValueResourceDescriptionError = error_class(
    "InvalidParameterValue.ResourceDescriptionError", "The resource description is malformed.")
InvalidParameterUnsupportedService = error_class(
    "InvalidParameter.UnsupportedService", "The service type is not supported.",
    prefer=("InvalidParameter.UnsupportedService", "InvalidParameterValue.ServiceTypeInvalid", *_DESCRIPTION))
InvalidParameterValueResourcePrefixInvalid = error_class(
    "InvalidParameterValue.ResourcePrefixInvalid", "The resource prefix is not valid for the service type.",
    prefer=("InvalidParameterValue.ResourcePrefixInvalid", *_DESCRIPTION))
InvalidParameterValueResourceIdInvalid = error_class(
    "InvalidParameterValue.ResourceIdInvalid", "The resource does not exist.",
    prefer=("InvalidParameterValue.ResourceIdInvalid", "ResourceNotFound"))
InvalidParameterValueUinInvalid = error_class(
    "InvalidParameterValue.UinInvalid", "The account in the resource description is not yours.",
    prefer=("InvalidParameterValue.UinInvalid", *_DESCRIPTION))
InvalidParameterValueDeleteTagsParamError = error_class(
    "InvalidParameterValue.DeleteTagsParamError", "ReplaceTags and DeleteTags name the same key, or neither is given.")
# ModifyResourceTags documents no TagNumPerRequest: the common LimitExceeded there.
LimitExceededTagNumPerRequest = error_class(
    "LimitExceeded.TagNumPerRequest", "Too many tags in one request.", prefer=("LimitExceeded.TagNumPerRequest", "LimitExceeded")
)
LimitExceededResourceAttachedTags = error_class(
    "LimitExceeded.ResourceAttachedTags", "The resource has too many tags.",
    prefer=("LimitExceeded.ResourceAttachedTags", "LimitExceeded"))
LimitExceededResourceNumPerRequest = error_class(
    "LimitExceeded.ResourceNumPerRequest", "Too many resources in one request.",
    prefer=("LimitExceeded.ResourceNumPerRequest", "LimitExceeded"))


# --- the QEMU driver (real virtual machines) -------------------------------------------------------
UnsupportedOperationInstanceOsWindows = error_class(
    "UnsupportedOperation.InstanceOsWindows", "Windows instances are not supported by this operation."
)
UnsupportedOperationArmArchitecture = error_class(
    "UnsupportedOperation.ArmArchitecture", "ARM instances are not supported by this operation."
)
LimitExceededEipNumLimit = error_class("LimitExceeded.EipNumLimit", "No public IP address is left to assign.")

# The catalogue's sections of the vpc and cam products and of instance changes and launch templates
# live in their own modules; they are part of it.
from .errors_cam import *  # noqa: E402,F401,F403
from .errors_compute import *  # noqa: E402,F401,F403
from .errors_network import *  # noqa: E402,F401,F403
