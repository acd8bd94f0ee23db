"""The offline engine: isolated runs, URNs as the real engine forms them, options recorded, and
requests that AWS would refuse failing the run."""

from __future__ import annotations

import textwrap

import pytest

from qnom import engine
from qnom.awsrules import AwsRuleViolation
from qnom.engine import run_program

PROGRAM = """
    import pulumi
    import pulumi_aws as aws

    class Box(pulumi.ComponentResource):
        def __init__(self, name, opts=None):
            super().__init__("test:index:Box", name, None, opts)
            first = aws.sqs.Queue(f"{name}-first", opts=pulumi.ResourceOptions(parent=self))
            aws.sqs.Queue(f"{name}-second", aws.sqs.QueueArgs(delay_seconds=5), pulumi.ResourceOptions(
                parent=self, depends_on=[first], ignore_changes=["tags"], retain_on_delete=True,
                delete_before_replace=True, aliases=[pulumi.Alias(name="old-second")],
                replace_on_changes=["delaySeconds"]))

    Box("box", pulumi.ResourceOptions(protect=True))
"""


# One cache node with automatic failover: AWS refuses CreateReplicationGroup.
REFUSED_PROGRAM = """
    import pulumi_aws as aws

    aws.elasticache.ReplicationGroup("cache", description="one node", automatic_failover_enabled=True,
                                     num_cache_clusters=1)
    aws.elasticache.ReplicationGroup("pair", description="two nodes", automatic_failover_enabled=True,
                                     num_cache_clusters=2)
"""


def _run(tmp_path, stack="dev", source=PROGRAM, **options):
    program = tmp_path / "__main__.py"
    program.write_text(textwrap.dedent(source))
    return run_program(stack, {}, program=program, **options)


def test_options_are_recorded_with_inherited_protect(tmp_path):
    run = _run(tmp_path)
    second = next(r for r in run.resources if r.name == "box-second")
    first = next(r for r in run.resources if r.name == "box-first")
    assert second.urn == "urn:pulumi:dev::qnom::test:index:Box$aws:sqs/queue:Queue::box-second"
    assert second.options["protect"] is True  # inherited from the parent component
    assert second.options["retainOnDelete"] is True
    assert second.options["deleteBeforeReplace"] is True
    assert second.options["ignoreChanges"] == ["tags"]
    assert second.options["replaceOnChanges"] == ["delaySeconds"]
    assert second.options["dependsOn"] == [first.urn]
    assert second.options["aliases"] and "old-second" in str(second.options["aliases"])
    assert second.inputs["delaySeconds"] == 5
    assert first.options["dependsOn"] == [] and first.options["aliases"] == []
    assert first.options["replaceOnChanges"] == []


def test_runs_do_not_share_state(tmp_path, monkeypatch):
    # The test suite's run cache would answer the third run from the first: run each afresh.
    monkeypatch.setattr(engine, "_run_cache", None)
    program = tmp_path / "__main__.py"
    program.write_text(textwrap.dedent(PROGRAM))
    other = tmp_path / "other" / "__main__.py"
    other.parent.mkdir()
    other.write_text("import pulumi_aws as aws\naws.sqs.Queue('lonely')\n")
    first = run_program("prod", {}, program=program)
    second = run_program("dev", {}, program=other)
    again = run_program("prod", {}, program=program)
    assert len(second.resources) < len(first.resources) == len(again.resources)
    assert [r.urn for r in first.resources] == [r.urn for r in again.resources]
    assert [r.urn for r in second.resources] == ["urn:pulumi:dev::qnom::aws:sqs/queue:Queue::lonely"]


def test_a_request_aws_refuses_fails_the_run(tmp_path):
    with pytest.raises(AwsRuleViolation) as refused:
        _run(tmp_path, source=REFUSED_PROGRAM)
    assert [(v.urn, v.rule) for v in refused.value.violations] == [
        ("urn:pulumi:dev::qnom::aws:elasticache/replicationGroup:ReplicationGroup::cache",
         "elasticache-failover-two-nodes")]
    assert "When using automatic failover, there must be at least 2 cache clusters" in str(refused.value)


def test_violations_are_listed_when_rules_are_not_enforced(tmp_path):
    run = _run(tmp_path, source=REFUSED_PROGRAM, aws_rules=False)
    assert [r.name for r in run.resources] == ["cache", "pair"]
    assert [v.urn.rsplit("::", 1)[1] for v in run.violations] == ["cache"]
