"""Compute tier: the API behind its load balancer and the queue workers, both Auto Scaling groups
of Amazon Linux 2023 instances running the app's container, their launch templates, instance
roles and boot scripts, the traffic schedule's scheduled actions, and the app configuration
(Parameter Store) the instances read at boot."""
