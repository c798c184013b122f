"""The mlplatform CrossGuard policy pack.

`pulumi preview --policy-pack policies` runs `__main__.py`, which serves the rules in
`policies.rules`; `python -m plan policy` runs the same rule functions on an offline plan
record. Importing this package (or any rule module) starts nothing.
"""
