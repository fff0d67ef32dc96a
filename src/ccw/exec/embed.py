"""Embeddings through ``litellm.embedding`` (or the Router over several keys or a pool), with
the keys, routing, retry policy and fault classification of a chat call.

Texts are sent in batches: at most ``batch_size`` inputs per request, and no more estimated
tokens per request than the model takes (``embeddingModels[].capabilities.contextWindow``,
else LiteLLM's data, else 8,191). A single text longer than that is refused before anything
is sent, naming it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccw.config.effective import effective_config
from ccw.config.schema import Config, ModelPool
from ccw.errors import UsageError
from ccw.exec import events, http_guard
from ccw.exec.call_policy import Tries, TryState, with_policy
from ccw.exec.deadline import Deadline
from ccw.exec.deployments import DEFAULT_KEY_ID
from ccw.exec.key_state import KeyStates, state_file
from ccw.exec.target import CallTarget, endpoint_target, pool_target

DEFAULT_BATCH = 256
DEFAULT_WINDOW = 8191  # OpenAI's embedding models take this many tokens per input
CHARS_PER_TOKEN = 4  # a cautious estimate: prose runs nearer 4, code nearer 3.8
EMBEDDING_POOL_ID = "embedding-pool"  # ``embeddingPoolConfig`` as a pool


@dataclass
class EmbedResult:
    vectors: list[list[float]]
    model: str
    deployments: list[str] = field(default_factory=list)  # ``provider/key`` per batch
    prompt_tokens: int | None = None
    batches: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "count": len(self.vectors),
            "dimensions": len(self.vectors[0]) if self.vectors else 0,
            "batches": self.batches,
            "deployments": sorted(set(self.deployments)),
            "usage": {"promptTokens": self.prompt_tokens},
            "embeddings": self.vectors,
        }


def _legacy_pool(config: Config) -> ModelPool | None:
    legacy = config.embedding_pool_config
    if legacy is None or not legacy.enabled or not legacy.target_model:
        return None
    return ModelPool(
        id=EMBEDDING_POOL_ID,
        model_type="embedding",
        target_model=legacy.target_model,
        strategy=legacy.strategy,
        auto_discover=legacy.auto_discover,
        excluded_provider_ids=legacy.excluded_provider_ids,
        default_cooldown=legacy.default_cooldown,
        default_max_concurrent_per_key=legacy.default_max_concurrent_per_key,
    )


def embedding_target(config: Config, model_id: str | None) -> CallTarget:
    """``--model``: an endpoint or an embedding pool; else ``embeddingPoolConfig``, else the
    only embedding pool."""
    config = effective_config(config)
    pools = [p for p in config.model_pools or () if p.model_type == "embedding" and p.enabled]
    legacy = _legacy_pool(config)
    if model_id is None:
        chosen = legacy or (pools[0] if len(pools) == 1 else None)
        if chosen is None:
            names = ", ".join(p.id for p in pools) or "an endpoint whose model embeds"
            raise UsageError(
                "no --model given and no single embedding pool", f"pass --model ({names})"
            )
        return pool_target(config, chosen, model_kind="embedding")
    endpoint = config.endpoint(model_id)
    if endpoint is not None:
        return endpoint_target(config, endpoint, model_kind="embedding")
    pool = config.pool(model_id) or (legacy if model_id == EMBEDDING_POOL_ID else None)
    if pool is None:
        from ccw.config.effective import find_endpoint

        find_endpoint(config, model_id)  # raises NotFoundError with the near ids
        raise AssertionError("unreachable")
    return pool_target(config, pool, model_kind="embedding")


def window_of(target: CallTarget) -> int:
    definition = target.provider.model_definition(target.endpoint.model, "embedding")
    capabilities = definition.capabilities if definition else None
    if capabilities is not None and capabilities.context_window:
        return capabilities.context_window
    from ccw.exec.pricing import context_window

    return context_window(target.model) or DEFAULT_WINDOW


def estimate_tokens(text: str) -> int:
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


def batches(texts: list[str], window: int, batch_size: int) -> Iterator[list[str]]:
    """Consecutive batches of at most ``batch_size`` texts and ``window`` estimated tokens."""
    for index, text in enumerate(texts):
        if estimate_tokens(text) > window:
            raise UsageError(
                f"input {index + 1} is about {estimate_tokens(text)} tokens; the model takes "
                f"{window} per input",
                "split it into smaller pieces",
            )
    batch: list[str] = []
    tokens = 0
    for text in texts:
        cost = estimate_tokens(text)
        if batch and (len(batch) >= batch_size or tokens + cost > window):
            yield batch
            batch, tokens = [], 0
        batch.append(text)
        tokens += cost
    if batch:
        yield batch


def _kwargs(target: CallTarget, batch: list[str], timeout: float | None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"input": batch, "num_retries": 0, "max_retries": 0}
    if timeout:
        kwargs["timeout"] = timeout
    if not target.routed:
        kwargs.update(target.litellm_params())
    client = http_guard.client_for(target.model)
    if client is not None and not target.routed:
        kwargs["client"] = client
    return kwargs


def embed(
    config: Config,
    config_path: Path,
    texts: list[str],
    *,
    model_id: str | None = None,
    batch_size: int = DEFAULT_BATCH,
    timeout: float | None = None,
    on_event: events.OnEvent = events.ignore,
) -> EmbedResult:
    """Embed ``texts`` in order; faults raise ``ProviderFault`` as a chat call's do."""
    if not texts:
        raise UsageError("nothing to embed", "pass TEXT..., or -i FILE (one text per line)")
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    target = embedding_target(config, model_id)
    planned = list(batches(texts, window_of(target), batch_size))
    from ccw.exec.litellm_call import load_litellm
    from ccw.paths import data_dir

    litellm = load_litellm(target.proxies())
    states = KeyStates(state_file(data_dir(), config_path)) if target.routed else None
    deadline = Deadline(timeout)
    result = EmbedResult([], target.endpoint.model)
    tokens = 0
    for batch in planned:
        response = _send(litellm, target, batch, deadline, states, on_event)
        rows = sorted(response.data, key=lambda item: _get(item, "index") or 0)
        result.vectors.extend(list(_get(row, "embedding")) for row in rows)
        deployment = _answered(response) or (
            None if target.routed else f"{target.provider.id}/{DEFAULT_KEY_ID}"
        )
        if deployment:
            result.deployments.append(deployment)
        usage = getattr(response, "usage", None)
        tokens += int(_get(usage, "prompt_tokens") or 0) if usage is not None else 0
        result.batches += 1
    result.prompt_tokens = tokens or None
    return result


def _send(
    litellm: Any,
    target: CallTarget,
    batch: list[str],
    deadline: Deadline,
    states: KeyStates | None,
    on_event: events.OnEvent,
) -> Any:
    """One batch under the retry policy."""

    def one_try(tries: Tries, per_try: float | None, state: TryState) -> Any:
        kwargs = _kwargs(target, batch, per_try)
        response = tries.sender("embedding", kwargs)(**kwargs)
        state.answered_by = _answered(response)
        if state.answered_by:
            state.seen.append(state.answered_by)
        return response

    response, _ = with_policy(
        litellm, target, one_try, on_event=on_event, deadline=deadline, states=states
    )
    return response


def _answered(response: Any) -> str | None:
    from ccw.exec.routing import answered_by

    return answered_by(response)


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)
