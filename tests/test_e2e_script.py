"""scripts/e2e.sh, the real-account smoke test: valid bash that shellcheck accepts, its steps in
order, and a trap that destroys and removes the throwaway stack however the run ends. The script
runs here against stand-in `pulumi` and `curl` commands that log their calls; nothing reaches AWS."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from qnom.engine import PROJECT_DIR

SCRIPT = PROJECT_DIR / "scripts" / "e2e.sh"
OUTPUTS = {"cdnDomainName": "d111111abcdef8.cloudfront.net", "albDnsName": "qnom-alb-123.us-east-1.elb.amazonaws.com"}

# Stand-ins: each logs its arguments; `pulumi <FAIL_PULUMI>` and `curl` (unless CURL_OK=1) fail,
# `pulumi up` sleeps SLOW_UP seconds.
FAKE_PULUMI = """#!/usr/bin/env bash
echo "pulumi $*" >> "$CALLS"
case "$1 $2" in
  "stack output") case "$5" in cdnDomainName) echo %s ;; albDnsName) echo %s ;; esac ;;
esac
if [ "$1" = up ] && [ -n "${SLOW_UP:-}" ]; then sleep "$SLOW_UP"; fi
if [ "$1" = "${FAIL_PULUMI:-}" ]; then exit 1; fi
exit 0
""" % (OUTPUTS["cdnDomainName"], OUTPUTS["albDnsName"])
FAKE_CURL = """#!/usr/bin/env bash
echo "curl ${*: -1}" >> "$CALLS"
[ "${CURL_OK:-}" = 1 ]
"""


def _environment(tmp_path, **extra: str) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in {"pulumi": FAKE_PULUMI, "curl": FAKE_CURL}.items():
        (bin_dir / name).write_text(text, encoding="utf-8")
        (bin_dir / name).chmod(0o755)
    return {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(tmp_path / "calls"),
            "PY": sys.executable, "E2E_YES": "1", "HEALTH_ATTEMPTS": "2", "HEALTH_DELAY": "0", **extra}


def _run(tmp_path, stack: str = "e2e-test", **extra: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    result = subprocess.run(["bash", str(SCRIPT), stack], env=_environment(tmp_path, **extra),
                            capture_output=True, text=True, timeout=60)
    calls = tmp_path / "calls"
    return result, calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []


TEARDOWN = ["pulumi destroy --stack e2e-test --yes --non-interactive --skip-preview",
            "pulumi stack rm e2e-test --yes --non-interactive"]


def test_the_script_is_valid_bash_and_executable():
    assert os.access(SCRIPT, os.X_OK)
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_nothing():
    result = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_a_healthy_run_prints_the_cost_deploys_checks_both_paths_then_destroys(tmp_path):
    result, calls = _run(tmp_path, CURL_OK="1")
    assert result.returncode == 0, result.stderr
    # Phase 1's catalog budget, and per hour over AWS's 730-hour month.
    assert "~$200/month, about $0.27 per hour" in result.stdout
    assert calls == [
        "pulumi stack init e2e-test --non-interactive",
        "pulumi config set --stack e2e-test aws:region us-east-1",
        "pulumi config set --stack e2e-test qnom:phase 1",
        "pulumi config set --stack e2e-test qnom:environment dev",
        "pulumi preview --stack e2e-test --policy-pack policy --non-interactive --diff",
        "pulumi up --stack e2e-test --policy-pack policy --yes --non-interactive --skip-preview",
        "pulumi stack output --stack e2e-test cdnDomainName",
        "pulumi stack output --stack e2e-test albDnsName",
        "curl https://d111111abcdef8.cloudfront.net/health",
        "curl http://qnom-alb-123.us-east-1.elb.amazonaws.com/health",
        *TEARDOWN,
    ]


def test_an_unhealthy_api_fails_after_bounded_retries_and_still_destroys(tmp_path):
    result, calls = _run(tmp_path)
    assert result.returncode == 1
    assert calls.count("curl https://d111111abcdef8.cloudfront.net/health") == 2
    assert "did not answer" in result.stderr
    assert calls[-2:] == TEARDOWN


@pytest.mark.parametrize("failing", ["preview", "up"])
def test_a_failed_deployment_destroys_the_stack(tmp_path, failing):
    result, calls = _run(tmp_path, FAIL_PULUMI=failing)
    assert result.returncode == 1
    assert not any(call.startswith("curl") for call in calls)
    assert calls[-2:] == TEARDOWN


def test_an_interrupt_destroys_the_stack(tmp_path):
    environment = _environment(tmp_path, SLOW_UP="30")
    process = subprocess.Popen(["bash", str(SCRIPT), "e2e-test"], env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    calls = tmp_path / "calls"
    deadline = time.monotonic() + 30
    while not (calls.exists() and "pulumi up" in calls.read_text(encoding="utf-8")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    process.communicate(timeout=60)
    assert process.returncode == 130
    assert calls.read_text(encoding="utf-8").splitlines()[-2:] == TEARDOWN


def test_a_destroy_that_fails_keeps_the_stack_and_says_so(tmp_path):
    result, calls = _run(tmp_path, FAIL_PULUMI="destroy")
    assert result.returncode == 1
    assert calls[-1] == TEARDOWN[0] and TEARDOWN[1] not in calls
    assert "may still run" in result.stderr


@pytest.mark.parametrize("stack", ["dev", "prod", ""])
def test_it_refuses_a_real_stack_or_no_stack(tmp_path, stack):
    result, calls = _run(tmp_path, stack=stack)
    assert result.returncode == 2 and calls == []


def test_without_a_terminal_it_asks_for_explicit_consent(tmp_path):
    result = subprocess.run(["bash", str(SCRIPT), "e2e-test"], env=_environment(tmp_path, E2E_YES=""),
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "E2E_YES=1" in result.stderr
    assert not (tmp_path / "calls").exists()


def test_make_e2e_runs_the_script_and_the_readme_documents_it():
    makefile = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    assert '\ne2e: $(STAMP)\n\tPY=$(PY) scripts/e2e.sh "$(STACK)"\n' in makefile
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert "make e2e STACK=" in readme
