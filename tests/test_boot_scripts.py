"""The rendered boot scripts are valid bash, and shellcheck finds nothing to warn about in them or
in the scripts they write at boot (the environment and retry helpers), when shellcheck is installed."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from components.compute import userdata

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/qnom/api:1.4.2"
SCRIPTS = {
    "api": userdata.api_user_data(image=IMAGE, port=3000, health_path="/health", region="us-east-1",
                                  config_path="/qnom/prod/app", session_secret_id="qnom/prod/api/session-secret"),
    "worker": userdata.worker_user_data(image=IMAGE, command=["worker"], region="us-east-1",
                                        config_path="/qnom/prod/app"),
}
# A script a boot script writes with `cat > path <<'SCRIPT'`: checked as the file it becomes.
EMBEDDED = re.compile(r"cat > (?P<path>\S+) <<'SCRIPT'\n(?P<body>.*?)\nSCRIPT\n", re.DOTALL)


def _files(name: str) -> dict[str, str]:
    script = SCRIPTS[name]
    files = {f"{name}-user-data.sh": script}
    for match in EMBEDDED.finditer(script):
        body = match["body"] if match["body"].startswith("#!") else "#!/bin/bash\n" + match["body"]
        files[match["path"].rsplit("/", 1)[-1]] = body
    return files


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_boot_scripts_and_what_they_write_are_valid_bash(name, tmp_path):
    files = _files(name)
    assert {"retry.sh", f"{name}-env.sh"} <= set(files)
    for file_name, text in files.items():
        path = tmp_path / file_name
        path.write_text(text, encoding="utf-8")
        result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, (file_name, result.stderr)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_shellcheck_finds_no_warning(name, tmp_path):
    paths = []
    for file_name, text in _files(name).items():
        (tmp_path / file_name).write_text(text, encoding="utf-8")
        paths.append(str(tmp_path / file_name))
    # SC1091: the sourced retry helper exists only on the instance, written by the script itself.
    result = subprocess.run(["shellcheck", "--severity=warning", "--exclude=SC1091", *paths],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
