"""AWS-like answers for the Pulumi mock runtime: resource outputs and provider functions.

Runs as a preview would: resources echo their inputs and everything AWS computes at
create time (ids, ARNs, endpoints) stays unknown, so the plan shows what a real
`pulumi preview` would know. Physical names the provider fills in before the preview
(auto-naming, `AUTO_NAMED`) come back known, as they do in a preview. Provider functions
(AZs, AMI parameters, the account id) answer with fixed, realistic values.
"""

from __future__ import annotations

import hashlib

from pulumi.runtime import Mocks, MockCallArgs, MockResourceArgs
from pulumi.runtime.rpc import UNKNOWN

ACCOUNT_ID = "123456789012"
AMI_ID = "ami-0abcdef1234567890"
ARM64_AMI_ID = "ami-0fedcba0987654321"
AMI_ARCHITECTURES = {AMI_ID: "x86_64", ARM64_AMI_ID: "arm64"}
"""The architecture of each image the mocked AMI parameters name (AWS publishes one parameter per architecture)."""
ZONE_SUFFIXES = ("a", "b", "c", "d")
DEFAULT_REGION = "us-east-1"
AUTO_NAME_SUFFIX_LENGTH = 7

AUTO_NAMED = {
    "aws:s3/bucket:Bucket": "bucket",
    "aws:sqs/queue:Queue": "name",
    "aws:cloudwatch/logGroup:LogGroup": "name",
    "aws:secretsmanager/secret:Secret": "name",
    "aws:iam/role:Role": "name",
}
"""Resource type -> its physical-name input, for the types whose names the policy documents read.

Pulumi auto-names a resource whose name input is left out: the provider's Check fills it with the
logical name, "-" and 7 random lowercase hex characters, before the preview, so the name is known in
a preview while the ARN AWS makes of it is not (pulumi-aws provider/autonaming.go gives every input
`name` `tfbridge.AutoName`; provider/resources.go gives aws_s3_bucket's `bucket` the same, lowercased
and at most 63 characters; pulumi-terraform-bridge pkg/tfbridge/names.go `AutoNameTransform`:
`Randlen: 7`, `resource.NewUniqueHex`; Pulumi docs, "Resource names", Autonaming). The mocks use a
suffix derived from the resource's type and name, so a plan is the same on every run."""
# Outputs AWS computes inside an input block: echoing the block would make them look absent (None)
# instead of unknown, as a real preview has them. (block, computed field) per type.
NESTED_COMPUTED = {
    "aws:eks/cluster:Cluster": (("vpcConfig", "clusterSecurityGroupId"), ("vpcConfig", "vpcId")),
}


def mock_id(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:17]


def auto_name(resource_type: str, name: str) -> str:
    """The physical name the provider gives an auto-named resource (`AUTO_NAMED`), with the
    mocks' fixed suffix."""
    physical = f"{name}-{mock_id('autoname', resource_type, name)[:AUTO_NAME_SUFFIX_LENGTH]}"
    return physical.lower() if resource_type == "aws:s3/bucket:Bucket" else physical


def _auto_name(resource_type: str, name: str, inputs: dict) -> dict:
    prop = AUTO_NAMED.get(resource_type)
    # A name or a name prefix the program sets is the provider's to keep.
    if prop is None or inputs.get(prop) or inputs.get(f"{prop}Prefix"):
        return {}
    return {prop: auto_name(resource_type, name)}


class AwsMocks(Mocks):
    """Mock answers. `provider_regions` maps a provider URN to its region (filled by the monitor)."""

    def __init__(self) -> None:
        self.provider_regions: dict[str, str] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        if args.typ.startswith("pulumi:providers:"):
            # A provider's id is known in a real preview too; invokes through it need it.
            return mock_id(args.typ, args.name), dict(args.inputs)
        # An empty id is unknown in a preview, like every output the inputs do not give.
        outputs = {**_auto_name(args.typ, args.name, args.inputs), **args.inputs}
        for block, computed in NESTED_COMPUTED.get(args.typ, ()):
            if isinstance(outputs.get(block), dict):
                outputs[block] = {**outputs[block], computed: UNKNOWN}
        return "", outputs

    def call(self, args: MockCallArgs) -> dict:
        region = args.args.get("region") or self._region_of(args.provider)
        handler = _CALLS.get(args.token)
        return handler(region, args.args) if handler else {}

    def _region_of(self, provider_ref: str) -> str:
        # A provider reference is "<urn>::<id>".
        urn = provider_ref.rsplit("::", 1)[0] if provider_ref else ""
        return self.provider_regions.get(urn, DEFAULT_REGION)


