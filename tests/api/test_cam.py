"""CAM acceptance 2, 3 and 5 and the cam API itself (official SDK over HTTP)."""

from __future__ import annotations

import json

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException

from tests.api import cam_util as cu
from tests.api import sdk
from tests.api.instances_util import call as cvm_call

ZONES = cu.policy(cu.allow("cvm:DescribeZones"))


def _code(fn, *args) -> str:
    try:
        fn(*args)
    except TencentCloudSDKException as exc:
        return exc.code
    return "ok"


def zones(client) -> str:
    return _code(cvm_call, client, "DescribeZones", {})


def test_ip_condition_allows_one_source_address_only(make_server):
    srv = make_server()
    doc = cu.policy(cu.allow("cvm:DescribeZones", condition={"ip_equal": {"qcs:ip": ["127.0.0.1/32"]}}),
                    cu.allow("cvm:DescribeRegions", condition={"ip_not_equal": {"qcs:ip": "127.0.0.0/24"}}))
    _, sid, skey = cu.sub_user(srv, "net", doc)
    assert "ZoneSet" in cu.call_from(srv, "127.0.0.1", sid, skey, "DescribeZones", {})
    refused = cu.call_from(srv, "127.0.3.7", sid, skey, "DescribeZones", {})
    assert refused["Error"]["Code"] == "UnauthorizedOperation" and "cvm:DescribeZones" in refused["Error"]["Message"]
    assert cu.decisions(srv)[-1]["decided_by"] == "no match"
    assert "RegionSet" in cu.call_from(srv, "127.0.3.7", sid, skey, "DescribeRegions", {})
    assert cu.call_from(srv, "127.0.0.1", sid, skey, "DescribeRegions", {})["Error"]["Code"] == "UnauthorizedOperation"


def test_groups_detach_delete_and_keys_take_effect_at_once(make_server):
    srv = make_server()
    root = sdk.cam(srv)
    uin, sid, skey = cu.sub_user(srv, "member")
    me = sdk.cvm(srv, secret_id=sid, secret_key=skey)
    assert zones(me) == "UnauthorizedOperation"
    gid = cu.call(root, "CreateGroup", {"GroupName": "ops"}).GroupId
    pid = cu.call(root, "CreatePolicy", {"PolicyName": "zones", "PolicyDocument": ZONES}).PolicyId
    cu.call(root, "AttachGroupPolicy", {"PolicyId": pid, "AttachGroupId": gid})
    assert zones(me) == "UnauthorizedOperation"
    cu.call(root, "AddUserToGroup", {"Info": [{"GroupId": gid, "Uin": uin}]})
    assert zones(me) == "ok"
    assert [g.GroupId for g in cu.call(root, "ListGroupsForUser", {"SubUin": uin}).GroupInfo] == [gid]
    all_policies = cu.call(root, "ListAttachedUserAllPolicies", {"TargetUin": uin, "Rp": 20, "Page": 1, "AttachType": 0})
    assert [(p.PolicyId, p.Groups[0].GroupId) for p in all_policies.PolicyList] == [(str(pid), gid)]
    cu.call(root, "RemoveUserFromGroup", {"Info": [{"GroupId": gid, "Uin": uin}]})
    assert zones(me) == "UnauthorizedOperation"
    cu.call(root, "AddUserToGroup", {"Info": [{"GroupId": gid, "Uin": uin}]})
    cu.call(root, "DetachGroupPolicy", {"PolicyId": pid, "DetachGroupId": gid})
    assert zones(me) == "UnauthorizedOperation"
    # a policy attached to the user; its document changes; then it is deleted
    cu.call(root, "AttachUserPolicy", {"PolicyId": pid, "AttachUin": uin})
    assert zones(me) == "ok"
    cu.call(root, "UpdatePolicy", {"PolicyId": pid, "PolicyDocument": cu.policy(cu.allow("cvm:DescribeRegions"))})
    assert zones(me) == "UnauthorizedOperation"
    version = cu.call(root, "CreatePolicyVersion", {"PolicyId": pid, "PolicyDocument": ZONES, "SetAsDefault": True}).VersionId
    assert version == 2 and zones(me) == "ok"
    cu.call(root, "SetDefaultPolicyVersion", {"PolicyId": pid, "VersionId": 1})
    assert zones(me) == "UnauthorizedOperation"
    cu.call(root, "SetDefaultPolicyVersion", {"PolicyId": pid, "VersionId": 2})
    cu.call(root, "DeletePolicy", {"PolicyId": [pid]})
    assert zones(me) == "UnauthorizedOperation"
    # keys: inactive, active again, deleted with the user
    cu.call(root, "AttachUserPolicy", {"PolicyId": 1, "AttachUin": uin})  # AdministratorAccess (preset)
    assert zones(me) == "ok"
    cu.call(root, "UpdateAccessKey", {"AccessKeyId": sid, "Status": "Inactive", "TargetUin": uin})
    assert zones(me) == "AuthFailure.SecretIdNotFound"
    cu.call(root, "UpdateAccessKey", {"AccessKeyId": sid, "Status": "Active", "TargetUin": uin})
    assert zones(me) == "ok"
    assert _code(cu.call, root, "DeleteUser", {"Name": "member"}) == "OperationDenied.HaveKeys"
    cu.call(root, "DeleteUser", {"Name": "member", "Force": 1})
    assert zones(me) == "AuthFailure.SecretIdNotFound"


