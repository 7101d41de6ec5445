"""Browser tests of the web console: one real ``localcvm serve`` (SQLite), two accounts with console
passwords, and headless Chromium through Playwright."""

from __future__ import annotations

import pytest

from tests.api.instances_util import call, public_image, wait_state
from tests.api import sdk
from tests.api.share_util import accounts
from tests.console_util import set_password
from tests.helpers import Server

PASSWORD = "Console-pass-1"
# copies, captures and launches take a few seconds: SYNCING / CREATING and their progress are visible
SLOW = {"LOCALCVM_TIME_SCALE": "0.003"}


@pytest.fixture(scope="session")
def console_server(tmp_path_factory):
    srv = Server(data_dir=tmp_path_factory.mktemp("console-srv"), extra_env=SLOW)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def two_accounts(console_server):
    a, b = accounts(console_server, 2, "web")
    for acct in (a, b):
        set_password(console_server, acct["Name"], PASSWORD)
    return a, b


@pytest.fixture(scope="session")
def playwright_session():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session):
    from tests.e2e.browser import launch

    b = launch(playwright_session)
    yield b
    b.close()


@pytest.fixture
def signed_in(browser, console_server):
    """``signed_in(account, lang="en")`` → a page of a fresh browser context signed in as the account."""
    contexts = []

    def open_page(acct: dict, lang: str = "en", **context_options):
        ctx = browser.new_context(locale="ko-KR" if lang == "ko" else "en-US", viewport={"width": 1360, "height": 860},
                                  **context_options)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{console_server.url}/console/signin?lang={lang}")
        page.locator("#owner").fill(acct["Name"])
        page.locator("#password").fill(PASSWORD)
        page.locator("form.form button[type=submit]").click()
        page.wait_for_url("**/console/instances")
        return page

    yield open_page
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="session")
def running_instance(console_server, two_accounts):
    """An instance of account A in ap-guangzhou (made through the SDK)."""
    a = two_accounts[0]
    # an English-speaking client, as the console is: names the API localises are stored in English
    c = sdk.cvm(console_server, secret_id=a["SecretId"], secret_key=a["SecretKey"], language="en-US")
    ids = call(c, "RunInstances", {
        "Placement": {"Zone": "ap-guangzhou-3"}, "ImageId": public_image(c), "InstanceType": "S5.MEDIUM4",
        "SystemDisk": {"DiskType": "CLOUD_PREMIUM", "DiskSize": 50}, "InstanceName": "web-01",
        "LoginSettings": {"Password": "Passw0rd-web1"},
    }).InstanceIdSet
    wait_state(c, ids, "RUNNING", timeout=120)
    return ids[0]
