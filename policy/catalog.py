"""The rule table of the README, rendered from the rules themselves so the two cannot drift."""

from __future__ import annotations

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


if __name__ == "__main__":
    print(rules_table(), end="")
