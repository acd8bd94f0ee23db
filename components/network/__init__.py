"""Network tier: each region's VPC over three availability zones (public, private and isolated
subnets, internet and NAT gateways, an S3 gateway endpoint, flow logs) and, from phase 3, the VPC
peering between each secondary region and the primary."""
