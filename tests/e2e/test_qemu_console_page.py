"""The web console's instance page under the QEMU driver: a link to the instance's VNC console in
noVNC (Debian's novnc package, served by the console) at the websocket DescribeInstanceVncUrl
answers; a stopped instance's page says why there is none."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.api.instances_util import call, wait_state
from tests.console_util import set_password, signin
from tests.e2e.qemu_util import cvm, kill_vms, public_linux_image, qemu_server, run_one, websocket_answers

pytestmark = pytest.mark.slow
PASSWORD = "Console-pass-1"


@pytest.fixture()
def server(tmp_path):
    srv = qemu_server(tmp_path / "data").start()
    yield srv
    srv.stop()
    kill_vms(srv)


def test_instance_page_links_to_its_vnc_console(server):
    c = cvm(server)
    ins = run_one(c, public_linux_image(c))
    accounts = server.cli("accounts", "list", "--json").stdout
    root_name = re.search(r'"Name": "([^"]+)"', accounts).group(1)
    set_password(server, root_name, PASSWORD)
    web = signin(server, root_name, PASSWORD)
    page = web.get(f"/console/instances/{ins}")
    assert page.status_code == 200
    link = re.search(r'href="(/console/novnc/vnc_lite\.html\?[^"]+)"', page.text)
    assert link, page.text[-1500:]
    query = parse_qs(urlsplit(html.unescape(link.group(1))).query)
    ws = urlsplit(call(c, "DescribeInstanceVncUrl", {"InstanceId": ins}).InstanceVncUrl)
    assert (query["host"], query["port"]) == ([ws.hostname], [str(ws.port)])
    assert websocket_answers(f"ws://{query['host'][0]}:{query['port'][0]}")  # the VNC server behind it
    viewer = web.get("/console/novnc/vnc_lite.html")
    assert viewer.status_code == 200 and "noVNC" in viewer.text
    call(c, "StopInstances", {"InstanceIds": [ins], "StopType": "HARD"})
    wait_state(c, [ins], "STOPPED", timeout=120)
    stopped = web.get(f"/console/instances/{ins}")
    assert "vnc_lite.html" not in stopped.text and "while the instance is running" in stopped.text
