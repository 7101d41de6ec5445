"""Official-SDK clients pointed at a test server."""

from __future__ import annotations

from tencentcloud.common import credential
from tencentcloud.common.common_client import CommonClient
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile

VERSIONS = {"cvm": "2017-03-12", "cbs": "2017-03-12", "vpc": "2017-03-12", "cam": "2019-01-16"}


def profile(server, sign_method: str = "TC3-HMAC-SHA256", language: str | None = None, method: str = "POST") -> ClientProfile:
    hp = HttpProfile(endpoint=server.endpoint, protocol=server.scheme, reqMethod=method)
    if server.tls:
        hp.certification = str(server.ca_file)
    prof = ClientProfile(signMethod=sign_method, httpProfile=hp)
    if language:
        prof.language = language
    return prof


def cred(server, secret_id: str | None = None, secret_key: str | None = None):
    return credential.Credential(secret_id or server.secret_id, secret_key or server.secret_key)


def cvm(server, region: str = "ap-guangzhou", *, sign_method: str = "TC3-HMAC-SHA256", secret_id=None, secret_key=None,
        language=None, method="POST"):
    from tencentcloud.cvm.v20170312 import cvm_client

    return cvm_client.CvmClient(cred(server, secret_id, secret_key), region, profile(server, sign_method, language, method))


def common(server, product: str = "cvm", region: str = "ap-guangzhou", *, secret_id=None, secret_key=None, sign_method="TC3-HMAC-SHA256"):
    """A CommonClient: sends any action with any parameters, signed by the SDK."""
    return CommonClient(product, VERSIONS[product], cred(server, secret_id, secret_key), region, profile(server, sign_method))


def cam(server, *, secret_id=None, secret_key=None, sign_method: str = "TC3-HMAC-SHA256"):
    """A CAM client (a global service: no region)."""
    from tencentcloud.cam.v20190116 import cam_client

    return cam_client.CamClient(cred(server, secret_id, secret_key), "", profile(server, sign_method))


def cbs(server, region: str = "ap-guangzhou", *, secret_id=None, secret_key=None):
    from tencentcloud.cbs.v20170312 import cbs_client

    return cbs_client.CbsClient(cred(server, secret_id, secret_key), region, profile(server))
