"""`backupbot verify` and `/backup verify`: re-read a backup and check every chunk's SHA-256
and the manifest's HMAC."""

from jobs.context import JobContext
from storage.models import Backup
from storage.snapshot import SnapshotReader, VerifyReport


class UnknownBackup(LookupError):
    """The catalog has no backup of that id."""


def verify_backup(context: JobContext, backup_id: str) -> VerifyReport:
    """The verification report; raises the snapshot's own error if the manifest is unusable."""
    with context.sessions() as session:
        backup = session.get(Backup, backup_id)
        if backup is None:
            raise UnknownBackup(
                f"there is no backup {backup_id} in the catalog; if the database was lost, "
                "`backupbot catalog sync <storage>` rebuilds it from the storage location"
            )
        site, location_name = backup.site.name, backup.storage_location.name
    store = context.open_store(context.config.storage[location_name], context.environment)
    return SnapshotReader(store, site, backup_id, context.manifest_key).verify()
