"""Stack-wide monitoring: the seed's CostMonitor as AWS Budgets and Cost Anomaly Detection, and
availability from the Route 53 health checks.

Everything here is global or lives only in us-east-1, so the component takes the us-east-1
provider: AWS Budgets and Cost Explorer are global services answered from us-east-1, and Route 53
publishes its health-check metrics only in us-east-1 (Amazon Route 53 Developer Guide, "Monitoring
health checks using CloudWatch"), where an alarm on them must live. Creates, under the component:
- a KMS key whose key policy lets CloudWatch, AWS Budgets and Cost Anomaly Detection use it, and
  the stack's own `oncall` and `critical` topics encrypted with it; the `critical` topic's policy
  lets Budgets and Cost Anomaly Detection publish for this account only; with `qnom:alertEmail`
  an e-mail subscription on each;
- a monthly cost budget at the phase's budget alerting `critical` at 80% actual and 100% forecast
  spend, and a daily budget at a thirtieth of it alerting at 150% (the seed's "daily average 50%
  above budget"); both count only costs tagged with the stack's `environment`;
- a Cost Explorer anomaly monitor over the same tag, with an immediate subscription to `critical`
  for anomalies costing at least half the daily budget and, with an e-mail address, a daily summary
  to that address (AWS sends a daily or weekly summary only by e-mail, immediate alerts only by SNS);
- with a domain, availability alarms per region on its Route 53 health check: the share of healthy
  checkers over a day below the seed's 99.9% target (`oncall`) and 99.5% critical level (`critical`);
- the stack's CloudWatch dashboard (the seed's "Scaling Metrics Dashboard"): each region's panels
  (`Monitoring.widgets`: request rate, p95 response time, active instances against the phase's min
  and max, database connections, cache hit rate) and, stack-wide, the cost per hour from the billing
  metric against the budget's hourly share, and the cost per request against the seed's $0.001.
  The billing metric exists only in us-east-1 and only once billing alerts are enabled for the
  account (CloudWatch User Guide, "Create a billing alarm to monitor your estimated AWS charges").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components import policy_documents as documents
from components.observability.monitoring import CLOUDWATCH, create_alert_key, create_alert_topic
from phases import models
from phases.environment import EnvironmentProfile

BUDGETS = "budgets.amazonaws.com"
COST_ALERTS = "costalerts.amazonaws.com"
HOURS_PER_MONTH = 730
"""AWS prices a month as 730 hours."""
BILLING_PERIOD_SECONDS = 21_600
"""The billing metric is published about every six hours."""
AVAILABILITY_PERIOD_SECONDS = 86_400
"""Availability is judged over a day: 99.9% of it is 86 seconds unhealthy, 99.5% about 7 minutes."""
COST_TAG = "environment"
"""The tag (a provider default tag on every resource) whose value names the stack's costs. It must be
activated once per account as a cost allocation tag before Budgets and Cost Explorer can filter by it."""


@dataclass(frozen=True)
class StackMonitoringArgs:
    stack_name: str
    """`<project>-<stack>`: the budgets' names, fixed for the stack's life (`name` is ForceNew in the
    provider: hashicorp/terraform-provider-aws internal/service/budgets/budget.go)."""
    environment: str
    """Value of the stack's `environment` tag, which the budgets and the anomaly monitor filter on."""
    budget: models.Budget
    """The phase's budget and its alert ratios (catalog `budget`)."""
    spec: models.Monitoring
    """The phase's KPI levels (catalog `monitoring`): availability."""
    profile: EnvironmentProfile
    """Environment profile: the topic key's deletion window and protection."""
    provider: aws.Provider
    """The us-east-1 provider."""
    region_widgets: Mapping[str, Sequence[dict]] = field(default_factory=dict)
    """Each region's dashboard panels (`Monitoring.widgets`), by region; default none."""
    request_counts: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Each region's load balancer ARN suffix, by region, for the cost per request; default none."""
    health_check_ids: Mapping[str, pulumi.Input[str]] | None = None
    """Route 53 health check per region (`Dns`); default None: no domain, no availability alarms."""
    alert_email: str | None = None
    """Address subscribed to both topics and the daily anomaly summary; default None."""


