"""Offline toolkit for the QNom Pulumi program: mock engine, plan document, CLI."""
