"""Network tier: each region's VPC over three availability zones (public, private and isolated
subnets, an internet gateway, NAT gateways or phase 1's NAT instance, an S3 gateway endpoint, flow
logs) and, from phase 3, the VPC peering between each secondary region and the primary."""
