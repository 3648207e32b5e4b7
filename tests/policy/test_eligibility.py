"""Which site URLs backupbot accepts: no Government environment, https except on loopback."""

import pytest

from policy.eligibility import IneligibleSite, check_site_url

GOVERNMENT = ["atlassian-us-gov-mod", "atlassian-us-gov", "atlassian-fex", "atlassian-stg-fedm"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("https://ACME.Atlassian.net/", "https://acme.atlassian.net"),
        ("  https://acme.atlassian.net  ", "https://acme.atlassian.net"),
        ("HTTPS://jira.example.com:8443", "https://jira.example.com:8443"),
        ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
        ("http://127.5.6.7:80", "http://127.5.6.7:80"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://[::1]:9000", "http://[::1]:9000"),
    ],
)
def test_accepted_site_urls_are_normalised_to_their_origin(url, origin):
    assert check_site_url(url).origin == origin


@pytest.mark.parametrize("domain", GOVERNMENT)
@pytest.mark.parametrize("tld", ["com", "net"])
def test_government_sites_are_refused_with_the_reason(domain, tld):
    with pytest.raises(IneligibleSite, match="Atlassian Government environment"):
        check_site_url(f"https://acme.{domain}.{tld}")


def test_a_government_domain_is_refused_whatever_the_case_or_a_trailing_dot():
    with pytest.raises(IneligibleSite, match="Government"):
        check_site_url("https://ACME.Atlassian-US-Gov-Mod.com./")


def test_a_commercial_domain_that_merely_contains_gov_letters_is_accepted():
    assert check_site_url("https://atlassian-us-gov-fan.atlassian.net").host == (
        "atlassian-us-gov-fan.atlassian.net"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://acme.atlassian.net", "must use https"),
        ("http://10.0.0.5", "must use https"),
        ("ftp://acme.atlassian.net", "https address"),
        ("acme.atlassian.net", "https address"),
        ("https://", "https address"),
        ("", "empty"),
        ("https://acme.atlassian.net/wiki", "root address only"),
        ("https://acme.atlassian.net/?x=1", "root address only"),
        ("https://acme.atlassian.net/#top", "root address only"),
        ("https://me:secret@acme.atlassian.net", "must not carry a user name or password"),
        ("https://acme.atlassian.net:99999", "not a valid URL"),
    ],
)
def test_other_urls_are_refused_saying_what_is_accepted(url, reason):
    with pytest.raises(IneligibleSite, match=reason):
        check_site_url(url)


def test_a_refusal_never_repeats_a_password_from_the_url():
    with pytest.raises(IneligibleSite) as refusal:
        check_site_url("https://me:hunter2@acme.atlassian.net")
    assert "hunter2" not in str(refusal.value)
