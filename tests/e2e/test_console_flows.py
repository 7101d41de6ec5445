"""Acceptance 1: the documents' copy flows clicked through the console, each result checked with the SDK.

Custom image: capture from an instance → Custom images → More → Cross-region copy to two regions →
OK → switch region → the copy (same name, new ID) → Create instance. Shared image: account B's
Shared images tab → In-region copy → B's Custom images tab → Create instance. Share / cancel sharing.
"""

from __future__ import annotations

import re

import pytest

from tests.api.instances_util import call, wait_state
from tests.api.share_util import client, shared_with
from tests.api.images_util import describe, wait_image

pytestmark = pytest.mark.slow
LINUX_PASSWORD = "Passw0rd-web1"


def badge(page, resource_id: str):
    return page.locator(f'[data-progress-image$=":{resource_id}"], [data-progress-instance$=":{resource_id}"]').first


def wait_badge(page, resource_id: str, state: str, timeout: float = 90_000) -> None:
    """Wait until the page's live progress (polling, no reload) shows ``state`` for the resource."""
    page.wait_for_function(
        "([id, state]) => { const el = document.querySelector(`[data-progress-image$=\":${id}\"], "
        "[data-progress-instance$=\":${id}\"]`); return el && el.dataset.state === state; }",
        arg=[resource_id, state], timeout=timeout)


def wait_done(page, resource_id: str, state: str) -> None:
    """Wait for the live progress to show ``state``, then for the detail page to reload its actions."""
    with page.expect_navigation(wait_until="load", timeout=90_000):
        wait_badge(page, resource_id, state)


def capture_image(page, base: str, instance_id: str, name: str) -> str:
    page.goto(f"{base}/console/instances/{instance_id}")
    page.get_by_role("link", name="Create custom image").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Force shutdown if the instance is running").check()
    page.get_by_role("button", name="Create custom image").click()
    page.wait_for_url(re.compile(r"/console/images/img-[a-z0-9]+"))
    image_id = re.search(r"(img-[a-z0-9]+)", page.url).group(1)
    wait_done(page, image_id, "NORMAL")
    return image_id


def create_instance_from(page, image_id: str) -> str:
    page.get_by_role("link", name="Create instance").first.click()
    page.wait_for_url(f"**/console/instances/new?image={image_id}")
    page.get_by_role("radio", name="Password").check()
    page.locator("#password").fill(LINUX_PASSWORD)
    page.get_by_role("button", name="Create instance").click()
    page.wait_for_url(re.compile(r"/console/instances/ins-[a-z0-9]+"))
    instance_id = re.search(r"(ins-[a-z0-9]+)", page.url).group(1)
    wait_done(page, instance_id, "RUNNING")
    return instance_id


