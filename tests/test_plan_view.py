"""The readable plan view: a summary first (per region, primary first, every sizing input, the
scheduled actions' "unchanged" sizes, the seasonal window of the plan's date), `--summary` alone,
the terminal's width, and a progress spinner on stderr only when stderr is a terminal.

Every test plans settings other tests already plan (prod as of 2025-11-01, and Black Friday 2025
as `test_api_tier` does), through the CLI in this process.
"""

from __future__ import annotations

import io
import re

import pytest

from tests.support import PLAN_DATE, run_cli


def _plan(capsys, monkeypatch, *args: str, columns: int = 120, date: str = PLAN_DATE.isoformat()) -> str:
    monkeypatch.setenv("COLUMNS", str(columns))
    result = run_cli(capsys, "plan", "--stack", "prod", "--date", date, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _rows(text: str) -> dict[str, str]:
    """First cell -> second cell of the summary tables' rows (continuation lines joined)."""
    rows, last = {}, None
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.split("│")[1:-1]]
        if len(cells) != 2:
            last = None
            continue
        if cells[0]:
            last = cells[0]
            rows.setdefault(last, [])
            rows[last].append(cells[1])
        elif last is not None:
            rows[last][-1] += " " + cells[1]
    return {key: values for key, values in rows.items()}


def _region(text: str, region: str) -> str:
    start = text.index(f"{region} (")
    end = text.index("└", start)
    return text[start:end]


def test_summary_of_prod_phase_3_gives_every_tiers_size_primary_first(capsys, monkeypatch):
    out = _plan(capsys, monkeypatch, "--phase", "3", "--summary")
    assert out.index("us-east-1 (primary)") < out.index("us-west-2 (secondary)") < out.index("eu-west-1 (secondary)")
    primary = _rows(_region(out, "us-east-1"))
    assert primary["API servers"] == ["c5.xlarge, min / desired / max 10 / 10 / 20"]
    assert primary["database"] == ["db.r5.xlarge, Multi-AZ, 2 read replica(s)"]
    assert primary["cache"] == ["cache.r5.large, 3 node(s)"]
    # scale.yaml's search block: 3 x r6g.large.search data nodes, 3 m6g.large.search masters, 100 GB.
    assert primary["search"] == ["OpenSearch r6g.large.search x 3, dedicated masters m6g.large.search x 3, "
                                 "100 GiB per node"]
    assert primary["workers"] == ["m5.large, m5a.large, m6i.large, m6a.large, min / desired / max 2 / 2 / 10, "
                                  "80% spot above an on-demand base of 1"]
    # Primary database + 2 replicas, 3 cache groups' worth: KMS keys, buckets, queues, secrets...
    assert re.fullmatch(r"\d+ resource\(s\), \d+ of them holding data", primary["protected"][0])
    for region in ("us-west-2", "eu-west-1"):
        secondary = _rows(_region(out, region))
        assert secondary["API servers"] == ["c5.xlarge, min / desired / max 5 / 5 / 10"]
        assert secondary["database"] == ["2 read replica(s) of the primary region's database, db.r5.xlarge"]
        assert secondary["cache"] == ["cache.r5.large, 2 node(s)"]
        assert "search" not in secondary and "workers" not in secondary
    # 39 data stores and keys, plus the backup copy, a KMS key per region for the clusters' secrets and
    # one for each region's alert topics and logs, the stack's own alert key, and the edge's origin
    # secret, its key, the CloudFront log bucket's key and the static bucket's access-log bucket.
    assert primary["kubernetes"] == ["EKS 1.34, system nodes m5.large 2 / 2 / 4 (min / desired / max), Karpenter for "
                                     "the services; 5 Deployment(s): api-deployment 4, auth-service 3, "
                                     "notification-service 2, order-service 5, user-service 3"]
    assert "55 protected resource(s) in the plan" in out


def test_scheduled_actions_say_unchanged_instead_of_minus_one(capsys, monkeypatch):
    out = _plan(capsys, monkeypatch, "--phase", "3", "--summary", columns=160)
    assert not re.search(r"(?<![\w-])-1\b", out)  # no size of -1 (region names end in -1)
    assert re.search(r"│ business-hours\s+│ 07:00 Mon-Fri\s+│ 20 / unchanged / unchanged\s+│", out)
    assert re.search(r"│ off-hours\s+│ 20:00 every day\s+│ 10 / unchanged / unchanged\s+│", out)
    # Black Friday x5 of the desired 10, ceiling surge_max 50; its end restores off-hours 10 and max 20.
    assert re.search(r"│ black-friday-2025 \(x5\)\s+│ 2025-11-28 all day \(4 actions\)\s+│ 50 / unchanged / 50\s+│ "
                     r"10 / unchanged / 20\s+│", out)
    assert "recurring times in America/New_York" in out


def test_summary_alone_and_then_the_detail(capsys, monkeypatch):
    # Phase 2: the smallest plan with a schedule, so the whole detail view stays cheap to render.
    summary = _plan(capsys, monkeypatch, "--phase", "2", "--summary")
    assert "ApiTier" not in summary and "resources (" not in summary
    full = _plan(capsys, monkeypatch, "--phase", "2")
    assert full.startswith(summary)
    assert "ApiTier us-east-1-api" in full and re.search(r"^\d+ resources \(", full, re.MULTILINE)
    # The detail explains the special value too.
    assert "desiredCapacity=-1" not in full and "desiredCapacity=unchanged" in full


def test_summary_and_json_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(capsys, "plan", "--stack", "prod", "--summary", "--json")
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize("columns", [80, 200])
def test_the_view_fits_the_terminal_width(capsys, monkeypatch, columns):
    out = _plan(capsys, monkeypatch, "--phase", "3", columns=columns)
    widths = [len(line) for line in out.splitlines()]
    assert max(widths) <= columns
    if columns == 200:
        assert max(widths) > 160  # no longer held at the old fixed width


def test_header_names_the_seasonal_window_of_the_plans_date(capsys, monkeypatch):
    quiet = _plan(capsys, monkeypatch, "--summary")
    assert "seasonal window" not in quiet and "date 2025-11-01" in quiet
    out = _plan(capsys, monkeypatch, "--summary", columns=200, date="2025-11-28")
    assert ("seasonal window black-friday-2025 (x5) is active on 2025-11-28: the primary API group is declared "
            "at min 20 / desired 20 / max 20 for the day") in out
    assert _rows(_region(out, "us-east-1"))["API servers"] == ["t3.large, min / desired / max 20 / 20 / 20"]


def test_no_spinner_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    result = run_cli(capsys, "plan", "--stack", "prod", "--date", PLAN_DATE.isoformat(), "--summary")
    assert result.returncode == 0 and result.stderr == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_spinner_names_the_work_when_stderr_is_a_terminal(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    terminal = _Terminal()
    with capsys.disabled():
        monkeypatch.setattr("sys.stderr", terminal)
        monkeypatch.setattr("sys.stdout", io.StringIO())
        from qnom.cli import main

        assert main(["plan", "--stack", "prod", "--date", PLAN_DATE.isoformat(), "--summary"]) == 0
    shown = terminal.getvalue()
    # Rich draws the spinner's last step at least (the run itself is served from the run cache).
    assert "\x1b[" in shown and "qnom plan: rendering" in shown
