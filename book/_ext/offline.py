"""Sphinx extension: keep every page of the book loadable without the internet.

Jupyter Book 1.x always loads sphinx-thebe, which writes an inline script naming a CDN copy of
thebe on every page, even with the launch button switched off. That script is removed here. Any
other script or stylesheet with a remote address fails the build, so a theme or extension update
that starts fetching from a CDN is caught when the book is built, not by a reader offline.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

_REMOTE = ("http://", "https://", "//")


def _is_thebe_cdn_stub(asset: Any) -> bool:
    return "THEBE_JS_URL" in str(getattr(asset, "attributes", {}).get("body", ""))


def _keep_offline(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    scripts = [js for js in context.get("script_files", []) if not _is_thebe_cdn_stub(js)]
    context["script_files"] = scripts
    for asset in (*scripts, *context.get("css_files", [])):
        filename = str(getattr(asset, "filename", asset) or "")
        if filename.startswith(_REMOTE):
            raise ExtensionError(f"page {pagename!r} would load {filename} from the internet")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _keep_offline, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
