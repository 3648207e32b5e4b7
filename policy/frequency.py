"""How often a schedule runs: once, or daily or weekly (Atlassian; docs/rules.md)."""

from enum import StrEnum


class Frequency(StrEnum):
    ONCE = "once"
    DAILY = "daily"
    WEEKLY = "weekly"
