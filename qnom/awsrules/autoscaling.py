"""Auto Scaling: group sizes, instance types of the launch template image's architecture, and
scheduled actions whose start time AWS refuses once it is past."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

from phases.models import instance_architecture
from policy.resource_types import ASG, ASG_SCHEDULE, LAUNCH_TEMPLATE
from qnom import mocks
from qnom.awsrules import Request, known, rule

UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # the provider's ScheduleTimeLayout
UNCHANGED = -1  # the provider's "leave this size as it is"


@rule("asg-size-bounds", ASG,
      error="ValidationError: Desired capacity:{desired} must be between the specified min size:{min} and max "
            "size:{max}",
      # AWS Auto Scaling API Reference, CreateAutoScalingGroup / UpdateAutoScalingGroup: "The desired
      # capacity must be greater than or equal to the minimum size of the group and less than or
      # equal to the maximum size of the group"; MinSize must not exceed MaxSize.
      source="https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_CreateAutoScalingGroup.html")
def _group_bounds(request: Request) -> Iterator[str]:
    low, high, desired = (request.inputs.get(key) for key in ("minSize", "maxSize", "desiredCapacity"))
    if isinstance(low, (int, float)) and isinstance(high, (int, float)) and low > high:
        yield f"ValidationError: Max bound, {high}, must be greater than or equal to min bound, {low}"
    elif all(isinstance(value, (int, float)) for value in (low, high, desired)) and not low <= desired <= high:
        yield (f"ValidationError: Desired capacity:{desired} must be between the specified min size:{low} "
               f"and max size:{high}")


@rule("asg-instance-type-architecture", ASG,
      error="ValidationError: You must use a valid fully-formed launch template. The architecture '{type's}' of "
            "the specified instance type does not match the architecture '{image's}' of the specified AMI",
      # CreateAutoScalingGroup checks every type it may launch (the template's, or each override of a
      # mixed instances policy) against the template's image: an Amazon Linux 2023 image is published
      # per architecture, and a Graviton (arm64) type boots only the arm64 one. Observed answers:
      # masterpointio/terraform-aws-ssm-agent#25 (t4g.nano with an x86_64 image), eksctl-io/eksctl#8235.
      source="https://github.com/masterpointio/terraform-aws-ssm-agent/issues/25")
def _types_match_the_image(request: Request) -> Iterator[str]:
    mixed = request.inputs.get("mixedInstancesPolicy")
    prop = "mixedInstancesPolicy" if mixed else "launchTemplate"
    template = request.source(prop, LAUNCH_TEMPLATE)
    image = mocks.AMI_ARCHITECTURES.get(template.inputs.get("imageId")) if template else None
    if image is None:
        return
    if mixed:
        types = [override.get("instanceType") for override in mixed.get("launchTemplate", {}).get("overrides") or []]
    else:
        types = [template.inputs.get("instanceType")]
    wrong = [name for name in types if known(name) and instance_architecture(name) != image]
    if wrong:
        yield ("ValidationError: You must use a valid fully-formed launch template. The architecture "
               f"'{instance_architecture(wrong[0])}' of the specified instance type does not match the "
               f"architecture '{image}' of the specified AMI ({', '.join(wrong)}; "
               f"image {template.inputs.get('imageId')})")


@rule("asg-recurring-action-update", ASG_SCHEDULE,
      error="ValidationError: Given start time is in the past",
      # The provider's update re-sends every argument, start_time included, and for a recurring
      # action that start time is the one AWS computed at creation (read back into state): once it
      # has passed, PutScheduledUpdateGroupAction refuses the update (pulumi/pulumi-aws#2473,
      # hashicorp/terraform-provider-aws#38983; internal/service/autoscaling/schedule.go,
      # resourceSchedulePut). Only a replacement avoids the update: replaceOnChanges ["*"], and
      # deleteBeforeReplace because the new action has the same scheduled_action_name, so a
      # create-before-delete replacement would end with the old action's delete removing the new one.
      source="https://github.com/pulumi/pulumi-aws/issues/2473")
def _recurring_action_replaced(request: Request) -> Iterator[str]:
    if not known(request.inputs.get("recurrence")):
        return
    options = request.record.options
    missing = [name for name, present in (
        ('replaceOnChanges ["*"]', "*" in options.get("replaceOnChanges", [])),
        ("deleteBeforeReplace", options.get("deleteBeforeReplace") is True)) if not present]
    if missing:
        yield ("ValidationError: Given start time is in the past (a change to this recurring action is an "
               "in-place update that re-sends the start time AWS computed at creation; it needs "
               f"{' and '.join(missing)} so that a change replaces it)")


def _time_zone_of_group(request: Request) -> str:
    """Time zone of the group's recurring actions (the schedule's), or UTC."""
    group = set(request.record.dependencies.get("autoscalingGroupName", []))
    for other in request.registered.values():
        if (other.type == ASG_SCHEDULE and known(other.inputs.get("timeZone"))
                and group & set(other.dependencies.get("autoscalingGroupName", []))):
            return other.inputs["timeZone"]
    return "UTC"


@rule("asg-start-time-in-past", ASG_SCHEDULE,
      error="ValidationError: Given start time is in the past",
      # AWS Auto Scaling API Reference, PutScheduledUpdateGroupAction, StartTime: a start time
      # that is not in the future is refused. The program's only clock is its plan date
      # (`qnom:planDate`, default today), so what it can know is past is a start at or before
      # the plan date's first moment in the schedule's time zone (a window's midnight start on
      # the window's day).
      # A later time of the plan date itself depends on the hour `pulumi up` runs: a seasonal
      # window's day keeps its hold actions declared, and the README says not to create or promote
      # a stack on such a day.
      source="https://docs.aws.amazon.com/autoscaling/ec2/APIReference/API_PutScheduledUpdateGroupAction.html")
def _start_time_in_future(request: Request) -> Iterator[str]:
    start = request.inputs.get("startTime")
    if not known(start):
        return
    try:
        moment = datetime.strptime(start, UTC_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        yield f'"{start}" cannot be parsed as iso8601 Timestamp Format'
        return
    zone = request.inputs.get("timeZone") if known(request.inputs.get("timeZone")) else _time_zone_of_group(request)
    day = request.plan_date(zone)
    start_of_day = datetime.combine(day, time.min, tzinfo=ZoneInfo(zone))
    if moment <= start_of_day:
        yield f"ValidationError: Given start time is in the past (startTime {start}, plan date {day} in {zone})"
