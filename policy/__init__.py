"""The rules of backupbot (docs/rules.md) as pure functions of plain values.

Nothing here does I/O or imports Slack, SQLAlchemy, boto3 or httpx, so every boundary the rules
draw (60 GB, 3.5 TB, day 15, day 30, who may press Approve) is tested in microseconds.
"""
