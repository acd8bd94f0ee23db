"""Monitoring of one region: its alert topics and the seed's alerts and KPIs as CloudWatch alarms.

Creates, under the component (every resource in the region's provider, since CloudWatch alarms
act only on SNS topics of their own region):
- a KMS key for the topics, whose key policy lets CloudWatch use it, and two SNS topics encrypted
  with it: `oncall` (KPI targets passed, the seed's `alert_oncall`) and `critical` (KPI critical
  levels passed, the seed's `alert_critical`); with `qnom:alertEmail` an e-mail subscription on
  each (a paging integration is one more `https` subscription: see the README);
- the seed's dashboard alerts: HighResponseTime (load balancer p95 target response time above
  500 ms for 5 minutes: the API group's scale-up step, where the phase scales, and on-call),
  HighErrorRate (5xx over requests above 1% for 2 minutes, by metric math: on-call) and
  ScalingLimit (in-service API instances at 45 or 90% of the group's max when that is lower, for
  1 minute: critical; only for a group that can grow);
- the seed's KPIs at their target (on-call) and critical (critical) levels: response time, error
  rate, CPU of the API group, memory of the API group (the CloudWatch agent of the boot script),
  database connections as a share of the catalog's `max_connections` (the value the parameter
  group sets), replica lag and free storage of every database instance of the region, cache hit
  rate over the cache's nodes and, in the primary region, from phase 2 queue depth and any
  message in the dead-letter queue, from phase 3 the search domain's red status and free storage;
- with `anomaly_detection` (phase 3 on): CloudWatch anomaly-detection alarms on the request
  count and the p95 response time, beside the fixed thresholds (on-call).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import defaults
from components import policy_documents as documents
from phases import models
from phases.environment import EnvironmentProfile

PERIOD_SECONDS = 60
"""Every alarm judges one-minute periods, the granularity of the seed's durations (5m, 2m, 1m)."""
WARNING_MINUTES = 5
"""How long a KPI must sit past its target before on-call hears of it: the seed's HighResponseTime
duration, so a single slow minute pages nobody."""
ANOMALY_BAND_WIDTH = 2
"""Standard deviations of CloudWatch's anomaly-detection band (its console default)."""
CLOUDWATCH = "cloudwatch.amazonaws.com"
GIB = 1024 ** 3
MEMORY_METRIC = ("CWAgent", "mem_used_percent")
"""Namespace and name of the memory metric the boot script's CloudWatch agent publishes,
aggregated by Auto Scaling group (components/compute/templates/api-user-data.sh.tpl)."""


@dataclass(frozen=True)
class MonitoredDatabase:
    """One RDS instance of the region and its role ("primary" or "replica")."""

    identifier: pulumi.Input[str]
    role: str


@dataclass(frozen=True)
class MonitoredQueue:
    """The job queue and its dead-letter queue (primary region, phase 2 on)."""

    queue_name: pulumi.Input[str]
    dlq_name: pulumi.Input[str]


@dataclass(frozen=True)
class MonitoredCluster:
    """An EKS cluster publishing Container Insights metrics, and its services' minimum pods."""

    name: str
    """The cluster's name (the metrics' ClusterName dimension)."""
    minimum_pods: Mapping[str, int]
    """Service (its namespace and Kubernetes Service share the name) -> the HPA's minimum replicas."""


