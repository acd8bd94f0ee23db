"""Observability: every region's alert topics and alarms (`Monitoring`), and the stack-wide cost
guard rails, availability alarms and dashboard (`CostMonitor`)."""
