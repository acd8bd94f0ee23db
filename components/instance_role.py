"""The IAM role and instance profile of an app instance group (API or workers).

Creates: the role (EC2 may assume it), the SSM core policy attachment (Session Manager
instead of SSH), the group's own inline policies, an ECR pull policy when the image lives
in a private ECR repository, and the instance profile.
"""

from __future__ import annotations

import json
from typing import Mapping

import pulumi
import pulumi_aws as aws

from components import defaults, userdata


def create_instance_role(
    name: str,
    description: str,
    image: str,
    policies: Mapping[str, pulumi.Input[str]],
    opts: pulumi.ResourceOptions,
) -> tuple[aws.iam.Role, aws.iam.InstanceProfile]:
    """Role `f"{name}-instance"` with `policies` (suffix -> policy JSON) inline."""
    role = aws.iam.Role(f"{name}-instance", aws.iam.RoleArgs(
        assume_role_policy=defaults.assume_role_policy("ec2.amazonaws.com"),
        description=description,
    ), opts)
    aws.iam.RolePolicyAttachment(f"{name}-instance-ssm", aws.iam.RolePolicyAttachmentArgs(
        role=role.name, policy_arn=defaults.SSM_CORE_POLICY_ARN,
    ), opts)
    for suffix, policy in policies.items():
        aws.iam.RolePolicy(f"{name}-instance-{suffix}", aws.iam.RolePolicyArgs(role=role.id, policy=policy), opts)
    repository = userdata.private_ecr(image)
    if repository:
        aws.iam.RolePolicy(f"{name}-instance-ecr", aws.iam.RolePolicyArgs(
            role=role.id, policy=json.dumps(defaults.ecr_pull_policy(repository.repository_arn())),
        ), opts)
    profile = aws.iam.InstanceProfile(f"{name}-instance", aws.iam.InstanceProfileArgs(role=role.name), opts)
    return role, profile
