"""Is a page ready to share? The badges on a report card (ogp.me and what unfurlers need).

Advice, not rules: lengths are shown, never enforced; only the record is read.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..record import Preview

#: ogp.me's required properties; a page without one is not ready to share.
REQUIRED_OG = ("og:title", "og:type", "og:image", "og:url")
TITLE_MAX = 70
DESCRIPTION_MAX = 200
#: What Facebook, LinkedIn and Slack need of a card's image (`--check-images` measures it).
IMAGE_MIN = (200, 200)
IMAGE_LARGE_CARD = (1200, 630)
_IMAGE_PROBLEMS = {
    "broken": "image broken",
    "blocked": "image blocked",
    "not_image": "image URL is not an image",
    "timeout": "image timed out",
}


def is_page(preview: Preview) -> bool:
    """An HTML page (share checks apply), not an image or video URL."""
    content_type = (preview.content_type or "").lower()
    return not content_type or "html" in content_type


def _first(og: dict[str, Any], key: str) -> str | None:
    """The first non-empty string value of an og property (single or repeated)."""
    value = og.get(key)
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, str) and item.strip():
            return item.strip()
    return None


def _scheme(url: str) -> str:
    try:
        return urlsplit(url.strip()).scheme
    except ValueError:
        return "invalid"


def share_issues(preview: Preview) -> list[tuple[str, str]]:
    """Badges for what a processed page lacks to share well: (css class, text).

    `miss`: an ogp.me required property is missing; `warn`: recommended or
    advisory (lengths are shown, never enforced). Empty: ready to share.
    """
    og = preview.og if isinstance(preview.og, dict) else {}
    issues: list[tuple[str, str]] = []
    raw_image = _first(og, "og:image") or _first(og, "og:image:url")
    raw_image = raw_image or _first(og, "og:image:secure_url")
    for key in REQUIRED_OG:
        present = raw_image is not None if key == "og:image" else _first(og, key) is not None
        if not present:
            issues.append(("miss", f"no {key}"))
    if _first(og, "og:description") is None:
        issues.append(("warn", "no og:description"))
    if raw_image is not None:
        first = preview.images[0] if preview.images and isinstance(preview.images[0], dict) else {}
        if not first.get("width") or not first.get("height"):
            issues.append(("warn", "og:image without width/height"))
        if not _scheme(raw_image):
            issues.append(("warn", "relative og:image URL"))
    image = preview.image or raw_image
    scheme = _scheme(image) if image else "https"
    if scheme == "http":
        issues.append(("warn", "image not https"))
    elif scheme not in ("https", ""):
        issues.append(("miss", "image URL not http(s)"))
    issues += image_issues(preview.image_check)
    title = _first(og, "og:title") or preview.title or ""
    if len(title) > TITLE_MAX:
        issues.append(("warn", f"title {len(title)} chars (over {TITLE_MAX})"))
    description = _first(og, "og:description") or preview.description or ""
    if len(description) > DESCRIPTION_MAX:
        issues.append(("warn", f"description {len(description)} chars (over {DESCRIPTION_MAX})"))
    return issues


def image_issues(check: Any) -> list[tuple[str, str]]:
    """Badges from `--check-images`' look at the image (none when it was not checked)."""
    if not isinstance(check, dict):
        return []
    problem = _IMAGE_PROBLEMS.get(str(check.get("status")))
    if problem is not None:
        status = check.get("http_status")
        return [("miss", f"{problem} (HTTP {status})" if status and status >= 400 else problem)]
    width, height = check.get("width"), check.get("height")
    if not (isinstance(width, int) and isinstance(height, int)):
        return []
    if width < IMAGE_MIN[0] or height < IMAGE_MIN[1]:
        return [("warn", f"image {_size(width, height)}, smaller than {_size(*IMAGE_MIN)}")]
    if width < IMAGE_LARGE_CARD[0] or height < IMAGE_LARGE_CARD[1]:
        large = _size(*IMAGE_LARGE_CARD)
        return [("warn", f"image {_size(width, height)}: {large} recommended for a large card")]
    return []


def _size(width: int, height: int) -> str:
    return f"{width}\N{MULTIPLICATION SIGN}{height}"