@dataclass(frozen=True)
class MonitoringArgs:
    region: str
    """AWS region of the alarms and topics (the parent Region's provider)."""
    spec: models.Monitoring
    """The phase's KPI levels and alert rules (catalog `monitoring`)."""
    profile: EnvironmentProfile
    """Environment profile: the topic key's deletion window and protection."""
    api_group_name: pulumi.Input[str]
    """The API's Auto Scaling group."""
    api_capacity: models.Capacity
    """The region's API capacity: ScalingLimit's threshold follows its max."""
    alb_arn_suffix: pulumi.Input[str]
    """The API load balancer's ARN suffix (CloudWatch's `LoadBalancer` dimension)."""
    database_max_connections: int
    """The database's `max_connections` (catalog; the parameter group sets it)."""
    database_storage_gb: int
    """Allocated storage of an RDS instance, GiB (catalog)."""
    scale_up_policy_arn: pulumi.Input[str] | None = None
    """The API group's scale-up step, HighResponseTime's first action; default None (fixed group)."""
    databases: Sequence[MonitoredDatabase] = ()
    """The region's RDS instances; default none."""
    cache_group_id: pulumi.Input[str] | None = None
    """The serving cache's replication group id; default None: no cache alarm."""
    cache_nodes: int = 0
    """Nodes of that group (their ids are `<group>-001`, `-002`, ...); default 0."""
    queue: MonitoredQueue | None = None
    """The job queue (primary region, phase 2 on); default None."""
    search_domain_name: pulumi.Input[str] | None = None
    """The search domain (primary region, phase 3 on); default None: no search alarms."""
    search_volume_gb: int = 0
    """EBS volume of each search data node, GiB (catalog); default 0."""
    anomaly_detection: bool = False
    """Anomaly-detection alarms on request count and p95 latency; default False."""
    alert_email: str | None = None
    """Address subscribed to both topics (`qnom:alertEmail`); default None: no subscription."""
    kubernetes: MonitoredCluster | None = None
    """The region's EKS cluster (phase 3 on), whose Container Insights metrics get alarms; default None."""


