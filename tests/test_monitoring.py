"""The `Monitoring` component: the seed's alerts and KPIs as CloudWatch alarms on KMS-encrypted topics.

Plans come from `tests.support.build` with the default settings other tests build too.
"""

from __future__ import annotations

import json
import re

import pydantic
import pytest

from components.policy_documents import alert_key_policy, alert_topic_policy
from phases.catalog import load_phase
from tests.support import build

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"


def alarm(plan, region: str, key: str):
    return plan.named(f"{region}-monitoring-{key}", ALARM)


def action_names(plan, resource, prop: str = "alarmActions") -> list[str]:
    return sorted(plan.run.by_urn[urn].name for urn in resource.dependencies.get(prop, []))


def test_every_region_has_oncall_and_critical_topics_encrypted_with_its_key():
    plan = build("prod", 3)
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        for purpose in ("oncall", "critical"):
            topic = plan.named(f"{region}-monitoring-{purpose}", TOPIC)
            assert action_names(plan, topic, "kmsMasterKeyId") == [f"{region}-monitoring-alerts-key"]
            assert plan.region_of(topic) == region
        key = plan.named(f"{region}-monitoring-alerts-key")
        assert key.options["protect"] is True
        policy = json.loads(key.inputs["policy"]) if key.inputs["policy"] != "[unknown]" else None
        assert policy is None or policy["Statement"][1]["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}


def test_the_key_policy_lets_cloudwatch_use_the_key():
    document = alert_key_policy("123456789012", ["cloudwatch.amazonaws.com"])
    admin, publishers = document["Statement"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert publishers["Principal"] == {"Service": ["cloudwatch.amazonaws.com"]}
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]


def test_the_topic_policy_scopes_budgets_and_cost_alerts_to_the_account():
    document = alert_topic_policy("arn:aws:sns:us-east-1:123456789012:t", "123456789012",
                                  ["costalerts.amazonaws.com", "budgets.amazonaws.com"])
    budgets = next(s for s in document["Statement"] if s["Principal"] == {"Service": "budgets.amazonaws.com"})
    assert budgets["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"},
                                    "ArnLike": {"aws:SourceArn": "arn:aws:budgets::123456789012:*"}}
    alerts = next(s for s in document["Statement"] if s["Principal"] == {"Service": "costalerts.amazonaws.com"})
    assert alerts["Action"] == "sns:Publish" and "ArnLike" not in alerts["Condition"]


def test_no_subscription_without_an_alert_email():
    assert build("prod", 1).of_type("aws:sns/topicSubscription:TopicSubscription") == []


def test_high_response_time_is_p95_above_500_ms_for_5_minutes_and_scales_up():
    plan = build("prod", 3)
    high = alarm(plan, "us-east-1", "high-response-time")
    assert (high.inputs["extendedStatistic"], high.inputs["threshold"], high.inputs["period"],
            high.inputs["evaluationPeriods"], high.inputs["comparisonOperator"]) == (
        "p95", 0.5, 60, 5, "GreaterThanThreshold")
    assert high.inputs["namespace"] == "AWS/ApplicationELB" and high.inputs["metricName"] == "TargetResponseTime"
    assert action_names(plan, high) == ["us-east-1-api-scale-up", "us-east-1-monitoring-oncall"]


def test_a_fixed_group_has_no_scale_up_action_and_no_scaling_limit():
    plan = build("prod", 1)
    assert action_names(plan, alarm(plan, "us-east-1", "high-response-time")) == ["us-east-1-monitoring-oncall"]
    assert [r.name for r in plan.of_type(ALARM) if "scaling-limit" in r.name] == []


