"""Token prices from `resources/models.yaml`, so cost accounting is data a user can correct."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cognitionos_dagster.llm.yaml_source import load_yaml_source

log = logging.getLogger(__name__)


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_per_million: float = Field(ge=0)
    output_per_million: float = Field(default=0.0, ge=0)


class _PriceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelPrice] = Field(default_factory=dict)


class PriceTable:
    """Looks a model up by exact name, else by the longest listed prefix (dated snapshots)."""

    def __init__(self, prices: dict[str, ModelPrice]) -> None:
        self._prices = dict(prices)
        self._by_length = sorted(self._prices, key=len, reverse=True)
        self._unpriced_noted: set[str] = set()

    def price(self, model: str) -> ModelPrice | None:
        if model in self._prices:
            return self._prices[model]
        base = model.rsplit("/", 1)[-1]  # "openai/gpt-4o" as some proxies spell it
        for name in self._by_length:
            if base.startswith(name):
                return self._prices[name]
        return None

    def cost(self, model: str, input_tokens: int, output_tokens: int) -> float:
        price = self.price(model)
        if price is None:
            if model not in self._unpriced_noted:
                self._unpriced_noted.add(model)
                log.info("model %r has no price in models.yaml; its calls are counted at 0 USD", model)
            return 0.0
        return (input_tokens * price.input_per_million + output_tokens * price.output_per_million) / 1_000_000


def load_price_table(resources_dir: Path) -> PriceTable:
    """An absent file means an empty table (every model costs 0); a malformed one is a ConfigError."""
    return _load(resources_dir.resolve())


@lru_cache(maxsize=8)
def _load(resources_dir: Path) -> PriceTable:
    path = resources_dir / "models.yaml"
    if not path.exists():
        return PriceTable({})
    source = load_yaml_source(path)
    try:
        parsed = _PriceFile.model_validate(source.data or {})
    except ValidationError as exc:
        raise source.validation_error(exc, hint="each model needs input_per_million (and output_per_million)") from exc
    return PriceTable(parsed.models)
