"""Which sites backupbot may talk to (docs/rules.md, "Not in the Government environment").

Atlassian's backup and restore is not available in the Atlassian Government environment (Atlassian;
docs/rules.md), so its sites are refused. Credentials travel only over https; plain http is allowed
for loopback hosts alone, which is where the built-in sandbox site listens.
"""

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

GOVERNMENT_DOMAINS = frozenset(
    {"atlassian-us-gov-mod", "atlassian-us-gov", "atlassian-fex", "atlassian-stg-fedm"}
)
EXAMPLE = "https://your-site.atlassian.net"


class IneligibleSite(ValueError):
    """A site URL backupbot refuses, with the reason in words an admin can act on."""


@dataclass(frozen=True)
class SiteUrl:
    """A site's root URL, normalised: lowercase scheme and host, no trailing slash."""

    scheme: str
    host: str
    port: int | None

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}" + (f":{self.port}" if self.port is not None else "")

    def __str__(self) -> str:
        return self.origin


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_government_host(host: str) -> bool:
    """True for hosts in the Government environment's domains, whatever the top-level domain."""
    labels = host.lower().rstrip(".").split(".")
    # The government name is the registrable label: followed by a top-level domain (.com, .net).
    return any(label in GOVERNMENT_DOMAINS for label in labels[:-1])


def check_site_url(url: str) -> SiteUrl:
    """The normalised site URL, or IneligibleSite saying what is wrong and what is accepted."""
    text = url.strip()
    if not text:
        raise IneligibleSite(f"the site URL is empty; give the site's address, like {EXAMPLE}")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise IneligibleSite(f"the site URL is not a valid URL ({error})") from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in {"https", "http"} or not host:
        raise IneligibleSite(f"the site URL must be an https address like {EXAMPLE}")
    if parts.username is not None or parts.password is not None:
        raise IneligibleSite(
            "the site URL must not carry a user name or password; "
            "credentials come from the site's email and token variable"
        )
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise IneligibleSite(
            f"give the site's root address only, like {EXAMPLE} "
            "(without /wiki, a path, a query or a fragment)"
        )
    if is_government_host(host):
        raise IneligibleSite(
            f"{host} is in the Atlassian Government environment, "
            "where backup and restore isn't available"
        )
    if scheme == "http" and not is_loopback_host(host):
        raise IneligibleSite(
            "the site URL must use https; plain http is allowed only for loopback hosts "
            "such as the built-in sandbox (127.0.0.1, localhost)"
        )
    return SiteUrl(scheme, host, port)
