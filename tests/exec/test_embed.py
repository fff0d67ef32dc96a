"""``ccw.exec.embed`` in process: batching, targets (endpoint, pool, embeddingPoolConfig) and
the checks made before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccw.config.schema import Config
from ccw.errors import NotFoundError, UsageError
from ccw.exec import embed
from ccw.exec.faults import ProviderFault
from tests.fakes.provider_server import ProviderServer

pytestmark = pytest.mark.usefixtures("data_dir")


def test_batches_keep_order_and_respect_count_and_window() -> None:
    texts = ["a" * 40, "b" * 40, "c" * 40, "d" * 4]  # 10, 10, 10 and 1 estimated tokens
    assert [len(b) for b in embed.batches(texts, window=25, batch_size=10)] == [2, 2]
    assert [len(b) for b in embed.batches(texts, window=1000, batch_size=3)] == [3, 1]
    assert [t for b in embed.batches(texts, 1000, 100) for t in b] == texts
    with pytest.raises(UsageError, match="input 2 is about 10 tokens"):
        list(embed.batches(["x", "y" * 40], window=5, batch_size=10))


def _config(base: str, **extra: object) -> Config:
    return Config.model_validate(
        {
            "providers": [
                {
                    "id": "p",
                    "type": "openai",
                    "apiBase": base,
                    "apiKey": "sk-embed-key-000000001111",
                    "embeddingModels": [
                        {"id": "small", "capabilities": {"contextWindow": 50}},
                        {"id": "other"},
                    ],
                }
            ],
            "endpoints": [{"id": "vec", "providerId": "p", "model": "small"}],
            **extra,
        }
    )


def test_an_endpoint_embeds_in_order_with_the_models_window(tmp_path: Path) -> None:
    with ProviderServer() as srv:
        config = _config(srv.url + "/v1")
        texts = ["one " * 30, "two " * 20, "three"]  # 30, 20 and 2 tokens; window 50
        result = embed.embed(config, tmp_path / "c.json", texts, model_id="vec")
        assert srv.embedding_batches == [2, 1]
        assert len(result.vectors) == 3 and result.deployments == ["p/default", "p/default"]
        again = embed.embed(config, tmp_path / "c.json", ["three"], model_id="vec")
        assert again.vectors[0] == result.vectors[2]
        with pytest.raises(UsageError, match="takes 50 per input"):
            embed.embed(config, tmp_path / "c.json", ["x" * 400], model_id="vec")
        assert srv.embedding_batches == [2, 1, 1]  # the refused text was never sent


def test_targets_pools_and_errors(tmp_path: Path) -> None:
    with ProviderServer() as srv:
        legacy = {
            "enabled": True,
            "targetModel": "other",
            "strategy": "round_robin",
            "autoDiscover": True,
            "defaultCooldown": 60,
            "defaultMaxConcurrentPerKey": 4,
        }
        config = _config(srv.url + "/v1", embeddingPoolConfig=legacy)
        result = embed.embed(config, tmp_path / "c.json", ["hi"])  # the legacy pool
        assert result.model == "other" and srv.requests[-1].body["model"] == "other"
        with pytest.raises(UsageError, match="nothing to embed"):
            embed.embed(config, tmp_path / "c.json", [])
        with pytest.raises(NotFoundError):
            embed.embed(config, tmp_path / "c.json", ["hi"], model_id="nope")
        srv.fail(401)
        with pytest.raises(ProviderFault) as caught:
            embed.embed(config, tmp_path / "c.json", ["hi"], model_id="vec")
        assert caught.value.kind == "authentication"
        assert "sk-embed-key-000000001111" not in str(caught.value)
    bare = _config("http://127.0.0.1:9/v1")
    with pytest.raises(UsageError, match="no --model given"):
        embed.embed(bare, tmp_path / "c.json", ["hi"])