class Monitoring(pulumi.ComponentResource):
    oncall_topic_arn: pulumi.Output[str]
    critical_topic_arn: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    widgets: list[dict]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:Monitoring", name, None, opts)
        self._name, self._args, self._spec = name, args, args.spec
        self._child = pulumi.ResourceOptions(parent=self)
        self._key = self._create_key()
        self._oncall = self._create_topic("oncall")
        self._critical = self._create_topic("critical")
        self._create_api_alerts()
        self._create_api_kpis()
        self._create_database_alarms()
        self._create_cache_alarm()
        self._create_queue_alarms()
        self._create_search_alarms()
        self._create_anomaly_alarms()
        self._create_kubernetes_alarms()
        self.widgets = self._dashboard_widgets()
        self.oncall_topic_arn = self._oncall.arn
        self.critical_topic_arn = self._critical.arn
        self.kms_key_arn = self._key.arn
        self.register_outputs({
            "oncall_topic_arn": self.oncall_topic_arn,
            "critical_topic_arn": self.critical_topic_arn,
            "kms_key_arn": self.kms_key_arn,
        })

    # Topics ---------------------------------------------------------------------------------

    def _create_key(self) -> aws.kms.Key:
        return create_alert_key(self, self._name, [CLOUDWATCH], self._args.profile, self._child)

    def _create_topic(self, purpose: str) -> aws.sns.Topic:
        return create_alert_topic(f"{self._name}-{purpose}", f"qnom {purpose} {self._args.region}", self._key,
                                  self._args.alert_email, self._child)

    # Dashboard ------------------------------------------------------------------------------

    def _dashboard_widgets(self) -> list[dict]:
        args = self._args
        return region_widgets(DashboardRegion(
            region=args.region, alb_arn_suffix=args.alb_arn_suffix, api_group_name=args.api_group_name,
            api_capacity=args.api_capacity, database_identifiers=[db.identifier for db in args.databases],
            cache_node_ids=[node_id(args.cache_group_id, index) for index in range(1, args.cache_nodes + 1)]
            if args.cache_group_id is not None else [],
        ), self._spec, args.database_max_connections)

    # Alarms ---------------------------------------------------------------------------------

    def _alarm(self, key: str, description: str, actions: Sequence[pulumi.Input[str]], **alarm) -> None:
        alarm.setdefault("period", PERIOD_SECONDS)
        alarm.setdefault("evaluation_periods", WARNING_MINUTES)
        alarm.setdefault("treat_missing_data", "notBreaching")
        # Metric-math alarms carry their period inside each query.
        if "metric_queries" in alarm:
            alarm.pop("period")
        aws.cloudwatch.MetricAlarm(f"{self._name}-{key}", aws.cloudwatch.MetricAlarmArgs(
            alarm_description=description,
            alarm_actions=list(actions),
            ok_actions=[self._oncall.arn] if key.endswith("critical") else [],
            **alarm,
        ), self._child)

    def _load_balancer(self, metric: str, **metric_alarm) -> dict:
        return dict(namespace="AWS/ApplicationELB", metric_name=metric,
                    dimensions={"LoadBalancer": self._args.alb_arn_suffix}, **metric_alarm)

    def _create_api_alerts(self) -> None:
        spec, args = self._spec, self._args
        slow = spec.high_response_time
        actions = [args.scale_up_policy_arn, self._oncall.arn] if args.scale_up_policy_arn else [self._oncall.arn]
        # TargetResponseTime is in seconds (Elastic Load Balancing User Guide, "CloudWatch metrics
        # for your Application Load Balancer"); the seed's thresholds are in milliseconds.
        self._alarm("high-response-time",
                    f"HighResponseTime: API p95 response time above {slow.threshold:g} ms for {slow.minutes} "
                    "minutes: scale up and alert on-call", actions,
                    **self._load_balancer("TargetResponseTime", extended_statistic="p95"),
                    evaluation_periods=slow.minutes, threshold=slow.threshold / 1000,
                    comparison_operator="GreaterThanThreshold")
        errors = spec.high_error_rate
        self._alarm("high-error-rate",
                    f"HighErrorRate: 5xx above {errors.threshold:g}% of API requests for {errors.minutes} minutes",
                    [self._oncall.arn], metric_queries=self._error_rate_queries(),
                    evaluation_periods=errors.minutes, threshold=errors.threshold,
                    comparison_operator="GreaterThanThreshold")
        capacity = args.api_capacity
        if capacity.min < capacity.max:
            # A fixed group always runs at its max: the alarm would never clear.
            limit = spec.scaling_limit
            threshold = limit.threshold(capacity.max)
            self._alarm("scaling-limit-critical",
                        f"ScalingLimit: {threshold:g} or more API instances in service (max {capacity.max}) "
                        f"for {limit.minutes} minute(s)", [self._critical.arn],
                        namespace="AWS/AutoScaling", metric_name="GroupInServiceInstances",
                        dimensions={"AutoScalingGroupName": args.api_group_name}, statistic="Maximum",
                        evaluation_periods=limit.minutes, threshold=threshold,
                        comparison_operator="GreaterThanOrEqualToThreshold")

    def _error_rate_queries(self) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
        """100 x (target + load balancer 5xx) / requests; a minute without 5xx has no datapoint, so FILL."""
        def metric(query_id: str, name: str) -> aws.cloudwatch.MetricAlarmMetricQueryArgs:
            return aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=query_id, return_data=False,
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace="AWS/ApplicationELB", metric_name=name, period=PERIOD_SECONDS, stat="Sum",
                    dimensions={"LoadBalancer": self._args.alb_arn_suffix},
                ))
        return [
            metric("target5xx", "HTTPCode_Target_5XX_Count"),
            metric("elb5xx", "HTTPCode_ELB_5XX_Count"),
            metric("requests", "RequestCount"),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="errorrate", return_data=True, label="5xx share of requests (%)",
                expression="100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests",
            ),
        ]

    def _levels(self, key: str, what: str, level: models.Level, unit: str, above: bool = True, **metric) -> None:
        """A KPI's two alarms: past its target (on-call) and past its critical level (critical)."""
        comparison = "GreaterThanThreshold" if above else "LessThanThreshold"
        word = "above" if above else "below"
        for suffix, value, topic in (("target", level.target, self._oncall), ("critical", level.critical, self._critical)):
            self._alarm(f"{key}-{suffix}", f"{what} {word} its {suffix} of {value:g}{unit} for {WARNING_MINUTES} minutes",
                        [topic.arn], threshold=value, comparison_operator=comparison, **metric)

    def _create_api_kpis(self) -> None:
        spec, group = self._spec, {"AutoScalingGroupName": self._args.api_group_name}
        # Only the target level: HighResponseTime and HighErrorRate are the critical levels.
        self._alarm("response-time-target",
                    f"API p95 response time above its target of {spec.response_time_ms.target:g} ms",
                    [self._oncall.arn], **self._load_balancer("TargetResponseTime", extended_statistic="p95"),
                    threshold=spec.response_time_ms.target / 1000, comparison_operator="GreaterThanThreshold")
        rate = self._error_rate_queries()
        self._alarm("error-rate-target", f"5xx above the target of {spec.error_rate_percent.target:g}% of requests",
                    [self._oncall.arn], metric_queries=rate, threshold=spec.error_rate_percent.target,
                    comparison_operator="GreaterThanThreshold")
        self._levels("cpu", "Average CPU of the API group", spec.cpu_percent, "%",
                     namespace="AWS/EC2", metric_name="CPUUtilization", dimensions=group, statistic="Average")
        self._levels("memory", "Average memory use of the API group", spec.memory_percent, "%",
                     namespace=MEMORY_METRIC[0], metric_name=MEMORY_METRIC[1], dimensions=group, statistic="Average")

    def _create_database_alarms(self) -> None:
        spec, args = self._spec, self._args
        limit = args.database_max_connections
        connections = models.Level(target=round(limit * spec.connections_percent.target / 100),
                                   critical=round(limit * spec.connections_percent.critical / 100))
        free_bytes = args.database_storage_gb * GIB * spec.free_storage_percent / 100
        for index, database in enumerate(args.databases):
            key = "db-primary" if database.role == "primary" else f"db-replica-{index}"
            instance = {"DBInstanceIdentifier": database.identifier}
            self._levels(f"{key}-connections", f"Connections of {key} ({spec.connections_percent.target:g}/"
                         f"{spec.connections_percent.critical:g}% of max_connections {limit})", connections, "",
                         namespace="AWS/RDS", metric_name="DatabaseConnections", dimensions=instance,
                         statistic="Maximum")
            self._alarm(f"{key}-free-space", f"Free storage of {key} below {spec.free_storage_percent}% of "
                        f"{args.database_storage_gb} GiB", [self._oncall.arn],
                        namespace="AWS/RDS", metric_name="FreeStorageSpace", dimensions=instance,
                        statistic="Minimum", threshold=free_bytes, comparison_operator="LessThanThreshold")
            if database.role == "replica":
                self._alarm(f"{key}-replica-lag", f"Replica lag of {key} above {spec.replica_lag_seconds} s",
                            [self._oncall.arn], namespace="AWS/RDS", metric_name="ReplicaLag",
                            dimensions=instance, statistic="Maximum", threshold=spec.replica_lag_seconds,
                            comparison_operator="GreaterThanThreshold")

    def _create_cache_alarm(self) -> None:
        args = self._args
        if args.cache_group_id is None or args.cache_nodes < 1:
            return
        # ElastiCache publishes per node; the nodes of a cluster-mode-disabled group are named
        # <group id>-001, -002, ... (ElastiCache User Guide, "Metrics for Redis OSS": CacheHitRate;
        # "Replication: Redis OSS (cluster mode disabled)").
        queries = [aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=f"node{index}", return_data=False,
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace="AWS/ElastiCache", metric_name="CacheHitRate", period=PERIOD_SECONDS, stat="Average",
                dimensions={"CacheClusterId": node_id(args.cache_group_id, index)},
            )) for index in range(1, args.cache_nodes + 1)]
        queries.append(aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="hitrate", return_data=True, label="cache hit rate (%)",
            expression=f"AVG([{', '.join(query.id for query in queries)}])"))
        self._alarm("cache-hit-rate", f"Cache hit rate below {self._spec.cache_hit_rate_min_percent:g}%",
                    [self._oncall.arn], metric_queries=queries, threshold=self._spec.cache_hit_rate_min_percent,
                    comparison_operator="LessThanThreshold")

    def _create_queue_alarms(self) -> None:
        queue = self._args.queue
        if queue is None:
            return
        self._levels("queue-depth", "Visible messages in the job queue", self._spec.queue_depth, " messages",
                     namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                     dimensions={"QueueName": queue.queue_name}, statistic="Maximum")
        # A message reaches the DLQ only after max_receive_count failed attempts: one is an incident.
        self._alarm("dlq-critical", "A message in the job queue's dead-letter queue", [self._critical.arn],
                    namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions={"QueueName": queue.dlq_name}, statistic="Maximum", evaluation_periods=1,
                    threshold=0, comparison_operator="GreaterThanThreshold")

    def _create_search_alarms(self) -> None:
        args = self._args
        if args.search_domain_name is None:
            return
        # OpenSearch publishes per domain and account (OpenSearch Service Developer Guide, "Monitoring
        # OpenSearch cluster metrics with Amazon CloudWatch": dimensions DomainName and ClientId;
        # FreeStorageSpace in MiB, the minimum over the data nodes).
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        domain = {"DomainName": args.search_domain_name, "ClientId": account_id}
        self._alarm("search-red-critical", "Search cluster status red: a primary shard is unassigned",
                    [self._critical.arn], namespace="AWS/ES", metric_name="ClusterStatus.red", dimensions=domain,
                    statistic="Maximum", evaluation_periods=1, threshold=1,
                    comparison_operator="GreaterThanOrEqualToThreshold")
        free_mib = args.search_volume_gb * 1024 * self._spec.free_storage_percent / 100
        self._alarm("search-free-space", f"Free storage of a search node below {self._spec.free_storage_percent}% "
                    f"of {args.search_volume_gb} GiB", [self._oncall.arn], namespace="AWS/ES",
                    metric_name="FreeStorageSpace", dimensions=domain, statistic="Minimum", threshold=free_mib,
                    comparison_operator="LessThanThreshold")

    def _create_kubernetes_alarms(self) -> None:
        """Phase 3 on, from Container Insights (Amazon CloudWatch User Guide, "Amazon EKS and Kubernetes
        Container Insights metrics"): the nodes' CPU and memory at the seed's KPI levels, any failed
        node, and a service running fewer pods than its HPA's minimum (a missing series breaches:
        no pods, no datapoints)."""
        cluster = self._args.kubernetes
        if cluster is None:
            return
        spec, dimensions = self._spec, {"ClusterName": cluster.name}
        insights = dict(namespace="ContainerInsights", statistic="Average", dimensions=dimensions)
        self._levels("k8s-node-cpu", "EKS node CPU", spec.cpu_percent, "%",
                     metric_name="node_cpu_utilization", **insights)
        self._levels("k8s-node-memory", "EKS node memory", spec.memory_percent, "%",
                     metric_name="node_memory_utilization", **insights)
        self._alarm("k8s-failed-nodes-critical", f"A node of EKS cluster {cluster.name} has failed", [self._critical.arn],
                    namespace="ContainerInsights", metric_name="cluster_failed_node_count", statistic="Maximum",
                    dimensions=dimensions, threshold=0, comparison_operator="GreaterThanThreshold")
        for service, minimum in sorted(cluster.minimum_pods.items()):
            self._alarm(f"k8s-{service}-pods", f"{service} runs fewer than its HPA's minimum of {minimum} pods "
                        f"for {WARNING_MINUTES} minutes", [self._oncall.arn],
                        namespace="ContainerInsights", metric_name="service_number_of_running_pods",
                        statistic="Average", treat_missing_data="breaching",
                        dimensions={**dimensions, "Namespace": service, "Service": service},
                        threshold=minimum, comparison_operator="LessThanThreshold")

    def _create_anomaly_alarms(self) -> None:
        if not self._args.anomaly_detection:
            return
        for key, metric, stat, what in (("requests-anomaly", "RequestCount", "Sum", "Request count"),
                                        ("latency-anomaly", "TargetResponseTime", "p95", "p95 response time")):
            # An anomaly-detection alarm compares the metric with the band a query computes
            # (CloudWatch User Guide, "Create a CloudWatch alarm based on anomaly detection").
            queries = [
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="metric", return_data=True,
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace="AWS/ApplicationELB", metric_name=metric, period=PERIOD_SECONDS, stat=stat,
                        dimensions={"LoadBalancer": self._args.alb_arn_suffix})),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="band", return_data=True, label=f"{what} expected band",
                    expression=f"ANOMALY_DETECTION_BAND(metric, {ANOMALY_BAND_WIDTH})"),
            ]
            self._alarm(key, f"{what} outside its expected band for {WARNING_MINUTES} minutes", [self._oncall.arn],
                        metric_queries=queries, threshold_metric_id="band",
                        comparison_operator="GreaterThanUpperThreshold")