class StackMonitoring(pulumi.ComponentResource):
    oncall_topic_arn: pulumi.Output[str]
    critical_topic_arn: pulumi.Output[str]
    monthly_budget_name: pulumi.Output[str]
    daily_budget_name: pulumi.Output[str]
    anomaly_monitor_arn: pulumi.Output[str]
    dashboard_name: pulumi.Output[str]

    def __init__(self, name: str, args: StackMonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("qnom:components:StackMonitoring", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        self._account_id = aws.get_caller_identity_output(
            opts=pulumi.InvokeOptions(parent=self, provider=args.provider)).account_id
        self._key = create_alert_key(self, name, [BUDGETS, CLOUDWATCH, COST_ALERTS], args.profile, self._child)
        self._oncall = create_alert_topic(f"{name}-oncall", "qnom oncall (stack)", self._key, args.alert_email,
                                          self._child)
        self._critical = create_alert_topic(f"{name}-critical", "qnom critical (stack)", self._key,
                                            args.alert_email, self._child)
        self._allow_cost_services()
        monthly, daily = self._create_budgets()
        monitor = self._create_anomaly_monitor()
        self._create_availability_alarms()
        dashboard = self._create_dashboard()
        self.dashboard_name = dashboard.dashboard_name
        self.oncall_topic_arn = self._oncall.arn
        self.critical_topic_arn = self._critical.arn
        self.monthly_budget_name = monthly.name
        self.daily_budget_name = daily.name
        self.anomaly_monitor_arn = monitor.arn
        self.register_outputs({
            "oncall_topic_arn": self.oncall_topic_arn,
            "critical_topic_arn": self.critical_topic_arn,
            "monthly_budget_name": self.monthly_budget_name,
            "daily_budget_name": self.daily_budget_name,
            "anomaly_monitor_arn": self.anomaly_monitor_arn,
            "dashboard_name": self.dashboard_name,
        })

    def _allow_cost_services(self) -> None:
        self._policy = aws.sns.TopicPolicy(f"{self._name}-critical", aws.sns.TopicPolicyArgs(
            arn=self._critical.arn,
            policy=documents.to_json(documents.alert_topic_policy(
                self._critical.arn, self._account_id, [BUDGETS, COST_ALERTS])),
        ), self._child)

    def _cost_filter(self) -> list[aws.budgets.BudgetCostFilterArgs]:
        # Budgets name a tag filter `user:<key>$<value>` (AWS Budgets API Reference, Budget.CostFilters).
        return [aws.budgets.BudgetCostFilterArgs(name="TagKeyValue",
                                                 values=[f"user:{COST_TAG}${self._args.environment}"])]

    def _notification(self, kind: str, ratio: float) -> aws.budgets.BudgetNotificationArgs:
        return aws.budgets.BudgetNotificationArgs(
            notification_type=kind,
            comparison_operator="GREATER_THAN",
            threshold=round(ratio * 100, 2),
            threshold_type="PERCENTAGE",
            subscriber_sns_topic_arns=[self._critical.arn],
        )

    def _create_budgets(self) -> tuple[aws.budgets.Budget, aws.budgets.Budget]:
        args, budget = self._args, self._args.budget
        # A budget notifies a topic only once the topic's policy lets Budgets publish.
        after_policy = pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[self._policy]))
        monthly = aws.budgets.Budget(f"{self._name}-monthly", aws.budgets.BudgetArgs(
            name=f"{args.stack_name}-monthly",
            budget_type="COST",
            limit_amount=f"{budget.monthly_usd:.2f}",
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=self._cost_filter(),
            notifications=[self._notification("ACTUAL", budget.warning_ratio),
                           self._notification("FORECASTED", budget.forecast_ratio)],
        ), after_policy)
        # AWS Budgets has no forecast for a daily budget (AWS Cost Management User Guide, "Creating a
        # cost budget": forecasted alerts are not available for daily budgets): actual spend only.
        daily = aws.budgets.Budget(f"{self._name}-daily", aws.budgets.BudgetArgs(
            name=f"{args.stack_name}-daily",
            budget_type="COST",
            limit_amount=f"{budget.daily_usd:.2f}",
            limit_unit="USD",
            time_unit="DAILY",
            cost_filters=self._cost_filter(),
            notifications=[self._notification("ACTUAL", budget.daily_ratio)],
        ), after_policy)
        return monthly, daily

    def _create_anomaly_monitor(self) -> aws.costexplorer.AnomalyMonitor:
        args = self._args
        # A custom monitor over the stack's tag: an account holds only one monitor of AWS services.
        monitor = aws.costexplorer.AnomalyMonitor(f"{self._name}-anomalies", aws.costexplorer.AnomalyMonitorArgs(
            name=f"{args.stack_name}-costs",
            monitor_type="CUSTOM",
            monitor_specification=pulumi.Output.json_dumps(
                {"Tags": {"Key": COST_TAG, "Values": [args.environment], "MatchOptions": ["EQUALS"]}}),
        ), self._child)
        # The seed's critical cost alert is a day 50% above the daily budget: an anomaly whose
        # impact reaches half the daily budget is that much extra spend.
        impact = round(args.budget.daily_usd * (args.budget.daily_ratio - 1), 2)
        threshold = aws.costexplorer.AnomalySubscriptionThresholdExpressionArgs(
            dimension=aws.costexplorer.AnomalySubscriptionThresholdExpressionDimensionArgs(
                key="ANOMALY_TOTAL_IMPACT_ABSOLUTE", match_options=["GREATER_THAN_OR_EQUAL"], values=[f"{impact:g}"]))
        # SNS subscribers take only IMMEDIATE alerts, e-mail only DAILY or WEEKLY summaries (AWS Billing
        # and Cost Management API Reference, AnomalySubscription.Frequency).
        aws.costexplorer.AnomalySubscription(f"{self._name}-anomalies", aws.costexplorer.AnomalySubscriptionArgs(
            name=f"{args.stack_name}-cost-anomalies",
            frequency="IMMEDIATE",
            monitor_arn_lists=[monitor.arn],
            subscribers=[aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="SNS", address=self._critical.arn)],
            threshold_expression=threshold,
        ), pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(depends_on=[self._policy])))
        if args.alert_email:
            aws.costexplorer.AnomalySubscription(f"{self._name}-anomalies-daily",
                                                 aws.costexplorer.AnomalySubscriptionArgs(
                name=f"{args.stack_name}-cost-anomalies-daily",
                frequency="DAILY",
                monitor_arn_lists=[monitor.arn],
                subscribers=[aws.costexplorer.AnomalySubscriptionSubscriberArgs(type="EMAIL",
                                                                                address=args.alert_email)],
                threshold_expression=threshold,
            ), self._child)
        return monitor

    def _create_availability_alarms(self) -> None:
        args, level = self._args, self._args.spec.availability_percent
        for region, health_check_id in sorted((args.health_check_ids or {}).items()):
            for suffix, value, topic in (("target", level.target, self._oncall),
                                         ("critical", level.critical, self._critical)):
                aws.cloudwatch.MetricAlarm(f"{self._name}-availability-{region}-{suffix}",
                                           aws.cloudwatch.MetricAlarmArgs(
                    alarm_description=f"Availability of {region} (Route 53 health checkers reporting healthy, "
                                      f"over a day) below its {suffix} of {value:g}%",
                    namespace="AWS/Route53",
                    metric_name="HealthCheckPercentageHealthy",
                    dimensions={"HealthCheckId": health_check_id},
                    statistic="Average",
                    period=AVAILABILITY_PERIOD_SECONDS,
                    evaluation_periods=1,
                    threshold=value,
                    comparison_operator="LessThanThreshold",
                    treat_missing_data="missing",
                    alarm_actions=[topic.arn],
                ), self._child)

    def _create_dashboard(self) -> aws.cloudwatch.Dashboard:
        args = self._args
        body = dashboard_body(args.region_widgets, args.request_counts, args.budget, args.spec)
        return aws.cloudwatch.Dashboard(f"{self._name}-dashboard", aws.cloudwatch.DashboardArgs(
            dashboard_name=f"{args.stack_name}-scaling",
            dashboard_body=pulumi.Output.json_dumps(body),
        ), self._child)


