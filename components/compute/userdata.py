"""Boot scripts of the API and worker instances, rendered from `templates/` in plain Python.

Creates no resources. `render()` fills the `{{ name }}` placeholders of a template and
refuses a missing value, an unused value and any value with characters a shell would
interpret, so a setting can never turn into a command: the scripts get names and paths only,
and read the values (endpoints, secrets) at boot from Parameter Store and Secrets Manager.
`private_ecr()` tells whether an image needs a private ECR pull (and so an IAM grant); public
registries need none.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

TEMPLATES = Path(__file__).resolve().parent / "templates"
API_TEMPLATE = "api-user-data.sh.tpl"
WORKER_TEMPLATE = "worker-user-data.sh.tpl"

_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")
# Words of letters, digits and the punctuation of image references, URLs, ARNs and paths,
# separated by single spaces; no quotes, `$`, `;`, newlines or backticks.
_SAFE = re.compile(r"^[A-Za-z0-9._:/@+=,%-]+$")
_PRIVATE_ECR = re.compile(r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/"
                          r"(?P<repository>[a-z0-9._/-]+?)(:[^@]+)?(@sha256:[a-f0-9]{64})?$")


def render(template: str, values: Mapping[str, object]) -> str:
    """The template's text with every placeholder replaced by its (shell-safe) value."""
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    wanted = set(_PLACEHOLDER.findall(text))
    problems = [f"missing value for {{{{ {name} }}}}" for name in sorted(wanted - set(values))]
    problems += [f"{name} is not used by {template}" for name in sorted(set(values) - wanted)]
    problems += [f"{name}={value!r} has characters a shell would interpret" for name, value in sorted(values.items())
                 if not all(_SAFE.match(word) for word in str(value).split(" "))]
    if problems:
        raise ValueError(f"{template}: " + "; ".join(problems))
    return _PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)


def encode(script: str) -> str:
    """Launch templates take user data base64-encoded."""
    return base64.b64encode(script.encode("utf-8")).decode("ascii")


def registry_of(image: str) -> str:
    """The registry host of an image reference (its first path segment)."""
    return image.split("/", 1)[0]


@dataclass(frozen=True)
class PrivateEcrImage:
    account: str
    region: str
    repository: str

    def repository_arn(self, partition: str = "aws") -> str:
        return f"arn:{partition}:ecr:{self.region}:{self.account}:repository/{self.repository}"


def private_ecr(image: str) -> PrivateEcrImage | None:
    """The ECR repository of a private ECR image; None for any other registry."""
    match = _PRIVATE_ECR.match(image)
    return PrivateEcrImage(match["account"], match["region"], match["repository"]) if match else None


def api_user_data(*, image: str, port: int, health_path: str, region: str, config_path: str,
                  session_secret_id: str) -> str:
    """The API's boot script: reads `config_path` and the secrets it names at every start."""
    return render(API_TEMPLATE, {
        "image": image, "registry": registry_of(image), "port": port, "health_path": health_path,
        "region": region, "config_path": config_path, "session_secret_id": session_secret_id,
    })


def worker_user_data(*, image: str, command: Sequence[str], region: str, config_path: str) -> str:
    """A worker's boot script: the same configuration as the API's, without the session secret."""
    if not command or not all(_SAFE.match(word) for word in command):
        raise ValueError(f"worker command words must be non-empty and shell-safe, got {list(command)!r}")
    return render(WORKER_TEMPLATE, {
        "image": image, "registry": registry_of(image), "command": " ".join(command),
        "region": region, "config_path": config_path,
    })
