"""A tiny registry of components by kind and name (timm's `register_model` / `create_model`).

    @register("decoder", "implicit")
    def implicit_decoder(latent_dim: int, ...) -> nn.Module: ...

    build("decoder", "implicit", latent_dim=64)
    available("decoder")  # ["conv", "implicit"]

Kinds in use: "encoder", "bridge", "decoder" (model parts), "style" (teacher visualizers).
Unknown names fail with the list of known ones.
"""

from __future__ import annotations

from typing import Any, Callable

_REGISTRY: dict[str, dict[str, Callable[..., Any]]] = {}


def register(kind: str, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        table = _REGISTRY.setdefault(kind, {})
        if name in table and table[name] is not fn:
            raise ValueError(f"{kind} {name!r} is registered twice")
        table[name] = fn
        return fn

    return decorator


def lookup(kind: str, name: str) -> Callable[..., Any]:
    table = _REGISTRY.get(kind, {})
    if name not in table:
        known = ", ".join(sorted(table)) or "none registered"
        raise KeyError(f"unknown {kind} {name!r}; known {kind}s: {known}")
    return table[name]


def build(kind: str, name: str, **kwargs: Any) -> Any:
    return lookup(kind, name)(**kwargs)


def available(kind: str) -> list[str]:
    return sorted(_REGISTRY.get(kind, {}))