def create_alert_key(owner: pulumi.Resource, name: str, publishers: Sequence[str], profile: EnvironmentProfile,
                     opts: pulumi.ResourceOptions) -> aws.kms.Key:
    """The KMS key of a set of alert topics (`{name}-alerts-key`), usable by the services in `publishers`."""
    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=owner)).account_id
    key_args = defaults.data_key_args("alert topics", profile)
    key_args.policy = documents.to_json(documents.alert_key_policy(account_id, publishers))
    return aws.kms.Key(f"{name}-alerts-key", key_args, defaults.stateful_options(opts, profile))


def create_alert_topic(name: str, display_name: str, key: aws.kms.Key, alert_email: str | None,
                       opts: pulumi.ResourceOptions) -> aws.sns.Topic:
    """An alert topic encrypted with `key`, with an e-mail subscription when an address is set."""
    topic = aws.sns.Topic(name, aws.sns.TopicArgs(kms_master_key_id=key.arn, display_name=display_name), opts)
    if alert_email:
        # AWS mails a confirmation link; the subscription stays pending until someone follows it.
        aws.sns.TopicSubscription(f"{name}-email", aws.sns.TopicSubscriptionArgs(
            topic=topic.arn, protocol="email", endpoint=alert_email,
        ), opts)
    return topic


