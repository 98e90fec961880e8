"""The same HTML for a bare WeasyPrint render: asset URLs turned into file:// URLs.

A bare `weasyprint.HTML(string=...)` has no base URL and no portal fetcher, so the
portal's root-relative URLs would not load and the bare render would skip the
stylesheet and images: less work, an unfair comparison. Pointing each URL at the same
file (found as the portal's fetcher finds it) gives WeasyPrint's default fetcher the
same assets to read.
"""

import re

from billing.pdf import asset_path
from portal.exceptions import PdfRenderError

_ASSET_URL = re.compile(r'(?P<attr>\b(?:src|href)=")(?P<url>[^"]+)"')


def file_urls(html: str) -> str:
    def replace(match: re.Match) -> str:
        try:
            path = asset_path(match["url"])
        except PdfRenderError:
            # Not an asset (a mailto: link, say): the bare render sees it unchanged.
            return match[0]
        return f'{match["attr"]}{path.resolve().as_uri()}"'

    return _ASSET_URL.sub(replace, html)
