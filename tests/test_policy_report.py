"""The policy report for humans: violations first, then what the preview could not decide, then the
rules (unless --failed-only), then the counts; a mandatory rule left unknown in the preview fails the
report unless --allow-unknown. The sample pack config states every rule setting at its default."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

from pulumi_policy import EnforcementLevel
from rich.console import Console

from policy.catalog import example_config, settings_table
from policy.rules import BY_ID, RULES
from qnom.policy import UNKNOWN_PREFIX, Finding, Outcome, PolicyReport, parse_pack_config
from qnom.render import render_policy
from tests.support import run_cli

ROOT = Path(__file__).resolve().parent.parent
MANDATORY, ADVISORY = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY


def _report(*, unknown_level: EnforcementLevel, allow_unknown: bool = False) -> PolicyReport:
    """A prod report with one advisory violation, one passing rule and one rule the preview could not decide."""
    wildcard, tags, encrypted = BY_ID["iam-no-admin-wildcard"], BY_ID["required-tags"], BY_ID["rds-storage-encrypted"]
    report = PolicyReport(stack="prod", environment="prod", phase={"number": 2, "name": "growth"},
                          enforcement=MANDATORY, context=SimpleNamespace(source="offline plan"),
                          allow_unknown=allow_unknown)
    report.outcomes = [Outcome(rule=wildcard, enforcement=unknown_level, checked=1, unknown=1),
                       Outcome(rule=tags, enforcement=ADVISORY, checked=1, violations=1),
                       Outcome(rule=encrypted, enforcement=MANDATORY, checked=1)]
    report.findings = [Finding(rule=tags.id, enforcement="advisory", severity="low", message="no phase tag",
                               urn="urn:x", name="us-east-1-queue-main", type="aws:sqs/queue:Queue")]
    report.diagnostics = [Finding(rule=wildcard.id, enforcement="advisory", severity="critical",
                                  message=f"{UNKNOWN_PREFIX}string value at .policy can't be known during preview",
                                  name="us-east-1-api-instance-objects")]
    return report


def _text(report: PolicyReport, failed_only: bool = False) -> str:
    out = io.StringIO()
    render_policy(report, Console(file=out, width=200, color_system=None), failed_only=failed_only)
    return out.getvalue()


def test_a_mandatory_rule_unknown_in_preview_fails_unless_allowed():
    assert _report(unknown_level=MANDATORY).passed is False
    assert _report(unknown_level=MANDATORY, allow_unknown=True).passed is True
    assert _report(unknown_level=ADVISORY).passed is True
    summary = _report(unknown_level=MANDATORY).document()["summary"]
    assert (summary["mandatoryUnknown"], summary["allowUnknown"], summary["passed"]) == (1, False, False)


def test_violations_come_first_then_unknowns_then_rules_then_counts():
    text = _text(_report(unknown_level=MANDATORY))
    violation = text.index("advisory required-tags  us-east-1-queue-main (aws:sqs/queue:Queue): no phase tag")
    unknown = text.index("unknown in preview (mandatory) iam-no-admin-wildcard  us-east-1-api-instance-objects: "
                         "string value at .policy can't be known during preview")
    table = re.search(r"^3 rules *$", text, re.MULTILINE).start()
    counts = text.index("3 rules (3 resource, 0 stack): 1 failed, 1 unknown in preview, 1 passed")
    assert violation < unknown < table < counts
    assert "failed: 0 mandatory and 1 advisory violation(s); 1 mandatory rule(s) could not run in the preview: " \
           "nothing shows they pass (rerun with --allow-unknown to accept)" in text
    assert "(allowed by --allow-unknown)" in _text(_report(unknown_level=MANDATORY, allow_unknown=True))


def test_failed_only_leaves_out_the_rules_table():
    text = _text(_report(unknown_level=ADVISORY), failed_only=True)
    assert not re.search(r"^3 rules *$", text, re.MULTILINE) and "rds-storage-encrypted" not in text
    assert "no phase tag" in text and "3 rules (3 resource, 0 stack): 1 failed, 1 unknown in preview, 1 passed" in text


def test_dev_passes_its_own_policy_out_of_the_box(capsys):
    result = run_cli(capsys, "policy", "--stack", "dev", "--date", "2025-11-01", "--failed-only")
    assert result.returncode == 0, result.stdout
    assert "passed: 0 mandatory" in result.stdout
    assert "┃ rule" not in result.stdout  # no rules table with --failed-only


def test_the_sample_config_states_every_setting_at_its_default():
    sample = (ROOT / "policy" / "policy-config.example.json").read_text(encoding="utf-8")
    assert sample == example_config()
    config = parse_pack_config(json.loads(sample))
    with_settings = [rule for rule in RULES if rule.settings]
    assert set(config.settings) == {rule.id for rule in with_settings}
    assert config.settings["capacity-within-phase-ceilings"] == {"headroomPercent": 0}
    assert config.settings["asg-min-two-in-prod"] == {"minimum": 2}


def test_readme_documents_every_rule_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert settings_table() in readme
    assert "| `capacity-within-phase-ceilings` | `headroomPercent` |" in settings_table()
