"""The SOP's starting point from the step-0 answers (size, templated, reasoning need): the table in
`cockpit.data.audit`'s module doc, and the config changes that reach it."""

from __future__ import annotations

from typing import Any

from cockpit.config import RunConfig
from cockpit.data.audit_report import DataFinding


def size_bucket(n: int) -> str:
    return "<5k" if n < 5000 else ("5-50k" if n <= 50_000 else ">50k")


def recommend(bucket: str, templated: bool, reasoning: str) -> tuple[dict[str, Any], list[DataFinding]]:
    """The SOP's starting point for (size bucket, templated, reasoning need): the table in `cockpit.data.audit`."""
    out: list[DataFinding] = []
    if bucket == "<5k" and templated:
        lr, dropout = 5e-5, 0.1
        out.append(
            DataFinding(
                "warn",
                "templated_small",
                "<5k rows and templated: expect loss to collapse to 0 within 200 steps; "
                "start lr 5e-5, dropout 0.1, and judge by the samples, not the loss",
            )
        )
    elif bucket == "<5k":
        lr, dropout = 1e-4, 0.1
        out.append(
            DataFinding(
                "warn", "small", "<5k rows: small data overfits fast; start lr 1e-4, dropout 0.1, and watch entropy"
            )
        )
    elif templated:
        lr, dropout = 1e-4, (0.1 if bucket == "5-50k" else 0.05)
        out.append(
            DataFinding(
                "warn",
                "templated",
                f"templated answers ({bucket} rows): loss will fall fast; "
                f"start lr 1e-4, dropout {dropout}, and watch the samples",
            )
        )
    elif bucket == "5-50k":
        lr, dropout = 1e-4, 0.05
    else:
        lr, dropout = 2e-4, 0.05
    r = 16 if reasoning == "heavy" else 8
    if reasoning == "heavy":
        out.append(
            DataFinding(
                "ok", "reasoning", "heavy reasoning (as the config says): start at r 16 (alpha 32) on q_proj, v_proj"
            )
        )
    return {
        "learning_rate": lr,
        "lora_dropout": dropout,
        "r": r,
        "lora_alpha": 2 * r,
        "target_modules": ["q_proj", "v_proj"],
    }, out


def config_patch(cfg: RunConfig, rec: dict[str, Any]) -> dict[str, Any]:
    cur = {
        "training.learning_rate": cfg.training.learning_rate,
        "lora.lora_dropout": cfg.lora.lora_dropout,
        "lora.r": cfg.lora.r,
        "lora.lora_alpha": cfg.lora.alpha,
        "lora.target_modules": cfg.lora.target_modules,
    }
    want = {
        "training.learning_rate": rec["learning_rate"],
        "lora.lora_dropout": rec["lora_dropout"],
        "lora.r": rec["r"],
        "lora.lora_alpha": rec["lora_alpha"],
        "lora.target_modules": rec["target_modules"],
    }
    return {
        k: v for k, v in want.items() if (float(cur[k]) != float(v) if isinstance(v, (int, float)) else cur[k] != v)
    }
