"""Does the run fit, and if not, the smallest change that does.

Changes are tried in the order they disturb the run least: a smaller micro-batch with more gradient
accumulation (same effective batch, same maths), then gradient checkpointing (same maths, ~30% slower),
then both, then a 4-bit base (QLoRA: a different model). The first that fits with the wanted 20% free
is offered as `--set` flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cockpit.config import RunConfig
from cockpit.config_patch import apply_patch, patch_to_set_args
from cockpit.estimate.device import Device
from cockpit.estimate.known_shapes import DEMO, TABLE, bundled, table_key
from cockpit.estimate.parts import FITS, Estimate, estimate
from cockpit.estimate.shapes import ModelShape, ShapeError, from_config, model_shape


@dataclass
class Change:
    sets: dict[str, object]
    estimate: Estimate

    @property
    def flags(self) -> str:
        return patch_to_set_args(self.sets)


def _with(cfg: RunConfig, sets: dict[str, object]) -> RunConfig:
    return RunConfig.model_validate(apply_patch(cfg.model_dump(), sets))


def smallest_change(cfg: RunConfig, shape: ModelShape, device: Device) -> Change | None:
    t = cfg.training
    batch, accum = t.per_device_train_batch_size, t.gradient_accumulation_steps
    smaller = []
    b = batch // 2
    while b >= 1:
        smaller.append(
            {"training.per_device_train_batch_size": b, "training.gradient_accumulation_steps": accum * batch // b}
        )
        b //= 2
    gc = {} if cfg.model.gradient_checkpointing else {"model.gradient_checkpointing": True}
    q4 = {} if cfg.model.quantization == "4bit" else {"model.quantization": "4bit"}
    tries: list[dict[str, object]] = list(smaller)
    if gc:
        tries += [gc] + [{**gc, **s} for s in smaller]
    if q4:
        tries += [q4] + ([{**q4, **gc}] if gc else []) + [{**q4, **gc, **s} for s in smaller]
    for sets in tries:
        est = estimate(_with(cfg, sets), shape, device)
        if est.verdict == FITS:
            return Change(sets, est)
    return None


def resolve_model_dir(cfg: RunConfig, *, build_demo: bool) -> Path | None:
    """The local model folder, or None when there is none to read without work (an unbuilt demo model
    when not `build_demo`, a known model not fetched yet, or a hub id that is not in the local cache)."""
    from cockpit.config import DEMO_MODEL
    from cockpit.models import known

    name = cfg.model.name_or_path
    if name == DEMO_MODEL:
        from cockpit.demo.model import ensure_demo_model, model_dir

        if build_demo:
            return ensure_demo_model()
        d = model_dir()
        return d if (d / "config.json").exists() else None
    model = known(name)
    if model is not None:
        from cockpit.models.fetch import is_ready, model_dir

        return model_dir(model) if is_ready(model) else None
    if Path(name).is_dir():
        return Path(name)
    try:
        from huggingface_hub import try_to_load_from_cache

        hit = try_to_load_from_cache(name, "config.json")
    except Exception:  # noqa: BLE001 - not a repo id at all: nothing cached to read
        return None
    return Path(hit).parent if isinstance(hit, str) else None


def shape_for(cfg: RunConfig, *, exact: bool, build_demo: bool) -> ModelShape:
    """From the model's folder when it is on this machine (exact: built on the meta device); else from the
    shapes known without it (the demo's recipe, a known model's, the bundled table), never by building or
    downloading the model first."""
    d = resolve_model_dir(cfg, build_demo=build_demo)
    if d is not None:
        return model_shape(d, exact=exact, trust_remote_code=cfg.model.trust_remote_code)
    name = cfg.model.name_or_path
    fields, source = known_fields(name)
    if fields is None:
        raise ShapeError(
            f"model.name_or_path: {name} is not on this machine and its shapes are not in the bundled table "
            f"({', '.join(sorted(TABLE))}); point it at a local folder holding the model's config.json, or "
            f"fetch just that file: huggingface-cli download {name} config.json"
        )
    return from_config(fields, f"{source} for {name}", source=source)


def known_fields(name: str) -> tuple[dict | None, str]:
    """config.json fields for a model that is not on this machine, and where they come from."""
    from cockpit.config import DEMO_MODEL
    from cockpit.models import known

    if name == DEMO_MODEL:
        return DEMO, "the demo model's recipe (not built yet)"
    model = known(name)
    if model is not None:
        return {"model_type": "llama", **bundled(model.name.removesuffix("-instruct")), **model.shape}, (
            f"the known model's registry entry (not fetched yet: cockpit fetch-model {name})"
        )
    fields = bundled(name)
    return fields, f"the bundled table of common models ({table_key(name)}; not downloaded)"