@pytest.mark.parametrize("document, code", [
    ("{not json", "InvalidParameter.PolicyDocumentError"),
    (cu.policy({"effect": "permit", "action": "*", "resource": "*"}), "InvalidParameter.EffectError"),
    (cu.policy(cu.allow("cvm:RunInstances", "qcs:cvm:instance/ins-1")), "InvalidParameter.ResourceQcsError"),
    (cu.policy(cu.allow("cvm:RunInstances", "qcs::cvm::account1:instance/*")), "InvalidParameter.ResourceUinError"),
    (cu.policy(cu.allow("nosuch:Run", "*")), "InvalidParameter.ActionServiceNotExist"),
    (cu.policy(cu.allow("RunInstances", "*")), "InvalidParameter.ActionError"),
    (json.dumps({"version": "1.0", "statement": [cu.allow("*")]}), "InvalidParameter.VersionError"),
    (cu.policy(cu.allow("*", condition={"ip_equal": {"qcs:ip": "300.1.1.1"}})), "InvalidParameter.ConditionContentError"),
    (cu.policy(cu.allow("*", condition={"ip_between": {"qcs:ip": "1.1.1.1"}})), "InvalidParameter.ConditionTypeError"),
    ('{"version":"2.0","statement":' + "[" * 2000 + "]" * 2000 + "}", "InvalidParameter.PolicyDocumentError"),
    (cu.policy(*[cu.allow("cvm:DescribeZones")] * 200), "InvalidParameter.PolicyDocumentLengthOverLimit"),
])
def test_malformed_policy_documents_are_refused(server, document, code):
    root = sdk.cam(server)
    with pytest.raises(TencentCloudSDKException) as err:
        cu.call(root, "CreatePolicy", {"PolicyName": "bad", "PolicyDocument": document})
    assert err.value.code == code and err.value.message
    assert not cu.call(root, "ListPolicies", {"Scope": "Local", "Keyword": "bad"}).List


def test_ten_megabyte_document_is_refused(server):
    root = sdk.cam(server)
    with pytest.raises(TencentCloudSDKException) as err:
        cu.call(root, "CreatePolicy", {"PolicyName": "huge", "PolicyDocument": "x" * (10 * 1024 * 1024)})
    assert err.value.code in ("RequestSizeLimitExceeded", "InvalidParameter.PolicyDocumentLengthOverLimit")


