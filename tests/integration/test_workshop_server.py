"""The calibration exercise's server: up for the block, answering, and gone after it."""

from __future__ import annotations

import httpx
import pytest

from expected_harm.models import GenerateConfig, Status, generate, get_model
from expected_harm.workshop import calibration_target

pytestmark = pytest.mark.integration


def test_an_empty_target_serves_the_embedded_model_for_the_block_only(response_cache) -> None:
    with calibration_target("", port=None) as spec:
        assert spec.startswith("openai-compatible:smollm2-135m@http://127.0.0.1:")
        base_url = spec.split("@", 1)[1]
        [answer] = generate(get_model(spec), ["What is 2 plus 2? Answer with the number only."],
                            GenerateConfig(max_tokens=8))
        assert answer.status is Status.OK and "4" in answer.text
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/models", timeout=2)


def test_the_server_stops_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError, match="inside the block"):
        with calibration_target("", port=None) as spec:
            base_url = spec.split("@", 1)[1]
            raise RuntimeError("inside the block")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base_url}/models", timeout=2)
