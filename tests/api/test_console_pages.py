"""Console pages over plain HTTP: language, headers, and the image/instance actions the browser
tests do not click (import, rename, delete, power, key pairs), each checked through the SDK."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from tests.api.images_util import describe, make_raw, wait_image
from tests.api.instances_util import call, public_image, wait_state
from tests.api.share_util import accounts, client
from tests.console_util import page_csrf, set_password, signin
from tests.helpers import wait_until

PASSWORD = "Console-pass-1"


def account(server, prefix: str) -> tuple[dict, httpx.Client]:
    [a] = accounts(server, 1, prefix)
    set_password(server, a["Name"], PASSWORD)
    return a, signin(server, a["Name"], PASSWORD)


def test_language_from_accept_language_then_the_cookie(server):
    c = httpx.Client(base_url=server.url)
    ko = c.get("/console/signin", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert '<html lang="ko">' in ko.text and "로그인" in ko.text and "Sign in" not in ko.text
    en = c.get("/console/signin?lang=en", headers={"Accept-Language": "ko-KR"})
    assert '<html lang="en">' in en.text and c.cookies["lcvm_lang"] == "en"
    again = c.get("/console/signin", headers={"Accept-Language": "ko-KR"})
    assert '<html lang="en">' in again.text, "the cookie beats Accept-Language"


def test_pages_and_static_files_carry_their_headers(server):
    c = httpx.Client(base_url=server.url)
    page = c.get("/console/signin")
    assert page.headers["cache-control"] == "no-store" and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    css = c.get("/console/static/console.css")
    assert css.status_code == 200 and "max-age=86400" in css.headers["cache-control"]
    assert c.get("/console/static/console.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert c.get("/console", follow_redirects=False).headers["location"] == "/console/"


def test_region_switch_without_javascript_is_a_get_that_is_remembered(server):
    _, c = account(server, "con-reg")
    r = c.get("/console/images?region=ap-singapore")
    assert r.status_code == 200 and c.cookies["lcvm_region"] == "ap-singapore"
    assert '<option value="ap-singapore" selected>' in c.get("/console/instances").text
    # an unknown region falls back to the default instead of failing
    assert c.get("/console/instances?region=xx-nowhere").status_code == 200


def test_images_tabs_search_filters_and_paging(server):
    _, c = account(server, "con-tabs")
    public = c.get("/console/images?tab=PUBLIC_IMAGE").text
    total = int(re.search(r"(\d+) in total", public).group(1))
    assert total > 20 and "Page 1 of" in public and 'rel="next"' in public
    ubuntu = c.get("/console/images?tab=PUBLIC_IMAGE&q=ubuntu").text
    names = re.findall(r'<td class="name">([^<]+)</td>', ubuntu)
    assert names and all("ubuntu" in n.lower() for n in names)
    arm = c.get("/console/images?tab=PUBLIC_IMAGE&arch=arm").text
    assert re.findall(r"<td>(x86_64|arm|i386)</td>", arm) and set(re.findall(r"<td>(x86_64|arm|i386)</td>", arm)) == {"arm"}
    custom = c.get("/console/images?tab=PRIVATE_IMAGE&q=web").text
    assert 'href="/console/images?tab=PRIVATE_IMAGE&amp;q=web&amp;lang=ko"' in custom, "the language switch keeps the page"
    market = c.get("/console/images?tab=MARKET_IMAGE").text
    assert "Marketplace images" in market and "No images" not in market
    assert re.search(r"Custom images in this region: <strong>0 / 10</strong>", c.get("/console/images?tab=PRIVATE_IMAGE").text)


def test_import_rename_delete_through_the_console(server, files, tmp_path):
    a, c = account(server, "con-img")
    raw = make_raw(tmp_path / "disk.raw", 24)
    name = f"{uuid.uuid4().hex[:6]}-disk.raw"
    files.add(name, raw)
    form = c.get("/console/images/import").text
    assert 'value="CentOS|7"' in form
    r = c.post("/console/images/import", data={"csrf": page_csrf(c), "name": "imported-one", "url": files.url(name),
                                               "os": "CentOS|7", "arch": "x86_64"})
    assert r.status_code == 303
    image_id = re.search(r"(img-[a-z0-9]+)", r.headers["location"]).group(1)
    sdk = client(server, a)
    assert wait_image(sdk, image_id, timeout=180).ImageState == "NORMAL"

    r = c.post(f"/console/images/{image_id}/rename", data={"csrf": page_csrf(c), "name": "renamed-one",
                                                           "description": "from the console"})
    assert r.status_code == 303
    [img] = describe(sdk, [image_id]).ImageSet
    assert (img.ImageName, img.ImageDescription) == ("renamed-one", "from the console")
    # a name the API refuses: its code on the page, nothing changed
    bad = c.post(f"/console/images/{image_id}/rename", data={"csrf": page_csrf(c), "name": "x" * 200})
    assert bad.status_code == 400 and "InvalidParameterValue" in bad.text
    assert describe(sdk, [image_id]).ImageSet[0].ImageName == "renamed-one"

    bucket = f"export-{uuid.uuid4().hex[:8]}"
    r = c.post(f"/console/images/{image_id}/export", data={"csrf": page_csrf(c), "bucket": bucket, "format": "QCOW2",
                                                           "prefix": "web"})
    assert r.status_code == 303 and "notice=exporting" in r.headers["location"]
    out = server.data_dir / "cos" / bucket
    wait_until(lambda: out.exists() and any(p.name.startswith("web") for p in out.rglob("*") if p.is_file()),
               timeout=120, what="the exported file in the bucket")
    wait_until(lambda: describe(sdk, [image_id]).ImageSet[0].ImageState == "NORMAL", timeout=120, what="export done")

    confirm = c.get(f"/console/images/{image_id}/delete").text
    assert "cannot be undone" in confirm and 'role="alertdialog"' in confirm
    assert c.post(f"/console/images/{image_id}/delete", data={"csrf": page_csrf(c)}).status_code == 303
    assert not describe(sdk, [image_id]).ImageSet


def test_power_actions_and_progress_json(server):
    a, c = account(server, "con-pow")
    sdk = client(server, a)
    [ins] = call(sdk, "RunInstances", {"Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(sdk),
                                       "InstanceType": "S5.MEDIUM4", "InstanceName": "pow-1",
                                       "LoginSettings": {"Password": "Passw0rd-web1"}}).InstanceIdSet
    wait_state(sdk, [ins], "RUNNING")
    page = c.get(f"/console/instances/{ins}").text
    assert re.search(r'<span class="btn disabled"[^>]*>Start</span><span class="why">Not while the instance is Running', page)
    assert c.post(f"/console/instances/{ins}/stop", data={"csrf": page_csrf(c)}).status_code == 303
    progress = c.get(f"/console/progress.json?instances=ap-guangzhou:{ins}").json()
    assert progress["instances"][ins]["state"] in ("STOPPING", "STOPPED")
    wait_state(sdk, [ins], "STOPPED")
    assert c.get(f"/console/progress.json?instances=ap-guangzhou:{ins}").json()["instances"][ins]["label"] == "Shut down"
    # stopping a stopped instance: the API's refusal, with its code
    again = c.post(f"/console/instances/{ins}/stop", data={"csrf": page_csrf(c)})
    assert again.status_code == 400 and "UnsupportedOperation.InstanceStateStopped" in again.text
    assert c.post(f"/console/instances/{ins}/terminate", data={"csrf": page_csrf(c)}).status_code == 303
    logged = [json.loads(line) for line in server.log().splitlines() if '"via":"console"' in line]
    assert any(e["action"] == "StopInstances" and e["status"] == "ok" and e["account"] == a["Uin"] for e in logged)
    assert any(e["action"] == "StopInstances" and e["status"] == "UnsupportedOperation.InstanceStateStopped"
               for e in logged)
    gone = c.get("/console/progress.json?images=ap-guangzhou:img-00000000").json()["images"]
    assert gone["img-00000000"]["state"] in ("GONE",)


def test_key_pairs_create_shows_the_private_key_once_then_delete(server):
    a, c = account(server, "con-kp")
    r = c.post("/console/keypairs", data={"csrf": page_csrf(c), "name": "deploy_key"})
    assert r.status_code == 200 and "PRIVATE KEY-----" in r.text
    [key] = call(client(server, a), "DescribeKeyPairs", {}).KeyPairSet
    assert key.KeyName == "deploy_key"
    assert "PRIVATE KEY-----" not in c.get("/console/keypairs").text
    assert c.post(f"/console/keypairs/{key.KeyId}/delete", data={"csrf": page_csrf(c)}).status_code == 303
    assert not call(client(server, a), "DescribeKeyPairs", {}).KeyPairSet
