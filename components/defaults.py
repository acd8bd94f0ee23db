"""Secure defaults shared by every component, so a phase file cannot forget them.

Holds the resource options and policy documents that make resources safe: protection of
stateful resources in prod and IAM trust documents scoped to one AWS service.
"""

from __future__ import annotations

import json

import pulumi

from phases.environment import EnvironmentProfile


def stateful_options(child: pulumi.ResourceOptions, profile: EnvironmentProfile) -> pulumi.ResourceOptions:
    """Options for a resource that holds data: protected in prod, so `pulumi destroy` and a
    replacement both stop before the data goes."""
    return pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=profile.protect_stateful))


def assume_role_policy(service: str) -> str:
    """IAM trust policy letting one AWS service principal assume a role."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": "sts:AssumeRole",
        }],
    })
