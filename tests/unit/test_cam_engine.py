"""The CAM policy grammar and engine, and the console password check (in process)."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from localcvm.services import errors
from localcvm.services.iam import documents
from localcvm.services.iam.engine import Env, could_allow, evaluate
from tests.unit.services_util import new_identity

OWNER = "100000000001"
IMAGE = f"qcs::cvm:ap-guangzhou:uin/{OWNER}:image/img-aaaaaaaa"


def doc(*statements) -> documents.Document:
    return documents.parse(json.dumps({"version": "2.0", "statement": list(statements)}))


def env(ip="127.0.0.1", now=datetime(2026, 6, 1), **params) -> Env:
    return Env(ip, lambda: now, "ap-guangzhou", params)


def test_deny_wins_and_no_match_denies():
    allow_all = doc({"effect": "allow", "action": "*", "resource": "*"})
    deny_image = doc({"effect": "deny", "action": ["cvm:Run*"], "resource": f"qcs::cvm::uin/{OWNER}:image/img-aaaaaaaa"})
    assert evaluate([(1, allow_all)], "cvm:RunInstances", IMAGE, env()).allowed
    decision = evaluate([(1, allow_all), (2, deny_image)], "cvm:RunInstances", IMAGE, env())
    assert not decision.allowed and decision.decided_by == "policy 2 statement 0 (deny)"
    other = IMAGE.replace("img-aaaaaaaa", "img-bbbbbbbb")
    assert evaluate([(1, allow_all), (2, deny_image)], "cvm:RunInstances", other, env()).allowed
    assert evaluate([(2, deny_image)], "cvm:RunInstances", other, env()).decided_by == "no match"
    # an instance-level allow does not allow the action-level resource
    narrow = doc({"effect": "allow", "action": "cvm:*", "resource": f"qcs::cvm::uin/{OWNER}:instance/*"})
    assert not evaluate([(3, narrow)], "cvm:DescribeZones", f"qcs::cvm:ap-guangzhou:uin/{OWNER}:*", env()).allowed
    assert could_allow([(3, narrow)], "cvm:DescribeInstances", env())
    assert not could_allow([(3, narrow)], "cbs:DescribeDisks", env())


def test_conditions():
    ip = doc({"effect": "allow", "action": "cvm:*", "resource": "*", "condition": {"ip_equal": {"qcs:ip": "10.0.0.0/8"}}})
    assert evaluate([(1, ip)], "cvm:DescribeZones", "x", env("10.1.2.3")).allowed
    assert not evaluate([(1, ip)], "cvm:DescribeZones", "x", env("127.0.0.1")).allowed
    late = doc({"effect": "allow", "action": "*", "resource": "*",
                "condition": {"date_greater_than": {"qcs:current_time": "2026-01-01T00:00:00Z"}}})
    assert evaluate([(1, late)], "cvm:A", "x", env(now=datetime(2026, 2, 1))).allowed
    assert not evaluate([(1, late)], "cvm:A", "x", env(now=datetime(2025, 2, 1))).allowed
    typed = doc({"effect": "allow", "action": "*", "resource": "*",
                 "condition": {"string_equal": {"cvm:instance_type": ["S5.SMALL1"]}}})
    assert evaluate([(1, typed)], "cvm:RunInstances", "x", env(InstanceType="S5.SMALL1")).allowed
    assert not evaluate([(1, typed)], "cvm:RunInstances", "x", env(InstanceType="S5.LARGE8")).allowed
    assert not evaluate([(1, typed)], "cvm:RunInstances", "x", env()).allowed  # key absent


@pytest.mark.parametrize("text, error", [
    ("[]", errors.InvalidParameterPolicyDocumentError),
    ('{"version": "2.0"}', errors.InvalidParameterStatementError),
    ('{"version": "2.0", "statement": [{"effect": "allow", "resource": "*"}]}', errors.InvalidParameterActionMiss),
    ('{"version": "2.0", "statement": [{"effect": "allow", "action": "*"}]}', errors.InvalidParameterResourceError),
    ('{"version": "2.0", "statement": [{"effect": "allow", "action": "*", "resource": "qcs::cvm:bad region:uin/1:x"}]}',
     errors.InvalidParameterResourceRegionError),
    ('{"version": "2.0", "statement": [{"effect": "allow", "action": "*", "resource": "qcs::cvm::uin/1:"}]}',
     errors.InvalidParameterResourceContentError),
    ('{"version": "2.0", "statement": [{"effect": "allow", "action": "*", "resource": "*", "condition": []}]}',
     errors.InvalidParameterConditionError),
])
def test_malformed_documents(text, error):
    with pytest.raises(error):
        documents.parse(text)


def test_console_password(services):
    owner = new_identity(services, "acme")
    users = services.cam.users
    with pytest.raises(errors.InvalidParameterPasswordViolatedRules):
        users.add(owner, "weak", console_login=True, password="alllowercase1!")
    users.add(owner, "dana", console_login=True, password="Good#Pass1")
    users.add(owner, "api-only", use_api=True)
    found = services.cam.check_console_password(owner.uin, "dana", "Good#Pass1")
    assert found is not None and found.uin == owner.uin and found.sub_user == "dana" and not found.is_root
    assert services.cam.check_console_password(owner.uin, "dana", "Wrong#Pass1") is None
    assert services.cam.check_console_password(owner.uin, "api-only", "") is None
    assert services.cam.check_console_password("999", "dana", "Good#Pass1") is None
    users.update(owner, "dana", {"console_login": False})
    assert services.cam.check_console_password(owner.uin, "dana", "Good#Pass1") is None


def test_resources_of_run_and_sync():
    from localcvm.api.authz import resources_for
    from localcvm.services.iam import Identity

    who = Identity(OWNER, 1, "a", "AKID", "300000000001", "dev")
    run = resources_for("cvm", "RunInstances", {"ImageId": "img-1", "LoginSettings": {"KeyIds": ["skey-1"]},
                                                "VirtualPrivateCloud": {"VpcId": "vpc-1", "SubnetId": "subnet-1"}},
                        "ap-guangzhou", who)
    assert run == [f"qcs::cvm:ap-guangzhou:uin/{OWNER}:image/img-1", f"qcs::cvm:ap-guangzhou:uin/{OWNER}:instance/*",
                   f"qcs::cvm:ap-guangzhou:uin/{OWNER}:keypair/skey-1", f"qcs::vpc:ap-guangzhou:uin/{OWNER}:subnet/subnet-1"]
    sync = resources_for("cvm", "SyncImages", {"ImageIds": ["img-1"], "DestinationRegions": ["ap-shanghai"]},
                         "ap-guangzhou", who)
    assert sync == [f"qcs::cvm:ap-guangzhou:uin/{OWNER}:image/img-1", f"qcs::cvm:ap-shanghai:uin/{OWNER}:image/*"]
    assert resources_for("cvm", "DescribeZones", {}, "ap-guangzhou", who) == [f"qcs::cvm:ap-guangzhou:uin/{OWNER}:*"]


def test_cached_policies_follow_every_change(services):
    """What a request sees (lookup → policies_for) after each CAM change, with the caches warm."""
    owner = new_identity(services, "acme")
    cam = services.cam
    made = cam.users.add(owner, "u", use_api=True)

    def actions() -> list[bool]:
        _, who = services.accounts.lookup(made.secret_id)
        policies = cam.policies_for(who)
        return [evaluate(policies, a, "*", env()).allowed for a in ("cvm:DescribeZones", "cvm:DescribeRegions")]

    allow_zones = json.dumps({"version": "2.0", "statement": [{"effect": "allow", "action": "cvm:DescribeZones",
                                                               "resource": "*"}]})
    first = cam.policies.create(owner, "p", allow_zones)
    cam.policies.attach(owner, first, "user", made.user.uin, attach=True)
    assert actions() == [True, False]
    cam.policies.delete(owner, [first])
    assert actions() == [False, False]
    # the next policy may get the deleted one's id: its own document is what counts
    other = cam.policies.create(owner, "q", allow_zones.replace("DescribeZones", "DescribeRegions"))
    cam.policies.attach(owner, other, "user", made.user.uin, attach=True)
    assert actions() == [False, True]
    group = cam.groups.create(owner, "g")
    cam.policies.attach(owner, 1, "group", str(group), attach=True)  # AdministratorAccess
    assert actions() == [False, True]
    cam.groups.add_members(owner, [{"GroupId": group, "Uin": made.user.uin}])
    assert actions() == [True, True]
    cam.groups.delete(owner, group)
    assert actions() == [False, True]
    cam.policies.update(owner, other, None, None, allow_zones)
    assert actions() == [True, False]
