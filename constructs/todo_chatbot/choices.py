"""The allowed choices of the props and chart values.

The chart's own are defined here; those the images check too come from `todo_contract`, their
one definition, which the images hold as well.
"""

from todo_contract import AI_PROVIDERS, LOG_LEVELS, MIN_AUTH_SECRET_LENGTH

__all__ = ["AI_PROVIDERS", "LOG_LEVELS", "MIN_AUTH_SECRET_LENGTH", "PULL_POLICIES", "SERVICE_TYPES"]

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer")
"""Service types a component may be exposed with."""
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
"""Image pull policies of the containers."""