def test_users_keys_policies_api(make_server):
    srv = make_server()
    root = sdk.cam(srv)
    made = cu.call(root, "AddUser", {"Name": "alice", "UseApi": 1, "ConsoleLogin": 1, "Password": "Str0ng!pass"})
    assert made.SecretId.startswith("AKID") and made.Uin > 0 and made.Password == "Str0ng!pass"
    assert _code(cu.call, root, "AddUser", {"Name": "alice"}) == "InvalidParameter.SubUserNameInUse"
    assert _code(cu.call, root, "AddUser", {"Name": "bob", "ConsoleLogin": 1, "Password": "weakpass"}) == \
        "InvalidParameter.PasswordViolatedRules"
    got = cu.call(root, "GetUser", {"Name": "alice"})
    assert (got.Uin, got.ConsoleLogin) == (made.Uin, 1)
    cu.call(root, "UpdateUser", {"Name": "alice", "Remark": "dev"})
    assert [(u.Name, u.Remark) for u in cu.call(root, "ListUsers", {}).Data] == [("alice", "dev")]
    second = cu.call(root, "CreateAccessKey", {"TargetUin": made.Uin}).AccessKey
    assert second.SecretAccessKey and second.Status == "Active"
    assert _code(cu.call, root, "CreateAccessKey", {"TargetUin": made.Uin}) == "OperationDenied.AccessKeyOverLimit"
    keys = cu.call(root, "ListAccessKeys", {"TargetUin": made.Uin}).AccessKeys
    assert {k.AccessKeyId for k in keys} == {made.SecretId, second.AccessKeyId}
    cu.call(root, "DeleteAccessKey", {"AccessKeyId": second.AccessKeyId, "TargetUin": made.Uin})
    # the sub-user's own Uin and its owner's
    me = sdk.cam(srv, secret_id=made.SecretId, secret_key=made.SecretKey)
    assert _code(cu.call, me, "ListUsers", {}) == "AuthFailure.UnauthorizedOperation"
    cu.call(root, "AttachUserPolicy", {"PolicyId": 8, "AttachUin": made.Uin})  # QcloudCamReadOnlyAccess
    ids = cu.call(me, "GetUserAppId", {})
    assert (ids.Uin, ids.OwnerUin) == (str(made.Uin), cu.owner_uin(srv))
    assert _code(cu.call, me, "AddUser", {"Name": "sneaky"}) == "AuthFailure.UnauthorizedOperation"
    # preset policies: ReadOnlyAccess lets it describe but not change
    presets = cu.call(root, "ListPolicies", {"Scope": "QCS", "Rp": 200}).List
    by_name = {p.PolicyName: p for p in presets}
    assert {"AdministratorAccess", "ReadOnlyAccess", "QcloudCVMFullAccess", "QcloudCVMReadOnlyAccess"} <= set(by_name)
    assert {p.Type for p in presets} == {2}
    cu.call(root, "AttachUserPolicy", {"PolicyId": by_name["ReadOnlyAccess"].PolicyId, "AttachUin": made.Uin})
    cvm = sdk.cvm(srv, secret_id=made.SecretId, secret_key=made.SecretKey)
    assert cvm_call(cvm, "DescribeInstances", {}).TotalCount == 0
    assert _code(cvm_call, cvm, "CreateKeyPair", {"KeyName": "k", "ProjectId": 0}) == "UnauthorizedOperation"
    entities = cu.call(root, "ListEntitiesForPolicy", {"PolicyId": by_name["ReadOnlyAccess"].PolicyId}).List
    assert [(e.Name, e.RelatedType) for e in entities] == [("alice", 1)]
    # versions of a custom policy
    pid = cu.call(root, "CreatePolicy", {"PolicyName": "zones", "PolicyDocument": ZONES, "Description": "z"}).PolicyId
    assert cu.call(root, "GetPolicy", {"PolicyId": pid}).Type == 1
    cu.call(root, "CreatePolicyVersion", {"PolicyId": pid, "PolicyDocument": ZONES, "SetAsDefault": False})
    versions = cu.call(root, "ListPolicyVersions", {"PolicyId": pid}).Versions
    assert [(v.VersionId, v.IsDefaultVersion) for v in versions] == [(1, 1), (2, 0)]
    assert _code(cu.call, root, "DeletePolicyVersion", {"PolicyId": pid, "VersionId": [1]}) == \
        "FailedOperation.PolicyVersionAlreadyDefault"
    cu.call(root, "DeletePolicyVersion", {"PolicyId": pid, "VersionId": [2]})
    # a preset policy: UpdatePolicy documents no FailedOperation.Unmodifiable, so its family (common)
    assert _code(cu.call, root, "UpdatePolicy", {"PolicyId": 1, "Description": "x"}) == "FailedOperation"
    assert _code(cu.call, root, "GetPolicy", {"PolicyId": 999999999}) == "ResourceNotFound.PolicyIdNotFound"
    assert _code(cu.call, root, "GetUser", {"Name": "nobody"}) == "ResourceNotFound.UserNotExist"


