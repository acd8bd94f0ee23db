"""Edge tier: the CloudFront distribution with its static-asset bucket, the web ACLs (CDN and
load balancers), and, with a domain, Route 53 routing over the regions, health checks and the
DNS-validated ACM certificates."""
