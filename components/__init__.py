"""Pulumi components of the platform, one ComponentResource and its Args per module, by tier:
`network/`, `compute/`, `data/` and `edge/` (each says what it provisions). At the top: `Platform`
(the whole stack) and `Region` (one AWS region, with its explicit provider), which compose the
tiers, and what every tier shares: `defaults` (the secure defaults), `policy_documents` (IAM and
resource policies) and `stack_outputs` (the stack's exports)."""
