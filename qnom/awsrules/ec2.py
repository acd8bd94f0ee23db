"""EC2: launch templates whose instances run containers that need the instance's credentials."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator

from policy.resource_types import LAUNCH_TEMPLATE
from qnom.awsrules import Request, known, rule

# `docker run` on Docker's default bridge network: every container request to the metadata
# service crosses one more network hop than a process on the instance.
_DOCKER_RUN = re.compile(r"\bdocker\s+run\b[^\n]*")
_HOST_NETWORK = re.compile(r"--(?:network|net)[= ]host\b")


def bridged_containers(user_data: str) -> list[str]:
    """`docker run` commands of a boot script that use the bridge network."""
    script = user_data.replace("\\\n", " ")
    return [command for command in _DOCKER_RUN.findall(script) if not _HOST_NETWORK.search(command)]


def _decoded(user_data: object) -> str | None:
    if not isinstance(user_data, str) or not known(user_data):
        return None
    try:
        return base64.b64decode(user_data, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        return user_data


@rule("ec2-container-metadata-hop-limit", LAUNCH_TEMPLATE,
      error="In a container environment, if the hop limit is 1, the IMDSv2 response does not return because "
            "going to the container is considered an additional network hop",
      # AWS EC2 User Guide, "Configure the Instance Metadata Service options" (instance metadata
      # options): with IMDSv2 required, a container on a bridge network gets no token, hence no
      # instance credentials, unless the PUT response hop limit is at least 2 ("In a container
      # environment, we recommend setting the hop limit to 2"). AWS accepts the request; the
      # instances then cannot reach any AWS API from the container.
      source="https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/configuring-instance-metadata-options.html")
def _container_hop_limit(request: Request) -> Iterator[str]:
    options = request.inputs.get("metadataOptions") or {}
    if options.get("httpTokens") != "required":
        return  # IMDSv1 answers a container without a token
    hops = options.get("httpPutResponseHopLimit", 1)
    script = _decoded(request.inputs.get("userData"))
    if script is None or not isinstance(hops, (int, float)) or hops >= 2:
        return
    if bridged_containers(script):
        yield (f"In a container environment, if the hop limit is 1, the IMDSv2 response does not return because "
               f"going to the container is considered an additional network hop (httpPutResponseHopLimit "
               f"{hops:g} with IMDSv2 required, and the user data runs `docker run` on the bridge network)")
