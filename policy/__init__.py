"""QNom's CrossGuard policy pack: security, reliability and cost rules for the platform.

`policy/__main__.py` serves the pack to the Pulumi CLI (`pulumi preview --policy-pack policy`);
`python -m qnom policy` runs the same rules offline against the recorded plan.
"""
