"""CAM sub-users in the web console: a sub-user with console login signs in with its root account's
Uin, its name and its password, sees only the images its policy lets it read, and is refused (and
nothing changes) when it opens an action's URL directly — the console runs the same policy check
as the API."""

from __future__ import annotations

import uuid

import httpx

from tests.api import sdk
from tests.api.cam_util import allow, call as cam_call, owner_uin, policy
from tests.api.images_util import image_of
from tests.api.share_util import custom_image
from tests.console_util import csrf_of, page_csrf

PASSWORD = "Viewer-pass-2024!"


def test_sub_user_sees_and_does_only_what_its_policy_allows(server, files, tmp_path):
    c = sdk.cvm(server)
    tag = uuid.uuid4().hex[:6]
    seen = custom_image(c, files, tmp_path, f"cam-seen-{tag}", size_mib=4, seed=21)
    hidden = custom_image(c, files, tmp_path, f"cam-hidden-{tag}", size_mib=4, seed=22)
    owner = owner_uin(server)
    root = sdk.cam(server)
    name = f"viewer{tag}"
    user = cam_call(root, "AddUser", {"Name": name, "ConsoleLogin": 1, "Password": PASSWORD, "UseApi": 0})
    # it may read one image (and whatever its detail page shows of it), nothing else
    doc = policy(allow("cvm:Describe*", f"qcs::cvm:ap-guangzhou:uin/{owner}:image/{seen}"))
    pid = cam_call(root, "CreatePolicy", {"PolicyName": f"see-one-{tag}", "PolicyDocument": doc}).PolicyId
    cam_call(root, "AttachUserPolicy", {"PolicyId": pid, "AttachUin": user.Uin})

    web = httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)
    form = web.get("/console/signin")
    wrong = web.post("/console/signin", data={"csrf": csrf_of(form.text), "mode": "password", "owner": owner,
                                              "user": name, "password": PASSWORD + "x"})
    assert wrong.status_code == 401
    form = web.get("/console/signin")
    ok = web.post("/console/signin", data={"csrf": csrf_of(form.text), "mode": "password", "owner": owner,
                                           "user": name, "password": PASSWORD})
    assert ok.status_code == 303, ok.text[-300:]

    listing = web.get("/console/images?tab=PRIVATE_IMAGE")
    assert listing.status_code == 200
    assert seen in listing.text and hidden not in listing.text  # filtered, not refused wholesale
    direct = web.get(f"/console/images/{hidden}")  # opened by its URL: refused, nothing of it shown
    assert direct.status_code in (400, 403, 404) and f"cam-hidden-{tag}" not in direct.text
    token = page_csrf(web, f"/console/images/{seen}")
    refused = web.post(f"/console/images/{seen}/delete", data={"csrf": token})
    assert "UnauthorizedOperation" in refused.text, refused.text[-500:]
    assert image_of(c, seen).ImageState == "NORMAL"  # the refused action changed nothing