def cost_widgets(request_counts: Mapping[str, pulumi.Input[str]], budget: models.Budget,
                 spec: models.Monitoring) -> list[dict]:
    """Cost per hour and per request: the billing metric's month-to-date charges as a rate, over the
    requests of every region's load balancer (`request_counts`: ARN suffix by region)."""
    billing = ["AWS/Billing", "EstimatedCharges", "Currency", "USD",
               {"id": "charges", "stat": "Maximum", "region": "us-east-1", "visible": False}]
    hourly = {"expression": "RATE(charges) * 3600", "label": "USD per hour", "id": "hourly"}
    requests = [["AWS/ApplicationELB", "RequestCount", "LoadBalancer", suffix,
                 {"id": f"requests{index}", "stat": "Sum", "region": region, "visible": False}]
                for index, (region, suffix) in enumerate(sorted(request_counts.items()))]
    total = " + ".join(f"FILL(requests{index}, 0)" for index in range(len(requests))) or "1"
    per_request = {"expression": f"RATE(charges) * PERIOD(charges) / ({total})",
                   "label": "USD per request", "id": "perrequest"}

    def widget(title: str, metrics: list, annotations: list[tuple[float, str]]) -> dict:
        return {"type": "metric", "width": 12, "height": 6, "properties": {
            "title": title, "region": "us-east-1", "view": "timeSeries", "period": BILLING_PERIOD_SECONDS,
            "metrics": metrics,
            "annotations": {"horizontal": [{"value": value, "label": label} for value, label in annotations]},
        }}

    budget_per_hour = round(budget.monthly_usd / HOURS_PER_MONTH, 2)
    return [
        widget("Cost per hour (USD)", [billing, [hourly]],
               [(10, "seed 10"), (50, "seed 50"), (100, "seed 100"), (budget_per_hour, "budget per hour")]),
        widget("Cost per request (USD)", [billing, *requests, [per_request]],
               [(spec.cost_per_request_usd, "seed target")]),
    ]


def dashboard_body(region_widgets: Mapping[str, Sequence[dict]], request_counts: Mapping[str, pulumi.Input[str]],
                   budget: models.Budget, spec: models.Monitoring) -> dict:
    """The dashboard's body: each region's panels three to a row, then the stack's cost panels."""
    widgets, row = [], 0
    for _, panels in sorted(region_widgets.items()):
        for index, panel in enumerate(panels):
            widgets.append({**panel, "x": (index % 3) * 8, "y": row + (index // 3) * 6})
        row += ((len(panels) + 2) // 3) * 6
    for index, panel in enumerate(cost_widgets(request_counts, budget, spec)):
        widgets.append({**panel, "x": index * 12, "y": row})
    return {"widgets": widgets}