def node_id(group_id: pulumi.Input[str], index: int) -> pulumi.Input[str]:
    """Id of node `index` (from 1) of a cluster-mode-disabled replication group: `<group>-00<index>`."""
    suffix = f"-{index:03d}"
    return group_id + suffix if isinstance(group_id, str) else pulumi.Output.concat(group_id, suffix)


@dataclass(frozen=True)
class DashboardRegion:
    """What a region's dashboard panels name: its load balancer, API group, databases and cache nodes."""

    region: str
    alb_arn_suffix: pulumi.Input[str]
    api_group_name: pulumi.Input[str]
    api_capacity: models.Capacity
    database_identifiers: Sequence[pulumi.Input[str]] = ()
    cache_node_ids: Sequence[pulumi.Input[str]] = ()


def _widget(region: str, title: str, metrics: list, annotations: Sequence[tuple[float, str]] = ()) -> dict:
    """One metric widget (CloudWatch API Reference, "Dashboard Body Structure and Syntax": each `metrics`
    row is [namespace, metric name, dimension name, value, ..., {rendering options}], or [{expression}])."""
    return {"type": "metric", "width": 8, "height": 6, "properties": {
        "title": f"{title} ({region})", "region": region, "view": "timeSeries", "period": PERIOD_SECONDS,
        "metrics": metrics,
        "annotations": {"horizontal": [{"value": value, "label": label} for value, label in annotations]},
    }}