def test_custom_image_cross_region_copy_then_create_instance_in_the_destination(
        signed_in, console_server, two_accounts, running_instance):
    a, _ = two_accounts
    base = console_server.url
    page = signed_in(a)
    source = capture_image(page, base, running_instance, "web-golden")

    # Images in the sidebar → Custom images tab: the quota shows before anything is created
    page.get_by_role("navigation", name="Console menu").get_by_role("link", name="Images").click()
    page.get_by_role("link", name="Custom images").click()
    assert re.search(r"\d+ / 10", page.locator("#quota").inner_text())
    page.get_by_role("link", name=source).click()
    page.get_by_role("link", name="Cross-region copy").click()

    # across the mainland-China border: disabled, with the reason SyncImages gives
    assert page.locator("#dst-ap-hongkong").is_disabled()
    assert "mainland China" in page.locator("#why-ap-hongkong").inner_text()
    assert page.locator("#dst-ap-guangzhou").count() == 0  # not to its own region
    page.locator("#dst-ap-shanghai").check()
    page.locator("#dst-ap-beijing").check()
    page.get_by_role("button", name="OK").click()
    page.wait_for_url(re.compile(rf"/console/images/{source}\?notice=copied"))
    copies = dict(re.findall(r"(ap-[a-z]+):(img-[a-z0-9]+)", page.url.replace("%3A", ":").replace("%2C", ",")))
    assert set(copies) == {"ap-shanghai", "ap-beijing"}
    with page.expect_navigation(wait_until="load", timeout=90_000):
        for image_id in copies.values():
            wait_badge(page, image_id, "NORMAL")  # the copy's progress, without reloading

    # the SDK agrees: same name, new IDs, in both regions
    for region, image_id in copies.items():
        [img] = describe(client(console_server, a, region), [image_id]).ImageSet
        assert img.ImageName == "web-golden" and img.ImageState == "NORMAL" and image_id != source

    # switch to the destination region → the copy → Create instance
    page.get_by_label("Region").select_option("ap-shanghai")
    page.wait_for_url("**/console/images?region=ap-shanghai")
    page.get_by_role("link", name="Custom images").click()
    row = page.locator("tr", has_text="web-golden")
    assert row.count() == 1 and copies["ap-shanghai"] in row.inner_text()
    page.get_by_role("link", name=copies["ap-shanghai"]).click()
    instance_id = create_instance_from(page, copies["ap-shanghai"])
    c = client(console_server, a, "ap-shanghai")
    ins = call(c, "DescribeInstances", {"InstanceIds": [instance_id]}).InstanceSet[0]
    assert ins.ImageId == copies["ap-shanghai"] and ins.InstanceState == "RUNNING"


def test_shared_image_in_region_copy_by_the_other_account_then_share_and_cancel(
        signed_in, console_server, two_accounts, running_instance):
    a, b = two_accounts
    base = console_server.url
    page_a = signed_in(a)
    image_id = capture_image(page_a, base, running_instance, "team-base")

    # A shares it with B from the console
    page_a.get_by_role("link", name="Share").click()
    page_a.get_by_label("Account IDs (comma separated)").fill(b["Uin"])
    page_a.get_by_role("button", name="Share", exact=True).click()
    page_a.wait_for_url(f"**/console/images/{image_id}?notice=shared")
    assert b["Uin"] in page_a.locator("#shared-with").inner_text()
    assert shared_with(client(console_server, a), image_id) == [b["Uin"]]

    # B: Images → Shared images → the image offers only Create instance and In-region copy
    page_b = signed_in(b)
    page_b.goto(f"{base}/console/images?tab=SHARED_IMAGE")
    page_b.get_by_role("link", name=image_id).click()
    offered = [t.strip() for t in page_b.locator("ul.actions li").all_inner_texts()]
    assert offered == ["Create instance", "In-region copy"]
    page_b.get_by_role("link", name="In-region copy").click()
    assert page_b.locator("#dst-ap-guangzhou").is_checked()
    assert page_b.locator("ul.regions li").count() == 1  # only into its own region
    page_b.get_by_role("button", name="OK").click()
    page_b.wait_for_url(re.compile(r"notice=copied"))
    copy_id = re.search(r"ap-guangzhou(?::|%3A)(img-[a-z0-9]+)", page_b.url).group(1)
    wait_done(page_b, copy_id, "NORMAL")
    copy = wait_image(client(console_server, b), copy_id)
    assert copy.ImageType == "PRIVATE_IMAGE" and copy.ImageName == "team-base"

    # the copy is on B's Custom images tab → Create instance
    page_b.goto(f"{base}/console/images?tab=PRIVATE_IMAGE")
    page_b.get_by_role("link", name=copy_id).click()
    instance_id = create_instance_from(page_b, copy_id)
    wait_state(client(console_server, b), [instance_id], "RUNNING")

    # A cancels the sharing: B no longer sees the image
    page_a.goto(f"{base}/console/images/{image_id}/share")
    page_a.get_by_role("button", name=f"Cancel sharing {b['Uin']}").click()
    page_a.wait_for_url(f"**/console/images/{image_id}?notice=unshared")
    assert shared_with(client(console_server, a), image_id) == []
    page_b.goto(f"{base}/console/images?tab=SHARED_IMAGE")
    assert page_b.get_by_role("link", name=image_id).count() == 0
