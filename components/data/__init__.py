"""Data tier: PostgreSQL (RDS, then Aurora), the Redis cache (ElastiCache, then a global
datastore), the SQS job queue, object storage (S3) and, from phase 3, search (OpenSearch); every
store encrypted with a key of its own, private, and protected in prod."""
