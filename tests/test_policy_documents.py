"""Policy documents in one module (`components/policy_documents.py`), serialised with
`pulumi.Output.json_dumps`: no component writes a document with `json.dumps` inside an `.apply`."""

from __future__ import annotations

import ast
import json

import pytest

from components import policy_documents as documents
from qnom.engine import PROJECT_DIR
from tests.support import build


def test_no_component_serialises_a_document_itself():
    offenders = []
    for path in sorted((PROJECT_DIR / "components").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(alias.name == "json" for alias in node.names):
                offenders.append(path.name)
    assert offenders == []


def test_plain_inputs_give_plain_documents():
    policy = documents.cloudfront_read_policy("arn:aws:s3:::static", "/static/*",
                                              "arn:aws:cloudfront::1:distribution/E1")
    read, deny = policy["Statement"]
    assert read["Resource"] == "arn:aws:s3:::static/static/*"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}
    assert deny["Resource"] == ["arn:aws:s3:::static", "arn:aws:s3:::static/*"]
    flow = documents.flow_log_delivery_policy("arn:aws:logs:us-east-1:1:log-group:flow")
    assert flow["Statement"][0]["Resource"] == "arn:aws:logs:us-east-1:1:log-group:flow:*"
    alb = documents.load_balancer_log_bucket_policy("arn:aws:s3:::logs", "alb", "123456789012",
                                                    "arn:aws:iam::127311923021:root")
    assert alb["Statement"][0]["Resource"] == "arn:aws:s3:::logs/alb/AWSLogs/123456789012/*"
    config = documents.read_config_policy("eu-west-1", "123456789012", "/qnom/prod/app")
    assert [s["Resource"] for s in config["Statement"]] == [
        "arn:aws:ssm:eu-west-1:123456789012:parameter/qnom/prod/app",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/qnom/prod/app/*"]


@pytest.mark.parametrize(("name", "resource_type", "key"), [
    ("us-east-1-api-instance-config", "aws:iam/rolePolicy:RolePolicy", "policy"),
    ("us-east-1-network-flow-logs", "aws:iam/role:Role", "assumeRolePolicy"),
])
def test_documents_known_in_preview_are_shown_whole(name, resource_type, key):
    # The configuration grant names only the region, the account and the path: known in a preview.
    document = json.loads(build("prod", 2).named(name, resource_type).inputs[key])
    assert document["Version"] == "2012-10-17"
    assert document["Statement"]
