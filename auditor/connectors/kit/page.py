"""One response body exactly as received, with the URL that produced it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Page:
    """`url` answered `body` (bytes as received); `link` is the Link header (GitHub paging), `items`
    the number of records it holds when the connector counted them."""

    url: str
    body: bytes
    link: str = ""
    items: int = 0

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()
