"""`backupbot catalog sync`: rebuild the backup rows from the manifests in a storage location,
so losing the bot's host or database loses no backup (docs/data-model.md)."""

from dataclasses import dataclass, field

from jobs.context import JobContext
from storage import catalog
from storage.artifacts import StorageError
from storage.snapshot import list_manifests


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    already_known: int = 0
    skipped: list[str] = field(default_factory=list)  # "bk-...: why"
    rejected: list[str] = field(default_factory=list)  # manifests that failed verification


def sync_catalog(context: JobContext, location_name: str) -> SyncReport:
    location = context.config.storage[location_name]
    store = context.open_store(location, context.environment)
    report = SyncReport()

    def rejected(key: str, error: StorageError) -> None:
        report.rejected.append(f"{key}: {error}")

    for manifest in list_manifests(store, context.manifest_key, on_rejected=rejected):
        if manifest.site not in context.config.sites:
            report.skipped.append(
                f"{manifest.backup_id}: site {manifest.site} is not configured; add it to the "
                "config to catalog its backups"
            )
            continue
        with context.sessions.begin() as session:
            if catalog.import_manifest(session, manifest, location_name, context.clock()):
                report.added.append(manifest.backup_id)
            else:
                report.already_known += 1
    return report
