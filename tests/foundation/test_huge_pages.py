"""What `cognos db status` says about huge pages in each state a server can be in."""

from __future__ import annotations

import pytest

from cognitionos_dagster.db.huge_pages import HugePages


@pytest.mark.parametrize(
    ("pages", "says"),
    [
        (HugePages("try", 280, True, 300, 2048), "in use"),
        (HugePages("try", 280, False, 0, 2048),
         "not in use: the server needs 280 pages of 2 MB, the kernel reserves 0; see docs/operations.md, 'Huge pages'"),
        (HugePages("off", 280, False, 300, 2048), "off (huge_pages = off in the server's settings)"),
        (HugePages("try", 280, None, 0, 2048),
         "unknown: only a server reached through a Unix socket can be inspected from here; it needs 280 pages of 2 MB"),
        (HugePages("try", None, None, None, None), "unknown on this platform"),
    ],
)
def test_the_advice_names_what_to_do(pages: HugePages, says: str) -> None:
    assert pages.advice() == says
