"""The IAM role and instance profile of an app instance group (API or workers).

Creates: the role (EC2 may assume it), the SSM core policy attachment (Session Manager
instead of SSH), the group's own inline policies (`app_access_policies` builds the ones every
app instance needs: its configuration path, its secrets, its prefix of the object bucket and,
for the API, sending to the job queue), an ECR pull policy when the image lives in a private
ECR repository, and the instance profile.
"""

from __future__ import annotations

from typing import Mapping

import pulumi
import pulumi_aws as aws

from components import defaults
from components.compute import userdata
from components import policy_documents as documents
from components.compute.app_config import OBJECT_PREFIX, AppAccess


def app_access_policies(access: AppAccess, region: str, account_id: pulumi.Input[str],
                        own_secret_names: tuple[pulumi.Input[str], ...] = ()) -> dict[str, pulumi.Output[str]]:
    """Inline policies (suffix -> JSON) granting exactly what `access` names, plus the group's own
    secrets of `region` (the API's session secret), by name: known in a preview."""
    policies = {
        "config": documents.read_config_policy(region, account_id, access.config_path),
        "secrets": documents.read_secrets_policy([*own_secret_names, *access.secret_names], region, account_id),
        "objects": documents.object_prefix_policy(access.bucket_name, OBJECT_PREFIX, access.primary_region,
                                                  account_id, access.bucket_keys),
    }
    if access.send_queue_name is not None:
        policies["send"] = documents.send_queue_policy(access.send_queue_name, access.primary_region, account_id)
    return {suffix: documents.to_json(document) for suffix, document in policies.items()}


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
        assume_role_policy=documents.to_json(documents.trust_policy("ec2.amazonaws.com")),
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
            role=role.id, policy=documents.to_json(documents.ecr_pull_policy(repository.repository_arn())),
        ), opts))
    profile = aws.iam.InstanceProfile(f"{name}-instance", aws.iam.InstanceProfileArgs(role=role.name), opts)
    return role, profile, inline
