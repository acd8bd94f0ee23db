"""QNom platform: stack config -> StackSettings -> Platform -> stack outputs (components/stack_outputs.py)."""

import pulumi

from components.platform import Platform, PlatformArgs
from components.stack_outputs import STACK_OUTPUTS
from phases.settings import read_pulumi_config, settings_from_config

settings = settings_from_config(read_pulumi_config(), project=pulumi.get_project(), stack=pulumi.get_stack())
platform = Platform("platform", PlatformArgs(settings=settings))

for name, value in STACK_OUTPUTS.by_name(platform).items():
    pulumi.export(name, value)
