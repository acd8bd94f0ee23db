"""The Queue component: SQS main queue and dead-letter queue, from phase 2."""

from __future__ import annotations

import pydantic
import pytest

from components.policy_documents import queue_tls_only_policy, redrive_allow_policy, redrive_policy
from phases.catalog import load_phase
from phases.models import Queue
from tests.support import build

QUEUE = "aws:sqs/queue:Queue"
MAIN, DLQ = "us-east-1-queue-main", "us-east-1-queue-dlq"


def source_names(resource, prop: str) -> list[str]:
    return sorted(urn.rsplit("::", 1)[1] for urn in resource.dependencies.get(prop, []))


@pytest.mark.parametrize(("phase", "queues"), [(1, []), (2, [DLQ, MAIN]), (3, [DLQ, MAIN]), (4, [DLQ, MAIN])])
def test_queue_exists_from_phase_2(phase, queues):
    assert sorted(r.name for r in build("prod", phase).of_type(QUEUE)) == queues


def test_main_queue_long_polls_and_redrives_to_the_dlq():
    plan = build("prod", 2)
    main = plan.named(MAIN, QUEUE)
    assert main.inputs["receiveWaitTimeSeconds"] == 20
    assert main.inputs["visibilityTimeoutSeconds"] == 60
    assert main.inputs["messageRetentionSeconds"] == 345600
    assert main.inputs["fifoQueue"] is False
    assert source_names(main, "redrivePolicy") == [DLQ]


def test_redrive_policy_moves_a_message_after_5_receives():
    policy = redrive_policy("arn:aws:sqs:us-east-1:123456789012:dlq", load_phase(2).queue.max_receive_count)
    assert policy == {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:dlq", "maxReceiveCount": 5}


def test_dlq_keeps_messages_14_days_and_accepts_only_the_main_queue():
    plan = build("prod", 3)
    dlq = plan.named(DLQ, QUEUE)
    assert dlq.inputs["messageRetentionSeconds"] == 1209600
    allow = plan.named(DLQ, "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy")
    assert source_names(allow, "queueUrl") == [DLQ]
    assert source_names(allow, "redriveAllowPolicy") == [MAIN]
    assert redrive_allow_policy("arn:main") == {
        "redrivePermission": "byQueue", "sourceQueueArns": ["arn:main"]}


def test_queues_are_encrypted_tls_only_and_protected_in_prod():
    plan = build("prod", 2)
    for name in (MAIN, DLQ):
        queue = plan.named(name, QUEUE)
        assert queue.inputs["sqsManagedSseEnabled"] is True
        assert queue.options["protect"] is True
        policy = plan.named(name, "aws:sqs/queuePolicy:QueuePolicy")
        assert source_names(policy, "policy") == [name]
    statement = queue_tls_only_policy("arn:q")["Statement"][0]
    assert statement["Effect"] == "Deny" and statement["Action"] == "sqs:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(not q.options["protect"] for q in build("dev", 2).of_type(QUEUE))


def test_queue_names_are_left_to_auto_naming():
    # A queue whose name changes is a new, empty queue: no phase may set one.
    for phase in (2, 3, 4):
        assert not [q for q in build("prod", phase).of_type(QUEUE) if {"name", "namePrefix"} & set(q.inputs)]


@pytest.mark.parametrize(("change", "message"), [
    ({"dlq_retention_seconds": 86400}, "dlq_retention_seconds (86400) must be >= message_retention_seconds (345600)"),
    ({"receive_wait_seconds": 21}, "less than or equal to 20"),
    ({"max_receive_count": 0}, "greater than or equal to 1"),
])
def test_queue_validation(change, message):
    document = {**load_phase(2).queue.model_dump(), **change}
    with pytest.raises(pydantic.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Queue.model_validate(document)
