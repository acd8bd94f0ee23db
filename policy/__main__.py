"""Entry point the Pulumi CLI runs for `--policy-pack policy`: builds the pack and serves it.

Constructing `PolicyPack` starts the analyzer server and blocks, so nothing imports this file.
"""

import sys
from pathlib import Path

# The CLI runs this file from the pack's directory; the rules import the phase catalog from the project root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack  # noqa: E402

from policy.context import StackConfigContext  # noqa: E402
from policy.pack import DESCRIPTION, PACK_NAME, build_policies, default_enforcement  # noqa: E402

context = StackConfigContext()
enforcement = default_enforcement(context.environment)
PolicyPack(name=PACK_NAME, description=DESCRIPTION, enforcement_level=enforcement,
           policies=build_policies(context, enforcement))
