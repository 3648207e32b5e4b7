"""Who may do what (docs/rules.md, "Who").

Backing up and restoring need a person who is both an organization admin and an app admin of the
product concerned (Atlassian; docs/rules.md); reading needs either role; the audit log is for
organization admins. The check runs at the moment of every action, so the caller passes the roles
held *now*.
"""

from dataclasses import dataclass
from enum import Enum, StrEnum

from policy.products import Product


class Activity(StrEnum):
    """Everything a person can ask of the bot: the /backup subcommands and the two buttons."""

    HELP = "help"
    SITES = "sites"
    LIST = "list"
    STATUS = "status"
    SCHEDULES = "schedules"
    APPROVALS = "approvals"
    ESTIMATE = "estimate"
    VERIFY = "verify"
    NOW = "now"
    SCHEDULE = "schedule"
    UNSCHEDULE = "unschedule"
    CANCEL = "cancel"
    RESTORE = "restore"
    APPROVE = "approve"
    REJECT = "reject"
    AUDIT = "audit"

    @property
    def phrase(self) -> str:
        """How a refusal names the thing that was asked for."""
        if self is Activity.APPROVE:
            return "Approving a restore"
        if self is Activity.REJECT:
            return "Rejecting a restore"
        return f"`/backup {self.value}`"


class Requirement(Enum):
    NOTHING = "nothing"
    EITHER_ROLE = "org admin or app admin of the product"
    BOTH_ROLES = "org admin and app admin of the product"
    ORG_ADMIN = "org admin"


REQUIREMENTS: dict[Activity, Requirement] = {
    Activity.HELP: Requirement.NOTHING,
    **dict.fromkeys(
        (
            Activity.SITES,
            Activity.LIST,
            Activity.STATUS,
            Activity.SCHEDULES,
            Activity.APPROVALS,
            Activity.ESTIMATE,
            Activity.VERIFY,
        ),
        Requirement.EITHER_ROLE,
    ),
    **dict.fromkeys(
        (
            Activity.NOW,
            Activity.SCHEDULE,
            Activity.UNSCHEDULE,
            Activity.CANCEL,
            Activity.RESTORE,
            Activity.APPROVE,
            Activity.REJECT,
        ),
        Requirement.BOTH_ROLES,
    ),
    Activity.AUDIT: Requirement.ORG_ADMIN,
}

ORG_ADMIN = "an organization admin"


@dataclass(frozen=True)
class Roles:
    """The roles one person holds, as resolved from config or Atlassian."""

    org_admin: bool = False
    app_admin_of: frozenset[Product] = frozenset()

    def is_app_admin(self, product: Product) -> bool:
        return product in self.app_admin_of

    @property
    def is_any_admin(self) -> bool:
        return self.org_admin or bool(self.app_admin_of)


class NotAuthorized(Exception):
    """A refusal that names the roles the person lacks."""

    def __init__(self, message: str, missing: tuple[str, ...]) -> None:
        super().__init__(message)
        self.message = message
        self.missing = missing


def _app_admin(product: Product) -> str:
    return f"a {product.label} admin"


def _held(roles: Roles, product: Product | None) -> str:
    held = [ORG_ADMIN] if roles.org_admin else []
    held += [_app_admin(p) for p in sorted(roles.app_admin_of) if product in (None, p)]
    return " and ".join(held)


def authorize(activity: Activity, roles: Roles, product: Product | None) -> None:
    """Return if `roles` allow `activity` on `product`; else raise NotAuthorized.

    `product` is the app of the site concerned; None means the request names no site or backup
    (`sites`, `approvals`, `list` of everything), where any admin role is enough to read.
    """
    requirement = REQUIREMENTS[activity]
    what = activity.phrase
    if requirement is Requirement.NOTHING:
        return
    if requirement is Requirement.ORG_ADMIN:
        if not roles.org_admin:
            raise NotAuthorized(
                f"{what} is for organization admins, and you are not {ORG_ADMIN}.", (ORG_ADMIN,)
            )
        return
    if requirement is Requirement.EITHER_ROLE:
        if product is None:
            if not roles.is_any_admin:
                raise NotAuthorized(
                    f"{what} needs you to be {ORG_ADMIN} or an admin of Jira or Confluence; "
                    "you are none of these.",
                    (ORG_ADMIN, "an app admin"),
                )
            return
        if not (roles.org_admin or roles.is_app_admin(product)):
            raise NotAuthorized(
                f"{what} needs you to be {ORG_ADMIN} or {_app_admin(product)}; you are neither.",
                (ORG_ADMIN, _app_admin(product)),
            )
        return
    # BOTH_ROLES: backing up and restoring change things, so the person must hold both (Atlassian;
    # docs/rules.md).
    if product is None:
        raise ValueError(f"{activity} concerns one app; the caller must say which")
    missing = tuple(
        name
        for name, held in (
            (ORG_ADMIN, roles.org_admin),
            (_app_admin(product), roles.is_app_admin(product)),
        )
        if not held
    )
    if missing:
        held = _held(roles, product)
        you_are = f"you are {held} but not {missing[0]}" if held else "you are neither"
        raise NotAuthorized(
            f"{what} needs you to be both {ORG_ADMIN} and {_app_admin(product)}; {you_are}.",
            missing,
        )


def is_authorized(activity: Activity, roles: Roles, product: Product | None) -> bool:
    try:
        authorize(activity, roles, product)
    except NotAuthorized:
        return False
    return True
