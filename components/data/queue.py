"""Job queue of one region (phase 2 on): an SQS queue and its dead-letter queue.

Creates: the dead-letter queue (`-dlq`), the main queue (`-main`) redriving to it after the
phase's receive count, the DLQ's redrive-allow policy naming only the main queue, and a
TLS-only queue policy on each. Both queues use SQS-managed encryption (SSE-SQS) and long
polling. The async workers consume the main queue.

Queue names are left to Pulumi's auto-naming and `fifo_queue` is false in every phase: SQS
replaces a queue whose name or FIFO setting changes, and a replaced queue loses its messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import defaults
from components import policy_documents as documents
from phases.environment import EnvironmentProfile
from phases.models import Queue as QueueSpec


@dataclass(frozen=True)
class QueueArgs:
    spec: QueueSpec
    """The phase's `queue` block: visibility timeout, retention, long polling, redrive count."""
    profile: EnvironmentProfile
    """Environment profile: protection of the queues in prod."""


class Queue(pulumi.ComponentResource):
    queue_arn: pulumi.Output[str]
    queue_url: pulumi.Output[str]
    queue_name: pulumi.Output[str]
    dlq_arn: pulumi.Output[str]
    dlq_url: pulumi.Output[str]
    dlq_name: pulumi.Output[str]

    def __init__(self, name: str, args: QueueArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Queue", name, None, opts)
        self._name, self._spec = name, args.spec
        self._child = pulumi.ResourceOptions(parent=self)
        self._stateful = defaults.stateful_options(self._child, args.profile)

        self._dlq = self._create_dead_letter_queue()
        self._queue = self._create_main_queue()
        self._allow_redrive_from_main_only()
        self._require_tls(self._dlq, "dlq")
        self._require_tls(self._queue, "main")

        self.queue_arn = self._queue.arn
        self.queue_url = self._queue.url
        self.queue_name = self._queue.name
        self.dlq_arn = self._dlq.arn
        self.dlq_url = self._dlq.url
        self.dlq_name = self._dlq.name

        self.register_outputs({
            "queue_arn": self.queue_arn,
            "queue_url": self.queue_url,
            "queue_name": self.queue_name,
            "dlq_arn": self.dlq_arn,
            "dlq_url": self.dlq_url,
            "dlq_name": self.dlq_name,
        })

    def _create_dead_letter_queue(self) -> aws.sqs.Queue:
        return aws.sqs.Queue(f"{self._name}-dlq", aws.sqs.QueueArgs(
            fifo_queue=False,
            message_retention_seconds=self._spec.dlq_retention_seconds,
            sqs_managed_sse_enabled=True,
        ), self._stateful)

    def _create_main_queue(self) -> aws.sqs.Queue:
        spec = self._spec
        return aws.sqs.Queue(f"{self._name}-main", aws.sqs.QueueArgs(
            fifo_queue=False,
            visibility_timeout_seconds=spec.visibility_timeout_seconds,
            message_retention_seconds=spec.message_retention_seconds,
            receive_wait_time_seconds=spec.receive_wait_seconds,
            sqs_managed_sse_enabled=True,
            redrive_policy=documents.to_json(documents.redrive_policy(self._dlq.arn, spec.max_receive_count)),
        ), self._stateful)

    def _allow_redrive_from_main_only(self) -> None:
        # A separate resource: in the DLQ's own arguments the main queue's ARN would make the
        # two queues depend on each other.
        aws.sqs.RedriveAllowPolicy(f"{self._name}-dlq", aws.sqs.RedriveAllowPolicyArgs(
            queue_url=self._dlq.url,
            redrive_allow_policy=documents.to_json(documents.redrive_allow_policy(self._queue.arn)),
        ), self._child)

    def _require_tls(self, queue: aws.sqs.Queue, role: str) -> None:
        aws.sqs.QueuePolicy(f"{self._name}-{role}", aws.sqs.QueuePolicyArgs(
            queue_url=queue.url,
            policy=documents.to_json(documents.queue_tls_only_policy(queue.arn)),
        ), self._child)