def test_operator_cli_manages_users_groups_and_policies(make_server):
    srv = make_server()
    made = json.loads(srv.cli("accounts", "users", "create", "carol", "--api-key").stdout)
    me = sdk.cvm(srv, secret_id=made["SecretId"], secret_key=made["SecretKey"])
    assert zones(me) == "UnauthorizedOperation"
    pid = srv.cli("accounts", "policies", "create", "zones", "--document", ZONES).stdout.strip()
    gid = srv.cli("accounts", "groups", "create", "devs").stdout.strip()
    srv.cli("accounts", "groups", "attach", gid, "zones")
    srv.cli("accounts", "groups", "add-user", gid, "carol")
    assert zones(me) == "ok"
    srv.cli("accounts", "groups", "add-user", gid, "carol", "--remove")
    srv.cli("accounts", "users", "attach", "carol", "QcloudCVMReadOnlyAccess")
    assert zones(me) == "ok"
    listed = json.loads(srv.cli("accounts", "users", "list", "--json").stdout)
    assert [u["Name"] for u in listed] == ["carol"]
    assert any(p["PolicyId"] == int(pid) for p in json.loads(srv.cli("accounts", "policies", "list", "--json").stdout))
    bad = srv.cli("accounts", "policies", "create", "bad", "--document", "{", check=False)
    assert bad.returncode == 2 and "InvalidParameter.PolicyDocumentError" in bad.stderr
    srv.cli("accounts", "users", "delete", "carol", "--force")
    assert zones(me) == "AuthFailure.SecretIdNotFound"


def test_tccli_with_a_sub_users_keys_is_checked_the_same(make_server, tmp_path):
    from tests.api.test_devx import clean_env, localcvm

    srv = make_server()
    _, sid, skey = cu.sub_user(srv, "cli", ZONES)
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, TENCENTCLOUD_SECRET_ID=sid, TENCENTCLOUD_SECRET_KEY=skey)
    ok = localcvm("tccli", "--data-dir", str(srv.data_dir), "cvm", "DescribeZones", env=env)
    assert ok.returncode == 0 and json.loads(ok.stdout)["TotalCount"] > 0, ok.stdout + ok.stderr
    refused = localcvm("tccli", "--data-dir", str(srv.data_dir), "cvm", "DescribeRegions", env=env)
    assert refused.returncode != 0 and "UnauthorizedOperation" in refused.stdout + refused.stderr


def test_a_sub_user_of_the_root_account_cannot_reset_the_server(make_server):
    from localcvm.client import Endpoint, reset

    srv = make_server()
    _, sid, skey = cu.sub_user(srv, "admin", cu.policy(cu.allow("*")))
    refused = reset(Endpoint(srv.scheme, "127.0.0.1", srv.port), sid, skey)
    assert refused["Error"]["Code"] == "AuthFailure.UnauthorizedOperation"
    assert [u.Name for u in cu.call(sdk.cam(srv), "ListUsers", {}).Data] == ["admin"]
