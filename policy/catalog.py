"""The README's rule and rule-settings tables, and the sample pack config, rendered from the rules
themselves so none of them can drift: `python -m policy.catalog` prints the rule table,
`--settings` the settings table, `--example-config` the JSON of `policy/policy-config.example.json`."""

from __future__ import annotations

import json
import sys

from policy.rules import RULES


def _cell(values: tuple[str, ...]) -> str:
    return ", ".join(values) or "-"


def rules_table() -> str:
    """Markdown table: id, kind, severity, what it checks, Checkov, AWS FSBP, Well-Architected."""
    lines = [
        "| rule | kind | severity | checks | Checkov | AWS FSBP | Well-Architected |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in RULES:
        refs = rule.references
        lines.append(f"| `{rule.id}` | {rule.kind} | {rule.severity.value} | {rule.description} | "
                     f"{_cell(refs.checkov)} | {_cell(refs.aws)} | {_cell(refs.well_architected)} |")
    return "\n".join(lines) + "\n"


def settings_table() -> str:
    """Markdown table of every rule setting: rule, setting, allowed values (its JSON Schema), default, meaning."""
    lines = ["| rule | setting | schema | default | meaning |", "|---|---|---|---|---|"]
    for rule in RULES:
        for setting in rule.settings:
            lines.append(f"| `{rule.id}` | `{setting.name}` | `{json.dumps(dict(setting.schema), sort_keys=True)}` | "
                         f"`{json.dumps(setting.default)}` | {setting.description} |")
    return "\n".join(lines) + "\n"


def example_config() -> str:
    """A pack config (`--policy-pack-config`, `qnom policy --policy-config`) that states every rule
    setting at its default; a rule's level goes beside its settings (`"enforcementLevel": "advisory"`)."""
    document = {rule.id: {setting.name: setting.default for setting in rule.settings} for rule in RULES if rule.settings}
    return json.dumps(document, indent=2) + "\n"


if __name__ == "__main__":
    if "--settings" in sys.argv[1:]:
        print(settings_table(), end="")
    elif "--example-config" in sys.argv[1:]:
        print(example_config(), end="")
    else:
        print(rules_table(), end="")
