"""Alembic environment: runs the migrations on the connection `storage.database` hands over.

Start migrations through `storage.database.upgrade` (or `alembic_config` for a new revision);
there is no alembic.ini and no URL here, so a migration always runs where the bot points.
"""

from alembic import context
from sqlalchemy import Connection

from storage.models import Base

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError(
        "backupbot's migrations run on a live connection: use storage.database.upgrade(engine)"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite alters a table by copying it; batch mode does that, and is a no-op elsewhere.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
