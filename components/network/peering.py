"""One side of the inter-region VPC peering between a secondary region and the primary region,
the private path the secondary's API instances take to the primary's writer and cache.

Each side is its own args type, so a side cannot be half of one and half of the other.

Requester side (`RequesterPeeringArgs`: a secondary region, under its `Region`, through its provider): the
`aws.ec2.VpcPeeringConnection` from the region's VPC to the primary's (`-connection`), with
`peer_region` set and no `auto_accept` (AWS accepts an inter-region request only in the
accepter's region), and one `aws.ec2.Route` to the primary's VPC CIDR in each given table
(the region's private, app tables).

Accepter side (`AccepterPeeringArgs`: the primary region, under its `Region`, through its provider): the
`aws.ec2.VpcPeeringConnectionAccepter` accepting that connection (`-accepter`, `auto_accept`),
and one route to the secondary's VPC CIDR in each given table (the primary's private and
isolated tables: the database and cache answer from the isolated subnets).

Routes are separate resources named by their table (`-private-us-west-2a`, `-isolated`), so a
peering adds routes and never rewrites a table's other routes. Routes open nothing by
themselves: the data tier's security groups decide what crosses.

No DNS options are set on either side: the stores are not publicly accessible, and AWS's names
of such RDS instances, Aurora clusters and ElastiCache groups resolve to their private
addresses from any resolver, so the secondaries reach them by name without cross-VPC DNS
resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True, kw_only=True)
class _PeeringSideArgs:
    """What both sides of a peering give: the other side and this side's route tables."""

    peer_region: str
    """The region on the other side of the connection."""
    peer_cidr: str
    """The other side's VPC CIDR, the destination of this side's routes (catalog CIDRs never overlap)."""
    route_table_ids: Mapping[str, pulumi.Input[str]]
    """This side's tables that get a route to `peer_cidr`, by a stable key (`private-us-west-2a`, `isolated`)."""


@dataclass(frozen=True, kw_only=True)
class RequesterPeeringArgs(_PeeringSideArgs):
    """The requester side (a secondary region): it creates the connection from its VPC to the peer's."""

    vpc_id: pulumi.Input[str]
    """This side's VPC. Required."""
    peer_vpc_id: pulumi.Input[str]
    """The other side's VPC. Required."""


@dataclass(frozen=True, kw_only=True)
class AccepterPeeringArgs(_PeeringSideArgs):
    """The accepter side (the primary region): it accepts the requester's connection."""

    connection_id: pulumi.Input[str]
    """The peering connection to accept. Required."""


PeeringArgs = RequesterPeeringArgs | AccepterPeeringArgs
"""One side of a peering: the mode is the type."""


class Peering(pulumi.ComponentResource):
    connection_id: pulumi.Output[str]

    def __init__(self, name: str, args: PeeringArgs, opts: pulumi.ResourceOptions | None = None):
        if not isinstance(args, (RequesterPeeringArgs, AccepterPeeringArgs)):
            raise TypeError(f"{name}: PeeringArgs is RequesterPeeringArgs or AccepterPeeringArgs, "
                            f"got {type(args).__name__}")
        super().__init__("qnom:components:Peering", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        match args:
            case RequesterPeeringArgs():
                self.connection_id = self._request(args)
            case AccepterPeeringArgs():
                self.connection_id = self._accept(args)
        self._create_routes()
        self.register_outputs({"connection_id": self.connection_id})

    def _request(self, args: RequesterPeeringArgs) -> pulumi.Output[str]:
        # peer_region makes the request inter-region; auto_accept stays unset, the provider refuses
        # it beside peer_region. VPCs, peer region and owner are fixed for the connection's life
        # (a change replaces it), and all three come from the catalog and never change.
        connection = aws.ec2.VpcPeeringConnection(f"{self._name}-connection", aws.ec2.VpcPeeringConnectionArgs(
            vpc_id=args.vpc_id,
            peer_vpc_id=args.peer_vpc_id,
            peer_region=args.peer_region,
            tags={"Name": self._name},
        ), self._child)
        return connection.id

    def _accept(self, args: AccepterPeeringArgs) -> pulumi.Output[str]:
        # Deleting the accepter only forgets the connection; the requester's resource deletes it.
        accepter = aws.ec2.VpcPeeringConnectionAccepter(
            f"{self._name}-accepter", aws.ec2.VpcPeeringConnectionAccepterInitArgs(
                vpc_peering_connection_id=args.connection_id,
                auto_accept=True,
                tags={"Name": self._name},
            ), self._child)
        # The accepter's id is the connection's: routes taking it wait for the acceptance.
        return accepter.id

    def _create_routes(self) -> None:
        # A route to a connection still pending acceptance is accepted by AWS as a blackhole
        # and becomes active with the connection, so the requester's routes need not wait.
        for key, table_id in sorted(self._args.route_table_ids.items()):
            aws.ec2.Route(f"{self._name}-{key}", aws.ec2.RouteArgs(
                route_table_id=table_id,
                destination_cidr_block=self._args.peer_cidr,
                vpc_peering_connection_id=self.connection_id,
            ), self._child)
