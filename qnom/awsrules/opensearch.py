"""OpenSearch Service: a VPC domain's subnets and data nodes against its zone awareness."""

from __future__ import annotations

from collections.abc import Iterator

from policy.resource_types import OPENSEARCH_DOMAIN
from qnom.awsrules import Request, rule

_COUNT_WORDS = {1: "one", 2: "two", 3: "three"}


@rule("opensearch-zone-subnets", OPENSEARCH_DOMAIN,
      error="ValidationException: You must specify exactly {count} subnets because you've set zone count to "
            "{count}. / You must specify exactly one subnet.",
      # AWS OpenSearch Service API Reference, ZoneAwarenessConfig.AvailabilityZoneCount: "If your
      # domain is provisioned within a VPC, this value be equal to number of subnets" (default 2);
      # without zone awareness a VPC domain takes exactly one subnet (CloudFormation
      # AWS::OpenSearchService::Domain VPCOptions.SubnetIds). Error texts as AWS answers
      # CreateDomain: cloudposse/terraform-aws-components#232, aws/aws-cdk#29346.
      source="https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_ZoneAwarenessConfig.html")
def _subnets_match_zones(request: Request) -> Iterator[str]:
    subnets = (request.inputs.get("vpcOptions") or {}).get("subnetIds")
    if not isinstance(subnets, list):
        return
    cluster = request.inputs.get("clusterConfig") or {}
    if cluster.get("zoneAwarenessEnabled") is True:
        zones = (cluster.get("zoneAwarenessConfig") or {}).get("availabilityZoneCount", 2)
        if isinstance(zones, (int, float)) and len(subnets) != zones:
            word = _COUNT_WORDS.get(int(zones), str(zones))
            yield (f"ValidationException: You must specify exactly {word} subnets because you've set zone count "
                   f"to {word}. ({len(subnets)} subnets given)")
    elif len(subnets) != 1:
        yield f"ValidationException: You must specify exactly one subnet. ({len(subnets)} subnets given)"


@rule("opensearch-zone-data-nodes", OPENSEARCH_DOMAIN,
      error="ValidationException: You must choose an even number of data nodes for a two Availability Zone "
            "deployment",
      # AWS OpenSearch Service Developer Guide, "Configuring a multi-AZ domain": data nodes are
      # spread evenly across the zones, so their number is a multiple of the zone count (even for
      # two zones, a multiple of three for three).
      source="https://docs.aws.amazon.com/opensearch-service/latest/developerguide/managedomains-multiaz.html")
def _data_nodes_per_zone(request: Request) -> Iterator[str]:
    cluster = request.inputs.get("clusterConfig") or {}
    if cluster.get("zoneAwarenessEnabled") is not True:
        return
    zones = (cluster.get("zoneAwarenessConfig") or {}).get("availabilityZoneCount", 2)
    count = cluster.get("instanceCount", 1)
    if isinstance(zones, (int, float)) and isinstance(count, (int, float)) and count % zones:
        if zones == 2:
            yield (f"ValidationException: You must choose an even number of data nodes for a two Availability "
                   f"Zone deployment ({count:g} data nodes)")
        else:
            yield (f"ValidationException: You must choose a number of data nodes that is a multiple of "
                   f"{zones:g} for a {zones:g} Availability Zone deployment ({count:g} data nodes)")