def _availability_zones(region: str, _args: dict) -> dict:
    names = [f"{region}{suffix}" for suffix in ZONE_SUFFIXES]
    return {
        "id": region,
        "names": names,
        "zoneIds": [f"{region[:2]}{region.split('-')[1][0]}{region[-1]}-az{i + 1}" for i in range(len(names))],
        "groupNames": [region] * len(names),
        "state": "available",
    }


def _ssm_parameter(region: str, args: dict) -> dict:
    name = args.get("name", "")
    return {
        "id": name,
        "name": name,
        "type": "String",
        "value": (ARM64_AMI_ID if name.endswith("arm64") else AMI_ID) if "ami" in name else "mock-value",
        "arn": f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter{name}",
        "version": 1,
        "withDecryption": True,
    }


def _caller_identity(_region: str, _args: dict) -> dict:
    return {
        "id": ACCOUNT_ID,
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/qnom-plan",
        "userId": "AIDAQNOMPLANOFFLINE",
    }


def _session_context(_region: str, args: dict) -> dict:
    # The plan runs as a user, whose ARN is its own issuer (IAM API: a non-session ARN comes back as is).
    arn = args.get("arn", "")
    return {"id": arn, "arn": arn, "issuerArn": arn, "issuerId": "AIDAQNOMPLANOFFLINE", "issuerName": "qnom-plan",
            "sessionName": ""}


def _region(region: str, _args: dict) -> dict:
    return {"id": region, "name": region, "region": region, "endpoint": f"ec2.{region}.amazonaws.com",
            "description": region}


def _partition(_region: str, _args: dict) -> dict:
    return {"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws"}


def _hosted_zone(_region: str, args: dict) -> dict:
    name = args.get("name", "example.com").rstrip(".")
    zone_id = "Z" + mock_id("zone", name).upper()[:13]
    return {"id": zone_id, "zoneId": zone_id, "name": name,
            "nameServers": [f"ns-{i}.awsdns-{i}.net" for i in range(1, 5)], "privateZone": False}


def _canonical_user_id(_region: str, _args: dict) -> dict:
    # S3 canonical user ids are 64 hex digits.
    return {"id": hashlib.sha256(f"canonical-user/{ACCOUNT_ID}".encode()).hexdigest(), "displayName": "qnom-plan"}


def _log_delivery_canonical_user_id(_region: str, _args: dict) -> dict:
    # The canonical user of AWS's `awslogsdelivery` account, the same in every commercial region.
    return {"id": "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"}


def _elb_service_account(region: str, _args: dict) -> dict:
    return {"id": "127311923021", "arn": "arn:aws:iam::127311923021:root", "region": region}


# AWS-managed prefix lists the program references, with their documented weights (Amazon VPC User
# Guide, "AWS-managed prefix lists": CloudFront's origin-facing list weighs 55, Route 53's health
# checkers' list 25). A managed list's id differs by region; the mock derives a stable one.
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
MANAGED_PREFIX_LIST_WEIGHTS = {
    CLOUDFRONT_PREFIX_LIST: 55,
    "route53-healthchecks": 25,
}


def prefix_list_weight(name: str) -> int | None:
    """Documented weight of an AWS-managed prefix list by name (regional names by their last label)."""
    return MANAGED_PREFIX_LIST_WEIGHTS.get(name) or MANAGED_PREFIX_LIST_WEIGHTS.get(name.rsplit(".", 1)[-1])


def prefix_list_id(region: str, name: str) -> str:
    return "pl-" + mock_id("prefix-list", region, name)[:8]


def _managed_prefix_list(region: str, args: dict) -> dict:
    name = args.get("name") or next((value for item in args.get("filters") or ()
                                     if item.get("name") == "prefix-list-name" for value in item.get("values", [])), "")
    list_id = prefix_list_id(region, name)
    return {"id": list_id, "name": name, "addressFamily": "IPv4", "maxEntries": prefix_list_weight(name) or 1,
            "ownerId": "AWS", "version": 1, "entries": [], "tags": {},
            "arn": f"arn:aws:ec2:{region}:aws:prefix-list/{list_id}"}


_CALLS = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": _availability_zones,
    "aws:ssm/getParameter:getParameter": _ssm_parameter,
    "aws:index/getCallerIdentity:getCallerIdentity": _caller_identity,
    "aws:iam/getSessionContext:getSessionContext": _session_context,
    "aws:index/getRegion:getRegion": _region,
    "aws:index/getPartition:getPartition": _partition,
    "aws:route53/getZone:getZone": _hosted_zone,
    "aws:elb/getServiceAccount:getServiceAccount": _elb_service_account,
    "aws:s3/getCanonicalUserId:getCanonicalUserId": _canonical_user_id,
    "aws:cloudfront/getLogDeliveryCanonicalUserId:getLogDeliveryCanonicalUserId": _log_delivery_canonical_user_id,
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": _managed_prefix_list,
}
