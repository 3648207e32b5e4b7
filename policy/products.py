"""The Atlassian apps backupbot protects."""

from enum import StrEnum


class Product(StrEnum):
    JIRA = "jira"
    CONFLUENCE = "confluence"

    @property
    def label(self) -> str:
        """The app's name as Atlassian writes it."""
        return {"jira": "Jira", "confluence": "Confluence"}[self.value]
