"""docs/SOP.md is the one place the advisor cites: every `docs/SOP.md#anchor` in the code, the README and
the SOP itself names a section that exists (anchors as GitHub makes them from headings)."""

from __future__ import annotations

import re
from pathlib import Path

from cockpit.advisor import RULES
from cockpit.advisor.registry import SOP, TRAINER_DOCS
from cockpit.advisor.stage import STAGE_SOP, STAGES

ROOT = Path(__file__).parent.parent
SOP_FILE = ROOT / "docs" / "SOP.md"
CITE = re.compile(r"docs/SOP\.md#([\w-]+)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def test_slug_is_githubs():
    assert slug("Gradient trouble: the order of remedies") == "gradient-trouble-the-order-of-remedies"
    assert slug("Stage 3: learning-rate sweep") == "stage-3-learning-rate-sweep"
    assert slug("Signal: grad_norm") == "signal-grad_norm"


def test_every_rule_cites_an_existing_section():
    """...or, for a method the SOP does not cover (preference, RL), the trainer's documentation."""
    have = anchors(SOP_FILE.read_text())
    sop_rules = [r for r in RULES if not r.sop.startswith(TRAINER_DOCS)]
    missing = {r.id: r.sop for r in sop_rules if not r.sop.startswith(SOP) or r.sop[len(SOP) :] not in have}
    assert not missing, missing
    assert len(sop_rules) >= 28


def test_only_rules_of_methods_the_sop_does_not_cover_cite_the_trainers_docs():
    cited = {r.id: r.kinds for r in RULES if r.sop.startswith(TRAINER_DOCS)}
    assert cited and all(kinds and set(kinds) <= {"preference", "rl"} for kinds in cited.values()), cited


def test_every_stage_has_its_section():
    have = anchors(SOP_FILE.read_text())
    assert set(STAGE_SOP) == set(STAGES)
    for n, cite in STAGE_SOP.items():
        assert cite.startswith(SOP) and cite[len(SOP) :] in have and f"stage-{n}-" in cite, cite


def test_every_cited_anchor_exists_in_code_docs_and_readme():
    have = anchors(SOP_FILE.read_text())
    files = [*ROOT.joinpath("cockpit").rglob("*.py"), ROOT / "README.md", *ROOT.joinpath("docs").glob("*.md")]
    cited = {(f.relative_to(ROOT).as_posix(), a) for f in files for a in CITE.findall(f.read_text())}
    cited |= {("docs/SOP.md", a) for a in re.findall(r"\]\(#([\w-]+)\)", SOP_FILE.read_text())}
    assert len(cited) > 10
    assert not {c for c in cited if c[1] not in have}


def test_a_missing_anchor_is_caught():
    """The check above can fail: a renamed heading loses its anchor."""
    text = SOP_FILE.read_text().replace("## The stop list", "## What stops a run")
    assert "the-stop-list" in anchors(SOP_FILE.read_text()) and "the-stop-list" not in anchors(text)


def test_the_sop_states_the_order_of_remedies_and_the_stages():
    text = SOP_FILE.read_text()
    order = text.split("## Gradient trouble: the order of remedies")[1].split("\n## ")[0]
    assert order.index("lr x0.5") < order.index("clipping") < order.index("lower lora_alpha")
    assert "Never cut r first" in order
    for n in range(9):
        assert f"\n## Stage {n}: " in text
    no_more = [p for p in ROOT.joinpath("cockpit").rglob("*.py") if re.search(r"\b(DESIGN|STYLE)\.md", p.read_text())]
    assert not no_more, "comments point at files outside the repository"
