"""QNom platform: stack config -> StackSettings -> Platform -> stack outputs."""

import pulumi

from components.platform import STACK_OUTPUTS, Platform, PlatformArgs
from phases.settings import read_pulumi_config, settings_from_config

settings = settings_from_config(read_pulumi_config(), project=pulumi.get_project(), stack=pulumi.get_stack())
platform = Platform("platform", PlatformArgs(settings=settings))

pulumi.export("phase", settings.phase.name)
pulumi.export("environment", settings.environment)
pulumi.export("regions", [region.name for region in settings.phase.regions])
for export_name, attribute in STACK_OUTPUTS.items():
    pulumi.export(export_name, getattr(platform, attribute))
