"""Acceptance 2: refusals show their reason; a forged cross-site post is refused; one account's
session cannot reach another's resources."""

from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.api.images_util import describe, wait_image
from tests.api.instances_util import call
from tests.api.share_util import client, share
from tests.helpers import free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shared_image(console_server, two_accounts, running_instance):
    """A's custom image, shared with B (made through the SDK)."""
    a, b = two_accounts
    c = client(console_server, a)
    image_id = call(c, "CreateImage", {"InstanceId": running_instance, "ImageName": "shared-base",
                                       "ForcePoweroff": "TRUE"}).ImageId
    wait_image(c, image_id, timeout=120)
    share(c, image_id, [b["Uin"]])
    return image_id


def test_refused_actions_show_the_code_and_the_reason_in_both_languages(signed_in, console_server, two_accounts,
                                                                         shared_image):
    a, _ = two_accounts
    page = signed_in(a)
    base = console_server.url
    page.goto(f"{base}/console/images/{shared_image}/delete")
    page.get_by_role("button", name="Delete").click()
    alert = page.get_by_role("alert")
    assert "InvalidImageId.InShared" in alert.inner_text()
    assert "cancel the sharing first" in alert.inner_text()
    assert describe(client(console_server, a), [shared_image]).ImageSet, "the refused delete changed nothing"

    page.goto(f"{base}/console/images/{shared_image}/delete?lang=ko")
    page.get_by_role("button", name="삭제").click()
    assert "먼저 공유를 취소하세요" in page.get_by_role("alert").inner_text()
    page.goto(f"{base}/console/instances?lang=en")

    # the password rule is shown before the create, and a password against it is refused with the reason
    page.goto(f"{base}/console/instances/new?image={shared_image}")
    assert "8 to 30 characters" in page.locator("#pw-rule").inner_text()
    page.get_by_role("radio", name="Password").check()
    page.locator("#password").fill("abcdefgh")
    page.get_by_role("button", name="Create instance").click()
    text = page.get_by_role("alert").inner_text()
    assert "InvalidParameterValue.InvalidPassword" in text and "password rules" in text


def test_disabled_actions_say_why(signed_in, console_server, two_accounts, running_instance):
    a, _ = two_accounts
    page = signed_in(a)
    c = client(console_server, a)
    image_id = call(c, "CreateImage", {"InstanceId": running_instance, "ImageName": "busy-one",
                                       "ForcePoweroff": "TRUE"}).ImageId
    page.goto(f"{console_server.url}/console/images/{image_id}")
    if page.locator('[data-state="CREATING"]').count():  # still being captured: copy and share wait for it
        why = page.locator("ul.actions li", has_text="Cross-region copy").inner_text()
        assert "Only a Normal image" in why
        assert page.get_by_role("link", name="Cross-region copy").count() == 0
    wait_image(c, image_id, timeout=120)


def test_another_accounts_image_cannot_be_read_or_acted_on(signed_in, console_server, two_accounts, shared_image):
    a, b = two_accounts
    page_a = signed_in(a)
    own = call(client(console_server, a), "DescribeImages", {
        "Filters": [{"Name": "image-type", "Values": ["PRIVATE_IMAGE"]}]}).ImageSet
    private = next(i.ImageId for i in own if i.ImageId != shared_image)
    page_a.close()
    page_b = signed_in(b)
    page_b.goto(f"{console_server.url}/console/images/{private}")
    assert "InvalidImageId.NotFound" in page_b.get_by_role("alert").inner_text()
    # B's own valid form token, posted at A's image's delete URL: the API refuses it for B
    page_b.goto(f"{console_server.url}/console/images/{shared_image}/delete")
    page_b.get_by_role("button", name="Delete").click()
    assert re.search(r"InvalidImageId\.NotFound|UnauthorizedOperation", page_b.get_by_role("alert").inner_text())
    assert describe(client(console_server, a), [shared_image]).ImageSet


class _Evil(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):
        body = (f'<!doctype html><html lang="en"><body><form id="f" method="post" action="{self.target}">'
                '<input name="name" value="forgedkey"></form>'
                '<script>document.getElementById("f").submit()</script></body></html>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_forged_cross_site_post_is_refused(signed_in, console_server, two_accounts):
    a, _ = two_accounts
    page = signed_in(a)
    _Evil.target = f"{console_server.url}/console/keypairs"
    evil = ThreadingHTTPServer(("127.0.0.2", free_port()), _Evil)  # another site, still loopback
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with page.expect_navigation(url=re.compile(r"/console/keypairs$")):
            page.goto(f"http://127.0.0.2:{evil.server_address[1]}/")
        assert page.locator("h1").inner_text() == "Request refused"
    finally:
        evil.shutdown()
    keys = call(client(console_server, a), "DescribeKeyPairs", {}).KeyPairSet
    assert "forgedkey" not in [k.KeyName for k in keys]
