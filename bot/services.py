"""What the listeners need, built once per app: the deployment, the runner, identities,
the notifier and the command handlers."""

from concurrent.futures import ThreadPoolExecutor
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
    # Answers are composed here, not on Bolt's listener threads: a listener acks and returns,
    # so a burst of commands never leaves Bolt without a free thread to acknowledge the next.
    answers: ThreadPoolExecutor

    @property
    def vocabulary(self) -> Vocabulary:
        config = self.context.config
        return Vocabulary(
            sites={name: site.product for name, site in config.sites.items()},
            storages=tuple(config.storage),
        )
