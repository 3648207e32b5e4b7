"""The authorization table of docs/rules.md, checked for every activity and role combination."""

import itertools

import pytest

from policy.products import Product
from policy.roles import Activity, NotAuthorized, Roles, authorize, is_authorized

# The table as docs/rules.md writes it, restated here independently of the implementation.
READ = {"sites", "list", "status", "schedules", "approvals", "estimate", "verify"}
CHANGE = {"now", "schedule", "unschedule", "cancel", "restore", "approve", "reject"}
ORG_ONLY = {"audit"}
OPEN = {"help"}

ALL_ROLES = [
    Roles(org_admin=org, app_admin_of=frozenset(apps))
    for org in (False, True)
    for n in range(3)
    for apps in itertools.combinations(Product, n)
]


def expected(activity: str, roles: Roles, product: Product | None) -> bool:
    if activity in OPEN:
        return True
    if activity in ORG_ONLY:
        return roles.org_admin
    if activity in READ:
        if product is None:
            return roles.org_admin or bool(roles.app_admin_of)
        return roles.org_admin or product in roles.app_admin_of
    assert activity in CHANGE
    assert product is not None
    return roles.org_admin and product in roles.app_admin_of


def test_the_table_names_every_activity_once():
    groups = [READ, CHANGE, ORG_ONLY, OPEN]
    assert set().union(*groups) == {a.value for a in Activity}
    assert sum(len(g) for g in groups) == len(Activity)


CASES = [
    (activity, roles, product)
    for activity in Activity
    for roles in ALL_ROLES
    for product in ([*Product] if activity.value in CHANGE else [None, *Product])
]


@pytest.mark.parametrize(("activity", "roles", "product"), CASES)
def test_every_activity_and_role_combination(activity, roles, product):
    assert is_authorized(activity, roles, product) is expected(activity.value, roles, product)


@pytest.mark.parametrize(("activity", "roles", "product"), CASES)
def test_a_refusal_names_each_missing_role(activity, roles, product):
    try:
        authorize(activity, roles, product)
    except NotAuthorized as refusal:
        message = refusal.message
        if activity.value in CHANGE:
            if not roles.org_admin:
                assert "an organization admin" in refusal.missing
                assert "not an organization admin" in message or "neither" in message
            if product not in roles.app_admin_of:
                assert f"a {product.label} admin" in refusal.missing
                assert f"a {product.label} admin" in message
        else:
            assert "organization admin" in message
    else:
        assert expected(activity.value, roles, product)


def test_org_admin_without_the_app_role_is_told_which_role_is_missing():
    with pytest.raises(NotAuthorized) as refusal:
        authorize(Activity.NOW, Roles(org_admin=True), Product.JIRA)
    assert refusal.value.message == (
        "`/backup now` needs you to be both an organization admin and a Jira admin; "
        "you are an organization admin but not a Jira admin."
    )
    assert refusal.value.missing == ("a Jira admin",)


def test_app_admin_of_the_other_product_cannot_restore():
    roles = Roles(org_admin=True, app_admin_of=frozenset({Product.CONFLUENCE}))
    with pytest.raises(NotAuthorized, match="not a Jira admin"):
        authorize(Activity.RESTORE, roles, Product.JIRA)


def test_approving_names_the_button_not_a_command():
    with pytest.raises(NotAuthorized, match=r"^Approving a restore needs you to be both"):
        authorize(Activity.APPROVE, Roles(app_admin_of=frozenset({Product.JIRA})), Product.JIRA)


def test_a_changing_activity_without_a_product_is_a_programming_error():
    with pytest.raises(ValueError, match="concerns one app"):
        authorize(Activity.RESTORE, Roles(org_admin=True), None)


def test_audit_is_refused_to_an_app_admin_who_is_not_an_org_admin():
    roles = Roles(app_admin_of=frozenset(Product))
    with pytest.raises(NotAuthorized, match="for organization admins"):
        authorize(Activity.AUDIT, roles, None)
