"""The IAM role and instance profile of an app instance group (API or workers).

Creates: the role (EC2 may assume it), the SSM core policy attachment (Session Manager
instead of SSH), the group's own inline policies (`app_access_policies` builds the ones every
app instance needs: its configuration path, its secrets, its prefix of the object bucket and,
for the API, sending to the job queue), an ECR pull policy when the image lives in a private
ECR repository, and the instance profile.
"""

from __future__ import annotations

import json
from typing import Mapping

import pulumi
import pulumi_aws as aws

from components import defaults, userdata
from components.app_config import OBJECT_PREFIX, AppAccess


def app_access_policies(access: AppAccess, region: str, account_id: str,
                        own_secret_arns: tuple[pulumi.Input[str], ...] = (),
                        own_key_arns: tuple[pulumi.Input[str], ...] = ()) -> dict[str, pulumi.Output[str]]:
    """Inline policies (suffix -> JSON) granting exactly what `access` names, plus the group's own
    secrets (the API's session secret) and their keys."""
    secrets = [*own_secret_arns, *access.secret_arns]
    keys = [*own_key_arns, *access.secret_key_arns]
    policies = {
        "config": pulumi.Output.from_input(json.dumps(
            defaults.read_config_policy(region, account_id, access.config_path))),
        "secrets": pulumi.Output.all(pulumi.Output.all(*secrets), pulumi.Output.all(*keys)).apply(
            lambda pair: json.dumps(defaults.read_secrets_policy(list(pair[0]), list(pair[1]), region))),
        "objects": pulumi.Output.all(access.bucket_arn, access.bucket_key_arn).apply(
            lambda pair: json.dumps(defaults.object_prefix_policy(pair[0], OBJECT_PREFIX, pair[1],
                                                                  access.bucket_region))),
    }
    if access.send_queue_arn is not None:
        policies["send"] = pulumi.Output.from_input(access.send_queue_arn).apply(
            lambda arn: json.dumps(defaults.send_queue_policy(arn)))
    return policies


def create_instance_role(
    name: str,
    description: str,
    image: str,
    policies: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, aws.iam.InstanceProfile, list[aws.iam.RolePolicy]]:
    """Role `f"{name}-instance"` with `policies` (suffix -> policy JSON) inline; the inline
    policies come back too, so the group can wait for them before its instances boot."""
    role = aws.iam.Role(f"{name}-instance", aws.iam.RoleArgs(
        assume_role_policy=defaults.assume_role_policy("ec2.amazonaws.com"),
        description=description,
    ), opts)
    aws.iam.RolePolicyAttachment(f"{name}-instance-ssm", aws.iam.RolePolicyAttachmentArgs(
        role=role.name, policy_arn=defaults.SSM_CORE_POLICY_ARN,
    ), opts)
    inline = [aws.iam.RolePolicy(f"{name}-instance-{suffix}", aws.iam.RolePolicyArgs(role=role.id, policy=policy), opts)
              for suffix, policy in policies.items()]
    repository = userdata.private_ecr(image)
    if repository:
        inline.append(aws.iam.RolePolicy(f"{name}-instance-ecr", aws.iam.RolePolicyArgs(
            role=role.id, policy=json.dumps(defaults.ecr_pull_policy(repository.repository_arn())),
        ), opts))
    profile = aws.iam.InstanceProfile(f"{name}-instance", aws.iam.InstanceProfileArgs(role=role.name), opts)
    return role, profile, inline
