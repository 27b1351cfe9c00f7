"""Reading structured answers out of model text, shared by the rater and the judges."""

from __future__ import annotations

import json
import re
from typing import Any


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text`` (small models wrap it in chatter), or None if there is none.

    Raises:
        ValueError: The braces hold invalid JSON, or JSON that is not an object.

    Examples:
        >>> json_object('Sure! {"cost": 2} Hope that helps.')
        {'cost': 2}
        >>> json_object("no braces here") is None
        True
    """
    match = re.search(r"\{.*\}", text, flags=re.DOTALL)
    if match is None:
        return None
    try:
        raw = json.loads(match.group(0))
    except json.JSONDecodeError as error:
        raise ValueError(f"invalid JSON: {error.msg}") from None
    if not isinstance(raw, dict):
        raise ValueError("the JSON is not an object")
    return raw
