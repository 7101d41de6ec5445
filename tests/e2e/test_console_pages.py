"""Acceptance 3 and 4: a screenshot of every main page in English and Korean (docs/screenshots/),
and axe-core run in each page with no serious or critical violation."""

from __future__ import annotations

import pytest

from tests.api.images_util import wait_image
from tests.api.instances_util import call
from tests.api.share_util import client
from tests.e2e.browser import SCREENSHOTS, axe_violations, describe

pytestmark = pytest.mark.slow
LANGS = ("en", "ko")


@pytest.fixture(scope="module")
def page_data(console_server, two_accounts, running_instance):
    a, _ = two_accounts
    c = client(console_server, a)
    image_id = call(c, "CreateImage", {"InstanceId": running_instance, "ImageName": "web-server-2026",
                                       "ImageDescription": "nginx + app, hardened", "ForcePoweroff": "TRUE"}).ImageId
    wait_image(c, image_id, timeout=120)
    call(c, "CreateKeyPair", {"KeyName": "ops_team", "ProjectId": 0})
    return {"image": image_id, "instance": running_instance}


def pages(d: dict) -> list[tuple[str, str]]:
    return [
        ("instances", "/console/instances"),
        ("instance-detail", f"/console/instances/{d['instance']}"),
        ("images-public", "/console/images?tab=PUBLIC_IMAGE"),
        ("images-custom", "/console/images?tab=PRIVATE_IMAGE"),
        ("image-detail", f"/console/images/{d['image']}"),
        ("image-copy", f"/console/images/{d['image']}/sync"),
        ("image-share", f"/console/images/{d['image']}/share"),
        ("instance-new", f"/console/instances/new?image={d['image']}"),
        ("keypairs", "/console/keypairs"),
        ("snapshots", "/console/snapshots"),
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_screenshots_of_every_page_in_both_languages(signed_in, browser, console_server, two_accounts, page_data,
                                                      lang):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    anon = browser.new_context(locale="ko-KR" if lang == "ko" else "en-US", viewport={"width": 1360, "height": 860})
    signin = anon.new_page()
    signin.goto(f"{console_server.url}/console/signin")  # the language comes from Accept-Language
    assert signin.locator("html").get_attribute("lang") == lang
    signin.screenshot(path=str(SCREENSHOTS / f"signin.{lang}.png"))
    anon.close()
    page = signed_in(two_accounts[0], lang)
    for name, path in pages(page_data):
        page.goto(console_server.url + path)
        assert page.locator("html").get_attribute("lang") == lang
        assert page.get_by_role("alert").count() == 0, (name, page.get_by_role("alert").all_inner_texts())
        page.screenshot(path=str(SCREENSHOTS / f"{name}.{lang}.png"))


@pytest.mark.parametrize("lang", LANGS)
def test_no_serious_accessibility_violations(signed_in, browser, console_server, two_accounts, page_data, lang):
    # the pages' Content-Security-Policy forbids injected scripts: let axe in, for the test only
    anon = browser.new_context(locale="ko-KR" if lang == "ko" else "en-US", bypass_csp=True)
    signin = anon.new_page()
    signin.goto(f"{console_server.url}/console/signin")
    found = {"signin": axe_violations(signin)}
    anon.close()
    page = signed_in(two_accounts[0], lang, bypass_csp=True)
    for name, path in pages(page_data):
        page.goto(console_server.url + path)
        found[name] = axe_violations(page)
    bad = {k: v for k, v in found.items() if v}
    assert not bad, describe(bad)


def test_keyboard_only_reaches_the_menu_and_the_language_switch(signed_in, two_accounts):
    page = signed_in(two_accounts[0])
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    page.keyboard.press("Enter")
    tabs = []
    for _ in range(12):
        page.keyboard.press("Shift+Tab")
        tabs.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Images" in tabs and "한국어" in tabs
