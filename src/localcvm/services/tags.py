"""Tags given at creation (``TagSpecification``, or CBS's plain ``Tags`` list): one rule for every
resource type."""

from __future__ import annotations

from . import errors

# The tag service's limits: keys of at most 127 characters, values of at most 255.
MAX_KEY = 127
MAX_VALUE = 255


def tag_map(items: list[dict] | None) -> dict[str, str]:
    """``{key: value}`` from ``[{"Key", "Value"}, ...]`` once each key and value is within the limits."""
    tags: dict[str, str] = {}
    for tag in items or []:
        key, value = tag["Key"], tag["Value"]
        if not key or len(key) > MAX_KEY:
            raise errors.InvalidParameterValue(f"A tag key must be 1 to {MAX_KEY} characters, got {len(key)}.")
        if len(value) > MAX_VALUE:
            raise errors.InvalidParameterValue(f"A tag value must be at most {MAX_VALUE} characters, got {len(value)}.")
        tags[key] = value
    return tags


def tags_for(specs: list[dict] | None, resource_type: str) -> dict[str, str]:
    """``{key: value}`` from the ``TagSpecification`` items of ``resource_type``."""
    tags: dict[str, str] = {}
    for spec in specs or []:
        if spec.get("ResourceType") not in (resource_type, None):
            raise errors.InvalidParameterValue(
                f"TagSpecification.ResourceType must be `{resource_type}`, got `{spec.get('ResourceType')}`."
            )
        tags.update(tag_map(spec.get("Tags")))
    return tags
