"""The rule registry: every rule has its README row in cockpit/advisor/rules.json and every row a rule;
a rule's hit becomes a finding with the rule's id and severity."""

from __future__ import annotations

import pytest

from cockpit.advisor import RULES, evaluate
from cockpit.advisor.registry import ROWS, Hit, Rule, hit_at, over_window, registrar
from cockpit.history import History


def test_every_rule_has_a_row_and_every_row_a_rule():
    assert [r.id for r in RULES if r.id not in ROWS] == []
    assert sorted(set(ROWS) - {r.id for r in RULES}) == []
    assert len({r.id for r in RULES}) == len(RULES)


def test_a_rule_without_a_row_fails_at_registration_naming_the_file():
    rules: list[Rule] = []
    rule = registrar(rules)

    def no_such_rule(ctx):
        return None

    with pytest.raises(LookupError, match=r"'no_such_rule' has no row in cockpit/advisor/rules.json"):
        rule(no_such_rule)
    assert rules == []


def _history() -> History:
    h = History()
    for i in range(1, 11):
        h.add({"kind": "metrics", "step": 10 * i, "loss": 2.0 - i / 10, "grad_norm": 1.0})
    return h


def test_a_hit_takes_the_rules_id_and_its_one_severity():
    (rule,) = [r for r in RULES if r.id == "loss_jump"]
    hit = hit_at("m", None, [10, 20, 30], [1.0, 2.0, 3.0], ratio=3)
    seen = Rule(rule.id, rule.signal, rule.doc, lambda ctx: hit, rule.sop, rule.sop_line, rule.severity, "")
    (f,) = seen.check(evaluate(_history())[0])
    assert (f.rule, f.severity, f.first_step, f.last_step) == ("loss_jump", "danger", 10, 30)
    assert f.evidence == {"steps": [10, 20, 30], "values": [1.0, 2.0, 3.0], "ratio": 3}


def test_a_rule_that_gives_several_severities_needs_one_in_each_hit():
    (rule,) = [r for r in RULES if r.id == "memory_high"]
    assert rule.severity == "warn / danger"
    ctx = evaluate(_history())[0]
    unnamed = Rule(
        rule.id, rule.signal, rule.doc, lambda c: Hit("m", {}, None, None, None), rule.sop, "", rule.severity, ""
    )
    with pytest.raises(ValueError, match="memory_high gives 'warn / danger': each hit must name its severity"):
        unnamed.check(ctx)
    named = Rule(
        rule.id, rule.signal, rule.doc, lambda c: Hit("m", {}, 5, 5, None, "warn"), rule.sop, "", rule.severity, ""
    )
    assert named.check(ctx)[0].severity == "warn"


def test_hit_helpers_span_their_points_and_keep_twenty():
    h = hit_at("m", None, list(range(30)), [float(i) for i in range(30)])
    assert (h.first_step, h.last_step, len(h.evidence["steps"]), len(h.evidence["values"])) == (0, 29, 20, 20)
    w = over_window("m", None, list(range(100, 110)), 4, max=1.0)
    assert (w.first_step, w.last_step, w.evidence) == (106, 109, {"steps": [106, 109], "max": 1.0})
