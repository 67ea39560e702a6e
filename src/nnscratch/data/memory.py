"""Refusing, before any allocation, data that would not fit: the machine's memory (the
core's :func:`~nnscratch.core.checks.check_memory`) and this process's address-space limit
(``ulimit -v``, POSIX ``RLIMIT_AS``), where one is set."""

from __future__ import annotations

from nnscratch.core.checks import check_memory, fail

try:
    import resource
except ImportError:  # not POSIX: only the machine's memory is known
    resource = None


def address_space_limit() -> int:
    """This process's soft ``RLIMIT_AS`` in bytes; 0 where there is none (or unknown)."""
    if resource is None:
        return 0
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return 0 if soft == resource.RLIM_INFINITY or soft <= 0 else int(soft)


def check_fits_memory(name: str, n_bytes: float, what: str) -> None:
    """Refuse ``n_bytes`` (described by ``what``) that exceed the machine's memory or this
    process's address-space limit, naming ``name``."""
    check_memory(name, n_bytes, what)
    limit = address_space_limit()
    if 0 < limit < n_bytes:
        got = f"{what}, about {n_bytes / 2**30:.3g} GiB"
        expected = f"sizes that fit in this process's address-space limit ({limit / 2**30:.1f} GiB)"
        raise fail(name, expected, got, described=True)
