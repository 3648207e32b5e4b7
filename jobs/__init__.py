"""Work that runs in the background: backups now, and later restores, schedules, maintenance."""
