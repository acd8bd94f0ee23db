"""Pulumi components of the platform: one ComponentResource and its Args per module."""
