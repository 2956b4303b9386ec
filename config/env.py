"""Reading settings from the environment, failing loudly on bad values.

Every reader takes the variable's name and a development default. A value that is set but
cannot be understood raises ImproperlyConfigured naming the variable and what it accepts,
so a typo stops the process at start instead of silently changing behaviour.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "", environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get(name, default).strip()


def env_bool(name: str, default: bool, environ: Mapping[str, str] | None = None) -> bool:
    raw = env_str(name, "", environ).lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of: true, false, 1, 0, yes, no, on, off."
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    raw = env_str(name, "", environ)
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum of {maximum}.")
    return value


def env_list(name: str, default: list[str], environ: Mapping[str, str] | None = None) -> list[str]:
    raw = env_str(name, "", environ)
    if raw == "":
        return list(default)
    return [part.strip() for part in raw.split(",") if part.strip()]


def env_url(name: str, schemes: tuple[str, ...], environ: Mapping[str, str] | None = None) -> str:
    """An optional URL whose scheme must be one of `schemes`; "" when unset."""
    raw = env_str(name, "", environ)
    if raw == "":
        return ""
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with {' or '.join(s + '://' for s in schemes)}; "
            f"got {raw.split('@')[-1]!r}."
        )
    return raw


def env_path_prefix(name: str, default: str, environ: Mapping[str, str] | None = None) -> str:
    """A URL path segment such as "admin/" (no leading slash, one trailing slash)."""
    raw = env_str(name, default, environ).strip("/")
    if not raw or any(c in raw for c in " ?#"):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a usable URL path, e.g. 'staff-admin'.")
    return raw + "/"