def region_widgets(where: DashboardRegion, spec: models.Monitoring, max_connections: int) -> list[dict]:
    """The seed's "Scaling Metrics Dashboard" panels of one region (cost per hour is stack-wide)."""
    region, balancer = where.region, ["LoadBalancer", where.alb_arn_suffix]
    widgets = [
        _widget(region, "Request rate (requests/s)", [
            ["AWS/ApplicationELB", "RequestCount", *balancer, {"id": "requests", "stat": "Sum", "visible": False}],
            [{"expression": "requests / PERIOD(requests)", "label": "requests/s", "id": "rate"}],
        ], [(1000, "seed 1000"), (5000, "seed 5000"), (10000, "seed 10000")]),
        _widget(region, "Response time p95 (s)", [
            ["AWS/ApplicationELB", "TargetResponseTime", *balancer, {"stat": "p95"}],
        ], [(spec.response_time_ms.target / 1000, "target"), (spec.response_time_ms.critical / 1000, "critical")]),
        _widget(region, "Active API instances", [
            ["AWS/AutoScaling", "GroupInServiceInstances", "AutoScalingGroupName", where.api_group_name,
             {"stat": "Maximum"}],
        ], [(where.api_capacity.min, "phase min"), (where.api_capacity.max, "phase max")]),
    ]
    if where.database_identifiers:
        widgets.append(_widget(region, "Database connections", [
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", identifier, {"stat": "Maximum"}]
            for identifier in where.database_identifiers
        ], [(max_connections * spec.connections_percent.target / 100, "target"),
            (max_connections * spec.connections_percent.critical / 100, "critical")]))
    if where.cache_node_ids:
        widgets.append(_widget(region, "Cache hit rate (%)", [
            ["AWS/ElastiCache", "CacheHitRate", "CacheClusterId", node, {"stat": "Average"}]
            for node in where.cache_node_ids
        ], [(spec.cache_hit_rate_min_percent, "minimum")]))
    return widgets
