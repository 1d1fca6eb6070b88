"""The built-in demo: a tiny local model, its data and its config. No network, ever.

`demo:tiny-llama` (model) and the packaged data sentinels (`demo:instructions`, `demo:json-answers`) in a
config are resolved here; a known real model's name is handed to `cockpit.models`.
"""

from __future__ import annotations

from pathlib import Path

from cockpit.config import DEMO_DATA, DEMO_MODEL

HERE = Path(__file__).resolve().parent


def demo_config_path() -> Path:
    """The packaged demo config (identical to sample_configs/demo-tiny.yaml)."""
    return HERE / "demo-tiny.yaml"


def demo_data_path() -> Path:
    return HERE / "data" / "instructions.jsonl"


def ensure_demo_model(cache_dir: Path | None = None) -> Path:
    from cockpit.demo.model import ensure_demo_model as ensure

    return ensure(cache_dir)


def resolve_model_path(name: str) -> str:
    """The folder a config's `model.name_or_path` loads from: the demo model and the known real models
    (`cockpit.models`) are built or fetched on first use; a hub id or a folder is returned unchanged."""
    if name == DEMO_MODEL:
        return str(ensure_demo_model())
    from cockpit.models import resolve_model_path as resolve_known

    return resolve_known(name)


PACKAGED_DATA = {
    DEMO_DATA: HERE / "data" / "instructions.jsonl",
    # The SmolLM2 sample task (cockpit/models/make_data.py): answer as one line of JSON.
    "demo:json-answers": HERE.parent / "models" / "data" / "json-answers.jsonl",
    "demo:json-answers-eval": HERE.parent / "models" / "data" / "json-answers-eval.jsonl",
}
"""Data sentinels a config may name: files shipped inside the package."""


def resolve_data_path(path: str) -> str:
    return str(PACKAGED_DATA[path]) if path in PACKAGED_DATA else path
