"""What the front hands to the worker: one item per Slack request it acknowledged.

The front (the process that answers Slack's HTTP requests) only checks the signature,
acknowledges and puts the request here; everything slower runs in the worker. In `serve` the
two are separate processes joined by a multiprocessing queue, so acknowledgements stay fast
whatever the worker is busy with (Python threads share one interpreter lock); in tests and the
console they are threads of one process joined by a `queue.Queue`.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Kind(StrEnum):
    COMMAND = "command"  # a /backup slash command: the command payload
    ACTION = "action"  # a button: the block_actions payload
    HOME = "home"  # app_home_opened: the event


@dataclass(frozen=True)
class Item:
    kind: Kind
    body: dict[str, Any]


class Inbox(Protocol):
    def put(self, item: Item | None) -> None: ...


class InboxReader(Protocol):
    def get(self) -> Item | None: ...
