"""Surge mode (`qnom:surge`, the seed's Emergency Scaling Playbook): what it raises, that switching it on
and off replaces and deletes nothing, and `qnom surge on|off`.

One full-platform variant: prod phase 2 with surge on, the smallest plan with a schedule, a WAF and a
replicated cache, which is what surge changes (the secondary regions' sizes are the settings' test
below); every other plan here is one the suite builds.
"""

from __future__ import annotations

import json
import shutil

import pytest

from phases.catalog import load_phase
from qnom.diff import diff_runs, refusals
from qnom.engine import PROJECT_DIR
from tests.support import build, run_cli, settings_for

ASG = "aws:autoscaling/group:Group"
CACHE_PARAMETERS = "aws:elasticache/parameterGroup:ParameterGroup"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"


@pytest.fixture(scope="module")
def surging():
    return build("prod", 2).run, build("prod", 2, surge=True).run


def _rate_limit(acl) -> int:
    return next(rule["statement"]["rateBasedStatement"]["limit"] for rule in acl.inputs["rules"]
                if "rateBasedStatement" in rule["statement"])


def test_surge_on_and_off_replace_and_delete_nothing(surging):
    everyday, surge = surging
    for before, after in ((everyday, surge), (surge, everyday)):
        diff = diff_runs(before, after)
        assert (diff.added, diff.replaced, diff.deleted) == ([], [], [])
        assert refusals(before, after) == []
    changed = {change.name for change in diff_runs(everyday, surge).changed}
    assert changed == {"us-east-1-api-asg", "us-east-1-cache-params", "us-east-1-api-waf", "edge-waf"}


def test_surge_holds_the_api_group_at_the_surge_size(surging):
    primary = next(r for r in surging[1].resources if r.name == "us-east-1-api-asg").inputs
    # Phase 2's explicit surge max (the seed's Auto-Scaling Rules MaxSize 20).
    assert (primary["minSize"], primary["desiredCapacity"], primary["maxSize"]) == (20, 20, 20)
    assert primary["suspendedProcesses"] == ["ScheduledActions"]
    # Everyday: the phase's 4-6 and nothing suspended.
    everyday = next(r for r in surging[0].resources if r.name == "us-east-1-api-asg").inputs
    assert (everyday["minSize"], everyday["maxSize"]) == (4, 6) and "suspendedProcesses" not in everyday


def test_surge_raises_the_cache_eviction_and_the_waf_limit(surging):
    # A web ACL's association and logging configuration carry its name too.
    aux = ("aws:wafv2/webAclAssociation:WebAclAssociation", "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    everyday, surge = ({r.name: r for r in run.resources if r.type not in aux} for run in surging)
    for region in ("us-east-1",):
        assert everyday[f"{region}-cache-params"].inputs["parameters"] == [
            {"name": "maxmemory-policy", "value": "volatile-lru"}]
        assert surge[f"{region}-cache-params"].inputs["parameters"] == [
            {"name": "maxmemory-policy", "value": "allkeys-lru"}]
        assert (_rate_limit(everyday[f"{region}-api-waf"]), _rate_limit(surge[f"{region}-api-waf"])) == (2000, 500)
    assert _rate_limit(surge["edge-waf"]) == 500


@pytest.mark.parametrize(("phase", "connections", "limit", "sizes"), [
    # Seed playbook: max_connections = 500 (a floor: phases 3 and 4 already allow 1000); the strict
    # limit replaces the everyday 2000, and phase 1 gets its first web ACL.
    (1, 500, 500, [2]), (2, 500, 500, [20]), (3, 1000, 500, [50, 10, 10]), (4, 1000, 500, [130, 25, 25]),
])
def test_surged_phases(phase, connections, limit, sizes):
    catalog = load_phase(phase)
    surged = settings_for("prod", phase, surge=True)
    assert surged.phase.database.max_connections == connections
    assert surged.phase.api.rate_limit_per_5min == limit
    assert surged.phase.cache.maxmemory_policy == "allkeys-lru"
    assert [surged.api_surge_size(region) for region in surged.phase.regions] == sizes
    assert surged.phase.surge.kubernetes_min_replicas == 20
    # Only those values move: the regions, classes and node types are the phase's.
    assert surged.phase.regions == catalog.regions
    assert surged.phase.database.instance_class == catalog.database.instance_class
    assert settings_for("prod", phase).api_surge_size(catalog.primary_region) is None


def test_surge_must_be_a_boolean():
    from phases.settings import SettingsError

    with pytest.raises(SettingsError, match="qnom:surge: got 'maybe'; allowed values: true, false"):
        settings_for("prod", 2, surge="maybe")


def test_surge_on_and_off_edit_the_stack_file(capsys, tmp_path):
    stack_file = tmp_path / "Pulumi.prod.yaml"
    shutil.copy(PROJECT_DIR / "Pulumi.prod.yaml", stack_file)
    original = stack_file.read_text()
    common = ("--stack", "prod", "--stack-file", str(stack_file), "--date", "2025-11-01")
    on = run_cli(capsys, "surge", "on", *common)
    assert on.returncode == 0, on.stderr
    assert stack_file.read_text() == original + '  qnom:surge: "true"\n'
    assert ('aws cloudfront create-invalidation --distribution-id "$(pulumi stack output cdnDistributionId '
            '--stack prod)" --paths "/*"') in on.stdout
    assert "us-east-1: API group held at 20 instances" in on.stdout
    off = run_cli(capsys, "surge", "off", *common, "--json")
    document = json.loads(off.stdout)
    assert (off.returncode, document["written"], document["replaced"], document["deleted"]) == (0, True, [], [])
    assert stack_file.read_text() == original + '  qnom:surge: "false"\n'
    again = run_cli(capsys, "surge", "off", *common)
    assert "already off" in again.stdout and stack_file.read_text() == original + '  qnom:surge: "false"\n'


def test_surge_holds_at_least_20_api_gateway_pods_from_phase_3():
    # Seed playbook: kubectl scale deployment api-deployment --replicas=20, as the HPA's minimum.
    assert settings_for("prod", 3, surge=True).phase.kubernetes.hpa.min_replicas == 20
    assert settings_for("prod", 3).phase.kubernetes.hpa.min_replicas == 3
    assert settings_for("prod", 2, surge=True).phase.kubernetes is None
