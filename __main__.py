"""QNom platform: stack config -> StackSettings -> Platform -> stack outputs."""

import pulumi

from components.platform import Platform, PlatformArgs
from phases.settings import read_pulumi_config, settings_from_config

settings = settings_from_config(read_pulumi_config(), project=pulumi.get_project(), stack=pulumi.get_stack())
platform = Platform("platform", PlatformArgs(settings=settings))

pulumi.export("phase", settings.phase.name)
pulumi.export("environment", settings.environment)
pulumi.export("regions", [region.name for region in settings.phase.regions])
pulumi.export("vpcIds", platform.vpc_ids)
pulumi.export("albDnsName", platform.alb_dns_name)
pulumi.export("albZoneId", platform.alb_zone_id)
pulumi.export("apiAsgName", platform.api_asg_name)
pulumi.export("apiTargetGroupArn", platform.api_target_group_arn)
pulumi.export("apiSecurityGroupId", platform.api_security_group_id)
pulumi.export("albSecurityGroupId", platform.alb_security_group_id)
pulumi.export("apiListener", platform.api_listener)
