"""Images: the catalogue, custom images and every image action.

Layout (one module per action family; ``lifecycle`` owns every state transition):

    catalogue.py   public and marketplace images, ``ImageView``, localisation, DescribeImportImageOs
    rules.py       names, description, family, URL checks; ``ImageAccess`` (quota, ownership, visibility)
    lifecycle.py   the image states, which may follow which, what finishing and failing write
    service.py     ``ImageService``: DescribeImages, ModifyImageAttribute, DeleteImages, quota, GC, disks
    importing.py   ImportImage and its job          create.py   CreateImage and its job
    share.py       Modify/DescribeImageSharePermission
    sync.py        SyncImages and its job          export.py   ExportImages, its job and the COS store
"""

from .catalogue import Catalogue, ImageSnapshot, ImageView, ImportOs, localized
from .create import CreateImageRequest, ImageCreator
from .export import ExportImagesRequest, ExportResult, ImageExporter, ObjectStore
from .importing import ImageImporter, ImportImageRequest
from .rules import ImageAccess, check_description, check_family, check_image_id, check_name, check_url
from .service import (DescribeImagesRequest, ImageDiskReport, ImageJobReport, ImageReport, ImageService,
                      ModifyImageRequest)
from .share import ImageSharing, SharePermission, ShareRequest
from .sync import ImageCopier, ImageRegion, SyncImagesRequest

__all__ = [
    "Catalogue", "CreateImageRequest", "DescribeImagesRequest", "ExportImagesRequest", "ExportResult",
    "ImageAccess", "ImageCopier", "ImageCreator", "ImageDiskReport", "ImageExporter", "ImageImporter",
    "ImageJobReport", "ImageRegion", "ImageReport", "ImageService", "ImageSharing", "ImageSnapshot", "ImageView",
    "ImportImageRequest", "ImportOs", "ModifyImageRequest", "ObjectStore", "SharePermission", "ShareRequest",
    "SyncImagesRequest", "check_description", "check_family", "check_image_id", "check_name", "check_url",
    "localized",
]
