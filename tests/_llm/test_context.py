"""The skill summary in the system prompt: TF-IDF relevance within a token budget."""

from __future__ import annotations

import pytest

from llmos_jupyter import SkillLibrary
from llmos_jupyter._llm.context import SkillContext, estimate_tokens, score_skills, tokenize

H2 = "compute the H2 ground state energy and plot the convergence"


@pytest.fixture
def library(llmos_home):
    return SkillLibrary(home=llmos_home)


def test_tokenize_drops_stop_words_and_splits_ids():
    assert tokenize("Compute the quantum-vqe energy, please!") == ["compute", "quantum", "vqe", "energy"]


def test_relevance_puts_the_h2_skills_first(library):
    top = [s.skill_id for score, s in score_skills(H2, list(library))[:3]]
    assert set(top) == {"quantum-hamiltonian", "quantum-vqe", "plot-convergence"}
    rc = [s.skill_id for _, s in score_skills("RC circuit transient with ngspice", list(library))]
    assert rc[0] == "circuit-rc"


def test_every_executable_skill_is_indexed_and_relevant_ones_get_ports(library):
    ctx = SkillContext.build(library, H2, budget=3000)
    assert set(ctx.indexed) >= {s.skill_id for s in library if s.executable}
    assert ctx.detailed[:3] and set(ctx.detailed[:3]) == {"quantum-hamiltonian", "quantum-vqe",
                                                         "plot-convergence"}
    assert "convergence_trace (array, Hartree)" in ctx.text
    assert ctx.bodies == []  # no instruction skill is relevant to H2
    assert ctx.tokens <= 3000 and estimate_tokens(ctx.text) <= 3000 + 50


def test_a_standard_skills_body_is_loaded_only_when_relevant(library):
    ctx = SkillContext.build(library, "how do I write the frontmatter of a new skill file", budget=8000)
    assert "skill-authoring" in ctx.bodies
    body = library.get("skill-authoring").body.strip()
    assert body[:200] in ctx.text
    ctx2 = SkillContext.build(library, H2, budget=8000)
    assert body[:200] not in ctx2.text and "skill-authoring" in ctx2.indexed


def test_a_small_budget_is_respected(library):
    ctx = SkillContext.build(library, H2, budget=400)
    assert ctx.tokens <= 400 and estimate_tokens(ctx.text) <= 400 + 20
    assert ctx.detailed == [] or len(ctx.detailed) < 3


def test_notebook_context_is_appended_and_truncated(library):
    ctx = SkillContext.build(library, H2, budget=3000, notebook="Skill graph: a (add)\n" + "x" * 50000)
    assert "## The user's notebook" in ctx.text and "…(truncated)" in ctx.text
    assert ctx.tokens <= 3000
