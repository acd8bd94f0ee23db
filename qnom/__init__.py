"""Offline toolkit for the QNom Pulumi program: mock engine, plan document, CLI."""

__version__ = "0.1.0"
"""The project's version, the one place it is written (`qnom --version`)."""
