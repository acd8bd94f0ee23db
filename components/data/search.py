"""Search of one region (phase 3 on): an OpenSearch domain inside the VPC.

Creates: a customer-managed KMS key (data at rest, the master user's secret); a security
group admitting only the client tiers on 443; a master user password from pulumi-random kept
in Secrets Manager; CloudWatch log groups for the index and search slow logs, application and
audit logs, with the resource policy that lets OpenSearch write to them; unless the account
already has it, the account's OpenSearch service-linked role (`-service-role`,
AWSServiceRoleForAmazonOpenSearchService); the domain (`-domain`) across three AZs with zone
awareness, dedicated masters where the profile asks for them, encryption at rest and
node-to-node, HTTPS only with TLS 1.2 or newer and fine-grained access control; and the
domain's access policy.

The domain name is fixed (OpenSearch replaces a domain whose name changes) and so are its KMS
key and encryption switches, which AWS cannot turn off or re-key on a running domain.

The service-linked role is what lets OpenSearch place the domain's network interfaces in the
VPC, so the domain waits for it. It is one role per account, shared by every stack and every
domain in it, so the stack never deletes it (`retain_on_delete`): a `pulumi destroy` of one
stack, or a demotion below phase 3, must not pull it from under another stack's domain. A
stack that finds it already there (`qnom:openSearchServiceRole existing`) creates nothing.
Only the primary region runs search, so one stack creates the role at most once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import defaults
from components import policy_documents as documents
from phases.environment import EnvironmentProfile
from phases.models import Search as SearchSpec

ZONE_COUNT = 3
# OpenSearch Service developer guide, "Using service-linked roles to create VPC domains": the
# role AWSServiceRoleForAmazonOpenSearchService trusts this principal, one role per account.
SERVICE_LINKED_ROLE_SERVICE = "opensearchservice.amazonaws.com"
MASTER_USER = "qnom-admin"
LOG_TYPES = {
    "INDEX_SLOW_LOGS": "index-slow",
    "SEARCH_SLOW_LOGS": "search-slow",
    "ES_APPLICATION_LOGS": "application",
    "AUDIT_LOGS": "audit",
}
_DOMAIN_NAME = re.compile(r"^[a-z][a-z0-9-]{2,27}$")


@dataclass(frozen=True)
class SearchArgs:
    spec: SearchSpec
    """The phase's `search` block: engine version, data and master node types and counts, volume."""
    domain_name: str
    """OpenSearch domain name: 3-28 lowercase letters, digits and hyphens, unique in the account and region."""
    vpc_id: pulumi.Input[str]
    """VPC of the region."""
    subnet_ids: Sequence[pulumi.Input[str]]
    """Isolated (data) subnets, one in each of three availability zones."""
    profile: EnvironmentProfile
    """Environment profile: protection, dedicated masters, log retention."""
    client_security_groups: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Security groups allowed to connect on 443, by client name (`api`, `workers`). Default: none."""
    log_key_arn: pulumi.Input[str] | None = None
    """KMS key encrypting the domain's log groups (the region's log key); default None: CloudWatch Logs'
    own encryption."""
    create_service_linked_role: bool = True
    """Create the account's OpenSearch service-linked role (kept on delete). Default True; False when
    the account already has it (`qnom:openSearchServiceRole existing`)."""

    def __post_init__(self) -> None:
        if not _DOMAIN_NAME.match(self.domain_name):
            raise ValueError(f"domain_name {self.domain_name!r} must be 3-28 characters: a lowercase letter, "
                             "then lowercase letters, digits or hyphens")
        if len(self.subnet_ids) != ZONE_COUNT:
            raise ValueError(f"subnet_ids must hold one subnet in each of {ZONE_COUNT} zones, got {len(self.subnet_ids)}")


class Search(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]
    domain_arn: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    service_linked_role_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: SearchArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Search", name, None, opts)
        self._name, self._args, self._spec = name, args, args.spec
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = defaults.stateful_options(self._child, args.profile)

        # Used through OpenSearch Service (at rest) and Secrets Manager (the master user's secret).
        self._key = aws.kms.Key(f"{name}-key", defaults.service_key_args(
            "search", args.profile, ["es", "secretsmanager"], pulumi.InvokeOptions(parent=self)), self._stateful)
        self._security_group = defaults.client_only_security_group(
            f"{name}-sg", "qnom search: client tiers only", args.vpc_id, defaults.HTTPS_PORT,
            args.client_security_groups, self._child)
        self._password, self._secret = self._create_master_password()
        self._log_groups = self._create_log_groups()
        self._log_policy = self._allow_log_delivery()
        self._service_role = self._create_service_linked_role()
        self._domain = self._create_domain()
        self._create_access_policy()

        self.endpoint = self._domain.endpoint
        self.domain_arn = self._domain.arn
        self.domain_name = self._domain.domain_name
        self.master_secret_arn = self._secret.arn
        self.security_group_id = self._security_group.id
        self.kms_key_arn = self._key.arn
        self.service_linked_role_arn = self._service_role.arn if self._service_role else None

        self.register_outputs({
            "endpoint": self.endpoint,
            "domain_arn": self.domain_arn,
            "domain_name": self.domain_name,
            "master_secret_arn": self.master_secret_arn,
            "security_group_id": self.security_group_id,
            "kms_key_arn": self.kms_key_arn,
            "service_linked_role_arn": self.service_linked_role_arn,
        })

    def _create_master_password(self) -> tuple[random.RandomPassword, aws.secretsmanager.Secret]:
        # Fine-grained access control wants 8+ characters with upper case, lower case, a
        # digit and a special character.
        password = random.RandomPassword(f"{self._name}-master-password", random.RandomPasswordArgs(
            length=32, min_upper=2, min_lower=2, min_numeric=2, min_special=2, override_special="!#$%*()-_=+",
        ), self._child)
        secret = aws.secretsmanager.Secret(f"{self._name}-master", aws.secretsmanager.SecretArgs(
            description="qnom search: master user of fine-grained access control",
            kms_key_id=self._key.arn,
            recovery_window_in_days=self._args.profile.recovery_window_days,
        ), self._stateful)
        aws.secretsmanager.SecretVersion(f"{self._name}-master", aws.secretsmanager.SecretVersionArgs(
            secret_id=secret.id,
            secret_string=pulumi.Output.json_dumps({"username": MASTER_USER, "password": password.result}),
        ), self._child)
        return password, secret

    def _create_log_groups(self) -> dict[str, aws.cloudwatch.LogGroup]:
        return {
            log_type: aws.cloudwatch.LogGroup(f"{self._name}-{suffix}", aws.cloudwatch.LogGroupArgs(
                retention_in_days=self._args.profile.log_retention_days,
                kms_key_id=self._args.log_key_arn,
            ), self._child)
            for log_type, suffix in LOG_TYPES.items()
        }

    def _allow_log_delivery(self) -> aws.cloudwatch.LogResourcePolicy:
        arns = [group.arn for group in self._log_groups.values()]
        return aws.cloudwatch.LogResourcePolicy(f"{self._name}-logs", aws.cloudwatch.LogResourcePolicyArgs(
            # Resource policies are named per account and region, hence the domain name in it.
            policy_name=f"{self._args.domain_name}-logs",
            policy_document=documents.to_json(documents.log_delivery_policy(arns)),
        ), self._child)

    def _create_service_linked_role(self) -> aws.iam.ServiceLinkedRole | None:
        if not self._args.create_service_linked_role:
            return None
        # aws_service_name is ForceNew (terraform-provider-aws internal/service/iam/
        # service_linked_role.go) and never changes here. retain_on_delete rather than protect:
        # protect would block every destroy of the stack, while what matters is only that the
        # account-wide role outlives it. (IAM refuses to delete it while a domain still uses it,
        # but a domain another stack creates later would find no role.)
        return aws.iam.ServiceLinkedRole(f"{self._name}-service-role", aws.iam.ServiceLinkedRoleArgs(
            aws_service_name=SERVICE_LINKED_ROLE_SERVICE,
            description="OpenSearch VPC domains of this account (kept when a stack is destroyed)",
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(retain_on_delete=True)))

    def _create_domain(self) -> aws.opensearch.Domain:
        spec, profile = self._spec, self._args.profile
        masters = profile.search_dedicated_masters
        return aws.opensearch.Domain(f"{self._name}-domain", aws.opensearch.DomainArgs(
            domain_name=self._args.domain_name,
            engine_version=spec.engine_version,
            cluster_config=aws.opensearch.DomainClusterConfigArgs(
                instance_type=spec.instance_type,
                instance_count=spec.instance_count,
                zone_awareness_enabled=True,
                zone_awareness_config=aws.opensearch.DomainClusterConfigZoneAwarenessConfigArgs(
                    availability_zone_count=ZONE_COUNT),
                dedicated_master_enabled=masters,
                dedicated_master_type=spec.dedicated_master_type if masters else None,
                dedicated_master_count=spec.dedicated_master_count if masters else None,
                multi_az_with_standby_enabled=False,
            ),
            ebs_options=aws.opensearch.DomainEbsOptionsArgs(
                ebs_enabled=True, volume_type="gp3", volume_size=spec.volume_size_gb),
            vpc_options=aws.opensearch.DomainVpcOptionsArgs(
                subnet_ids=list(self._args.subnet_ids),
                security_group_ids=[self._security_group.id],
            ),
            encrypt_at_rest=aws.opensearch.DomainEncryptAtRestArgs(enabled=True, kms_key_id=self._key.arn),
            node_to_node_encryption=aws.opensearch.DomainNodeToNodeEncryptionArgs(enabled=True),
            domain_endpoint_options=aws.opensearch.DomainDomainEndpointOptionsArgs(
                enforce_https=True, tls_security_policy=defaults.OPENSEARCH_TLS_POLICY),
            advanced_security_options=aws.opensearch.DomainAdvancedSecurityOptionsArgs(
                enabled=True,
                anonymous_auth_enabled=False,
                internal_user_database_enabled=True,
                master_user_options=aws.opensearch.DomainAdvancedSecurityOptionsMasterUserOptionsArgs(
                    master_user_name=MASTER_USER, master_user_password=self._password.result),
            ),
            log_publishing_options=[
                aws.opensearch.DomainLogPublishingOptionArgs(
                    log_type=log_type, cloudwatch_log_group_arn=group.arn, enabled=True)
                for log_type, group in self._log_groups.items()
            ],
        ), pulumi.ResourceOptions.merge(self._stateful, pulumi.ResourceOptions(
            # A VPC domain cannot be created before the service-linked role exists.
            depends_on=[self._log_policy] + ([self._service_role] if self._service_role else []))))

    def _create_access_policy(self) -> None:
        aws.opensearch.DomainPolicy(f"{self._name}-access", aws.opensearch.DomainPolicyArgs(
            domain_name=self._domain.domain_name,
            access_policies=documents.to_json(documents.domain_access_policy(self._domain.arn)),
        ), self._child)