def test_high_error_rate_is_5xx_over_requests_above_1_percent_for_2_minutes():
    plan = build("prod", 2)
    high = alarm(plan, "us-east-1", "high-error-rate")
    assert (high.inputs["threshold"], high.inputs["evaluationPeriods"]) == (1, 2)
    queries = {query["id"]: query for query in high.inputs["metricQueries"]}
    assert queries["errorrate"]["expression"] == "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests"
    assert queries["errorrate"]["returnData"] is True
    assert {queries[q]["metric"]["metricName"] for q in ("target5xx", "elb5xx", "requests")} == {
        "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "RequestCount"}
    assert action_names(plan, high) == ["us-east-1-monitoring-oncall"]


@pytest.mark.parametrize(("phase", "region", "threshold"), [
    (2, "us-east-1", 5.4),    # max 6: 90% of it
    (3, "us-east-1", 18),     # max 20
    (3, "us-west-2", 9),      # max 10
    (4, "us-east-1", 45),     # max 50: the seed's 45
])
def test_scaling_limit_alerts_critical_at_45_or_90_percent_of_max(phase, region, threshold):
    plan = build("prod", phase)
    limit = alarm(plan, region, "scaling-limit-critical")
    assert (limit.inputs["threshold"], limit.inputs["evaluationPeriods"], limit.inputs["comparisonOperator"],
            limit.inputs["metricName"]) == (threshold, 1, "GreaterThanOrEqualToThreshold", "GroupInServiceInstances")
    assert action_names(plan, limit) == [f"{region}-monitoring-critical"]


@pytest.mark.parametrize(("key", "threshold", "topic"), [
    ("cpu-target", 60, "oncall"), ("cpu-critical", 80, "critical"),
    ("memory-target", 70, "oncall"), ("memory-critical", 85, "critical"),
    ("response-time-target", 0.2, "oncall"), ("error-rate-target", 0.1, "oncall"),
    ("queue-depth-target", 100, "oncall"), ("queue-depth-critical", 1000, "critical"),
    ("cache-hit-rate", 80, "oncall"),
])
def test_kpis_alarm_at_the_seed_levels(key, threshold, topic):
    plan = build("prod", 2)
    found = alarm(plan, "us-east-1", key)
    assert found.inputs["threshold"] == threshold
    assert action_names(plan, found) == [f"us-east-1-monitoring-{topic}"]


def test_database_connections_alarm_at_80_and_95_percent_of_max_connections():
    plan = build("prod", 3)  # max_connections 1000
    assert alarm(plan, "us-east-1", "db-primary-connections-target").inputs["threshold"] == 800
    assert alarm(plan, "us-east-1", "db-primary-connections-critical").inputs["threshold"] == 950
    lag = alarm(plan, "us-west-2", "db-replica-0-replica-lag")
    assert (lag.inputs["metricName"], lag.inputs["threshold"]) == ("ReplicaLag", 60)
    storage = alarm(plan, "us-east-1", "db-primary-free-space")
    assert storage.inputs["threshold"] == 100 * 1024 ** 3 * 0.1


def test_any_message_in_the_dlq_is_critical_and_the_policy_rule_sees_the_alarm():
    plan = build("dev", 2)
    dlq = alarm(plan, "us-east-1", "dlq-critical")
    assert (dlq.inputs["threshold"], dlq.inputs["comparisonOperator"], dlq.inputs["evaluationPeriods"]) == (
        0, "GreaterThanThreshold", 1)
    assert action_names(plan, dlq, "dimensions") == ["us-east-1-queue-dlq"]


def test_cache_hit_rate_averages_every_node_of_the_group():
    plan = build("prod", 3)
    hit = alarm(plan, "us-east-1", "cache-hit-rate")
    queries = {query["id"]: query for query in hit.inputs["metricQueries"]}
    assert queries["hitrate"]["expression"] == "AVG([node1, node2, node3])"
    assert queries["node1"]["metric"]["metricName"] == "CacheHitRate"


def test_anomaly_detection_alarms_from_phase_3():
    assert [r.name for r in build("prod", 2).of_type(ALARM) if "anomaly" in r.name] == []
    plan = build("prod", 3)
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        for key in ("requests-anomaly", "latency-anomaly"):
            found = alarm(plan, region, key)
            assert found.inputs["thresholdMetricId"] == "band"
            assert found.inputs["comparisonOperator"] == "GreaterThanUpperThreshold"
            band = next(q for q in found.inputs["metricQueries"] if q["id"] == "band")
            assert band["expression"] == "ANOMALY_DETECTION_BAND(metric, 2)"


@pytest.mark.parametrize(("change", "message"), [
    ({"cpu_percent": {"target": 90, "critical": 80}}, "cpu_percent.target (90.0) must be below cpu_percent.critical"),
    ({"availability_percent": {"target": 99, "critical": 99.5}}, "availability_percent.target (99.0) must be above"),
    ({"high_error_rate": {"threshold": 1, "minutes": 0}}, "greater than or equal to 1"),
])
def test_monitoring_levels_are_validated(change, message):
    with pytest.raises(pydantic.ValidationError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        load_phase(1, {"monitoring": change})


# Stack-wide: budgets, cost anomalies, availability ---------------------------------------

BUDGET = "aws:budgets/budget:Budget"


def notifications(budget) -> list[tuple]:
    return sorted((n["notificationType"], n["comparisonOperator"], n["threshold"], n["thresholdType"])
                  for n in budget.inputs["notifications"])


@pytest.mark.parametrize(("phase", "monthly", "daily"), [
    (1, "200.00", "6.67"), (2, "1500.00", "50.00"), (3, "10000.00", "333.33"), (4, "50000.00", "1666.67"),
])
def test_budgets_follow_the_phase_and_alert_as_the_seed_says(phase, monthly, daily):
    plan = build("prod", phase)
    month, day = plan.named("monitoring-monthly", BUDGET), plan.named("monitoring-daily", BUDGET)
    assert (month.inputs["limitAmount"], month.inputs["timeUnit"], month.inputs["name"]) == (
        monthly, "MONTHLY", "qnom-prod-monthly")
    assert notifications(month) == [("ACTUAL", "GREATER_THAN", 80, "PERCENTAGE"),
                                    ("FORECASTED", "GREATER_THAN", 100, "PERCENTAGE")]
    assert (day.inputs["limitAmount"], day.inputs["timeUnit"]) == (daily, "DAILY")
    assert notifications(day) == [("ACTUAL", "GREATER_THAN", 150, "PERCENTAGE")]
    assert month.inputs["costFilters"] == [{"name": "TagKeyValue", "values": ["user:environment$prod"]}]
    for budget in (month, day):
        assert plan.region_of(budget) == "us-east-1"
        assert action_names(plan, budget, "notifications") == ["monitoring-critical"]


def test_cost_anomalies_alert_the_critical_topic_immediately():
    plan = build("dev", 1)
    monitor = plan.named("monitoring-anomalies", "aws:costexplorer/anomalyMonitor:AnomalyMonitor")
    assert monitor.inputs["monitorType"] == "CUSTOM"
    assert json.loads(monitor.inputs["monitorSpecification"]) == {
        "Tags": {"Key": "environment", "Values": ["dev"], "MatchOptions": ["EQUALS"]}}
    subscription = plan.named("monitoring-anomalies", "aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert subscription.inputs["frequency"] == "IMMEDIATE"
    assert action_names(plan, subscription, "subscribers") == ["monitoring-critical"]
    # Half of phase 1's daily budget ($200 / 30 = $6.67): the seed's day 50% above budget.
    assert subscription.inputs["thresholdExpression"]["dimension"]["values"] == ["3.33"]


def test_the_stack_topic_key_serves_cloudwatch_budgets_and_cost_alerts():
    plan = build("dev", 1)
    key = plan.named("monitoring-alerts-key")
    if key.inputs["policy"] != "[unknown]":
        services = json.loads(key.inputs["policy"])["Statement"][1]["Principal"]["Service"]
        assert services == ["budgets.amazonaws.com", "cloudwatch.amazonaws.com", "costalerts.amazonaws.com"]
    assert action_names(plan, plan.named("monitoring-critical", TOPIC), "kmsMasterKeyId") == ["monitoring-alerts-key"]


@pytest.mark.parametrize(("suffix", "threshold", "topic"), [("target", 99.9, "oncall"), ("critical", 99.5, "critical")])
def test_availability_per_region_from_route53_health_checks(suffix, threshold, topic):
    plan = build("prod", 3)
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        found = plan.named(f"monitoring-availability-{region}-{suffix}", ALARM)
        assert (found.inputs["namespace"], found.inputs["metricName"], found.inputs["threshold"],
                found.inputs["period"]) == ("AWS/Route53", "HealthCheckPercentageHealthy", threshold, 86400)
        assert action_names(plan, found, "dimensions") == [f"dns-health-{region}"]
        assert action_names(plan, found) == [f"monitoring-{topic}"]
        assert plan.region_of(found) == "us-east-1"  # Route 53 publishes health metrics there only


def test_no_availability_alarm_without_a_domain():
    assert [r.name for r in build("dev", 3).of_type(ALARM) if "availability" in r.name] == []


def test_an_alert_email_subscribes_to_every_topic():
    # The one extra variant of this settings (shared with tests/test_cost.py).
    plan = build("dev", 1, alertEmail="oncall@example.com", costProfile="optimised")
    subscriptions = plan.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert sorted(s.name for s in subscriptions) == [
        "monitoring-critical-email", "monitoring-oncall-email",
        "us-east-1-monitoring-critical-email", "us-east-1-monitoring-oncall-email"]
    assert {(s.inputs["protocol"], s.inputs["endpoint"]) for s in subscriptions} == {("email", "oncall@example.com")}
    daily = plan.named("monitoring-anomalies-daily", "aws:costexplorer/anomalySubscription:AnomalySubscription")
    assert daily.inputs["frequency"] == "DAILY"
    assert daily.inputs["subscribers"] == [{"type": "EMAIL", "address": "oncall@example.com"}]


# Dashboard -------------------------------------------------------------------------------

# The metrics the dashboard may name, as AWS documents them (CloudWatch metrics of Application Load
# Balancers, Auto Scaling groups, RDS, ElastiCache for Redis OSS, and the billing metric).
KNOWN_METRICS = {
    ("AWS/ApplicationELB", "RequestCount"): {"LoadBalancer"},
    ("AWS/ApplicationELB", "TargetResponseTime"): {"LoadBalancer"},
    ("AWS/AutoScaling", "GroupInServiceInstances"): {"AutoScalingGroupName"},
    ("AWS/RDS", "DatabaseConnections"): {"DBInstanceIdentifier"},
    ("AWS/ElastiCache", "CacheHitRate"): {"CacheClusterId"},
    ("AWS/Billing", "EstimatedCharges"): {"Currency"},
}


def sample_body(phase: int = 3) -> dict:
    from components.observability.monitoring import DashboardRegion, region_widgets
    from components.observability.stack_monitoring import dashboard_body

    catalog = load_phase(phase)
    widgets = {spec.name: region_widgets(DashboardRegion(
        region=spec.name, alb_arn_suffix=f"app/{spec.name}-alb/0123", api_group_name=f"{spec.name}-api",
        api_capacity=spec.api, database_identifiers=[f"{spec.name}-db-{i}" for i in range(spec.db_read_replicas + 1)],
        cache_node_ids=[f"{spec.name}-cache-{i:03d}" for i in range(1, spec.cache_nodes + 1)],
    ), catalog.monitoring, catalog.database.max_connections) for spec in catalog.regions}
    suffixes = {spec.name: f"app/{spec.name}-alb/0123" for spec in catalog.regions}
    return json.loads(json.dumps(dashboard_body(widgets, suffixes, catalog.budget, catalog.monitoring)))


def test_the_dashboard_body_is_valid_cloudwatch_dashboard_json_naming_metrics_that_exist():
    body = sample_body()
    assert set(body) == {"widgets"}
    for widget in body["widgets"]:
        assert widget["type"] == "metric" and set(widget) == {"type", "x", "y", "width", "height", "properties"}
        assert 0 <= widget["x"] and widget["x"] + widget["width"] <= 24  # the dashboard grid is 24 wide
        properties = widget["properties"]
        assert properties["region"] in ("us-east-1", "us-west-2", "eu-west-1")
        ids = {row[-1]["id"] for row in properties["metrics"] if isinstance(row[-1], dict) and "id" in row[-1]}
        for row in properties["metrics"]:
            if isinstance(row[0], dict):  # an expression row names only ids of this widget's metrics
                assert set(re.findall(r"\b[a-z][a-z0-9]*\b", row[0]["expression"])) <= ids, row
                continue
            namespace, name, *rest = row
            dimensions = rest[:-1] if isinstance(rest[-1], dict) else rest
            assert (namespace, name) in KNOWN_METRICS, (namespace, name)
            assert set(dimensions[0::2]) == KNOWN_METRICS[(namespace, name)]


def test_the_dashboard_has_the_seed_panels_per_region_and_the_cost_panels():
    titles = [widget["properties"]["title"] for widget in sample_body()["widgets"]]
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        assert [t.removesuffix(f" ({region})") for t in titles if t.endswith(f"({region})")] == [
            "Request rate (requests/s)", "Response time p95 (s)", "Active API instances", "Database connections",
            "Cache hit rate (%)"]
    assert titles[-2:] == ["Cost per hour (USD)", "Cost per request (USD)"]
    instances = next(w for w in sample_body()["widgets"] if w["properties"]["title"] == "Active API instances (us-east-1)")
    assert instances["properties"]["annotations"]["horizontal"] == [
        {"value": 10, "label": "phase min"}, {"value": 20, "label": "phase max"}]
    per_request = sample_body()["widgets"][-1]["properties"]
    assert per_request["annotations"]["horizontal"] == [{"value": 0.001, "label": "seed target"}]


def test_the_stack_has_one_dashboard():
    plan = build("prod", 3)
    [dashboard] = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == "qnom-prod-scaling" and plan.region_of(dashboard) == "us-east-1"


def test_the_api_boot_script_runs_the_cloudwatch_agent_for_the_memory_alarms():
    from components.compute import userdata

    script = userdata.api_user_data(image="public.ecr.aws/qnom/api:stable", port=3000, health_path="/health",
                                    region="us-east-1", config_path="/qnom/prod/app", session_secret_id="s")
    assert "retry dnf install -y amazon-cloudwatch-agent" in script
    config = json.loads(script.split("<<'JSON'\n", 1)[1].split("\nJSON\n", 1)[0])
    metrics = config["metrics"]
    # The memory alarms read CWAgent mem_used_percent by AutoScalingGroupName.
    assert metrics["namespace"] == "CWAgent"
    assert metrics["metrics_collected"]["mem"]["measurement"] == ["mem_used_percent"]
    assert metrics["aggregation_dimensions"] == [["AutoScalingGroupName"]]
    assert metrics["append_dimensions"]["AutoScalingGroupName"] == "${aws:AutoScalingGroupName}"
    assert "amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s" in script


def test_predictive_scaling_on_each_api_group_from_phase_3():
    policy_type = "aws:autoscaling/policy:Policy"
    assert [r.name for r in build("prod", 2).of_type(policy_type) if r.name.endswith("-predictive")] == []
    plan = build("prod", 3)
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        policy = plan.named(f"{region}-api-predictive", policy_type)
        config = policy.inputs["predictiveScalingConfiguration"]
        assert (policy.inputs["policyType"], config["mode"], config["maxCapacityBreachBehavior"]) == (
            "PredictiveScaling", "ForecastAndScale", "HonorMaxCapacity")
        spec = config["metricSpecification"]
        assert spec["targetValue"] == 1000  # the seed's RequestCountPerTarget target
        assert spec["predefinedMetricPairSpecification"]["predefinedMetricType"] == "ALBRequestCount"
        assert action_names(plan, policy, "autoscalingGroupName") == [f"{region}-api-asg"]
        assert f"{region}-api-https" in [plan.run.by_urn[urn].name for urn in policy.options["dependsOn"]]


def test_search_alarms_on_red_status_and_free_storage_from_phase_3():
    assert [r.name for r in build("prod", 2).of_type(ALARM) if "search" in r.name] == []
    plan = build("prod", 3)
    red = alarm(plan, "us-east-1", "search-red-critical")
    assert (red.inputs["namespace"], red.inputs["metricName"], red.inputs["threshold"]) == ("AWS/ES", "ClusterStatus.red", 1)
    assert action_names(plan, red, "dimensions") == ["us-east-1-search-domain"]
    free = alarm(plan, "us-east-1", "search-free-space")
    assert free.inputs["threshold"] == 100 * 1024 * 0.1  # 10% of the catalog's 100 GiB, in MiB
    assert [r.name for r in plan.of_type(ALARM) if r.name.startswith("us-west-2-monitoring-search")] == []


# --------------------------------------------------------------------------- Kubernetes workloads

@pytest.mark.parametrize(("key", "metric", "threshold", "topic"), [
    # The seed's CPU (60/80%) and memory (70/85%) KPIs on the EKS nodes, any failed node.
    ("k8s-node-cpu-target", "node_cpu_utilization", 60, "oncall"),
    ("k8s-node-cpu-critical", "node_cpu_utilization", 80, "critical"),
    ("k8s-node-memory-target", "node_memory_utilization", 70, "oncall"),
    ("k8s-node-memory-critical", "node_memory_utilization", 85, "critical"),
    ("k8s-failed-nodes-critical", "cluster_failed_node_count", 0, "critical"),
])
def test_eks_nodes_alarm_at_the_seed_levels_from_container_insights(key, metric, threshold, topic):
    plan = build("prod", 3)
    for region in ("us-east-1", "us-west-2", "eu-west-1"):
        found = alarm(plan, region, key)
        assert (found.inputs["namespace"], found.inputs["metricName"], found.inputs["threshold"]) == (
            "ContainerInsights", metric, threshold)
        assert found.inputs["dimensions"] == {"ClusterName": "qnom-prod"}
        assert action_names(plan, found) == [f"{region}-monitoring-{topic}"]


@pytest.mark.parametrize(("service", "minimum"), [
    # The seed's Service Decomposition replicas; the API gateway's HPA minimum is the seed HPA's 3.
    ("api-gateway", 3), ("auth-service", 3), ("user-service", 3), ("order-service", 5), ("notification-service", 2),
])
def test_every_service_alarms_below_its_hpa_minimum(service, minimum):
    found = alarm(build("prod", 3), "us-east-1", f"k8s-{service}-pods")
    assert (found.inputs["metricName"], found.inputs["threshold"], found.inputs["comparisonOperator"]) == (
        "service_number_of_running_pods", minimum, "LessThanThreshold")
    assert found.inputs["dimensions"] == {"ClusterName": "qnom-prod", "Namespace": service, "Service": service}
    assert found.inputs["treatMissingData"] == "breaching"  # no pods publish no datapoints


def test_container_insights_runs_with_its_own_pod_identity():
    plan = build("prod", 3)
    addon = plan.named("us-east-1-k8s-amazon-cloudwatch-observability", "aws:eks/addon:Addon")
    assert addon.inputs["podIdentityAssociations"][0]["serviceAccount"] == "cloudwatch-agent"
    role = plan.named("us-east-1-k8s-cloudwatch-agent", "aws:iam/role:Role")
    assert "pods.eks.amazonaws.com" in role.inputs["assumeRolePolicy"]
    assert [alarm for alarm in build("prod", 2).of_type(ALARM) if "-k8s-" in alarm.name] == []
