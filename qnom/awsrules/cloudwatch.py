"""CloudWatch alarms and Cost Explorer anomaly subscriptions: what their APIs refuse."""

from __future__ import annotations

from collections.abc import Iterator

from policy.resource_types import ANOMALY_SUBSCRIPTION, METRIC_ALARM
from qnom.awsrules import Request, known, rule

DAY_SECONDS = 86_400


def _periods(request: Request) -> list[int]:
    """The alarm's period, or each metric query's."""
    inputs = request.inputs
    periods = [inputs.get("period")]
    periods += [query.get("metric", {}).get("period") for query in inputs.get("metricQueries") or []
                if isinstance(query, dict) and isinstance(query.get("metric"), dict)]
    return [period for period in periods if isinstance(period, int)]


@rule("cloudwatch-alarm-evaluation-range", METRIC_ALARM,
      error="ValidationError: Metrics cannot be checked across more than a day (EvaluationPeriods * Period must "
            "be <= 86400)",
      # CloudWatch API Reference, PutMetricAlarm: Period is 10, 30 or a multiple of 60, and "the maximum
      # value for EvaluationPeriods x Period" is one day for periods of a minute or more.
      source="https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html")
def _evaluation_range(request: Request) -> Iterator[str]:
    evaluations = request.inputs.get("evaluationPeriods")
    for period in _periods(request):
        if period not in (10, 20, 30) and period % 60:
            yield f"ValidationError: Period must be 10, 20, 30 or a multiple of 60, got {period}"
        elif isinstance(evaluations, int) and evaluations * period > DAY_SECONDS:
            yield ("ValidationError: Metrics cannot be checked across more than a day (EvaluationPeriods * Period "
                   f"must be <= 86400), got {evaluations} x {period}")


@rule("cloudwatch-alarm-one-returned-series", METRIC_ALARM,
      error="ValidationError: Exactly one element of the metrics list should return data.",
      # CloudWatch API Reference, MetricDataQuery.ReturnData: "When used in PutMetricAlarm, specify
      # True for the one expression result to use as the alarm"; an anomaly-detection alarm returns the
      # metric and its band, and names the band in ThresholdMetricId.
      source="https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDataQuery.html")
def _one_returned(request: Request) -> Iterator[str]:
    queries = [query for query in request.inputs.get("metricQueries") or [] if isinstance(query, dict)]
    if not queries:
        return
    returned = [query.get("id") for query in queries if query.get("returnData") is True]
    band = request.inputs.get("thresholdMetricId")
    if known(band) and band:
        if band not in returned or len(returned) != 2:
            yield (f"ValidationError: an anomaly detection alarm returns its metric and the band {band}, "
                   f"got {returned}")
    elif len(returned) != 1:
        yield f"ValidationError: Exactly one element of the metrics list should return data, got {returned}"


@rule("ce-anomaly-subscription-channel", ANOMALY_SUBSCRIPTION,
      error="ValidationException: Notifications are sent either over email (for DAILY and WEEKLY frequencies) "
            "or SNS (for IMMEDIATE frequency)",
      source="https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_AnomalySubscription.html")
def _subscription_channel(request: Request) -> Iterator[str]:
    frequency = request.inputs.get("frequency")
    if not known(frequency):
        return
    for subscriber in request.inputs.get("subscribers") or []:
        kind = subscriber.get("type") if isinstance(subscriber, dict) else None
        if (kind == "SNS") != (frequency == "IMMEDIATE") and kind in ("SNS", "EMAIL"):
            yield ("ValidationException: Notifications are sent either over email (for DAILY and WEEKLY "
                   f"frequencies) or SNS (for IMMEDIATE frequency); got a {kind} subscriber with {frequency}")
