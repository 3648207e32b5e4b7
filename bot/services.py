"""What the listeners need, built once per app: the deployment, the runner, identities,
the notifier and the command handlers."""

from dataclasses import dataclass

from bot.identity import IdentityResolver
from bot.notifier import Notifier
from commands.grammar import Vocabulary
from commands.handlers import Handlers
from jobs.context import JobContext
from jobs.runner import JobRunner


@dataclass(frozen=True)
class Services:
    context: JobContext
    runner: JobRunner
    identities: IdentityResolver
    notifier: Notifier
    handlers: Handlers

    @property
    def vocabulary(self) -> Vocabulary:
        config = self.context.config
        return Vocabulary(
            sites={name: site.product for name, site in config.sites.items()},
            storages=tuple(config.storage),
        )
