"""The /backup command: its grammar (text -> typed action) and, later, its handlers."""
