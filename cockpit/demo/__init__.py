"""The built-in demo: a tiny local model, its data and its config. No network, ever.

`demo:tiny-llama` (model) and `demo:instructions` (data) in a config are resolved here.
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
    return str(ensure_demo_model()) if name == DEMO_MODEL else name


def resolve_data_path(path: str) -> str:
    return str(demo_data_path()) if path == DEMO_DATA else path
