"""supportgate: the support-desk gating service."""

__version__ = "0.1.0"
