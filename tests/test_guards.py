"""The guards on a lay summary's draft: each check with an invented draft that fails it and
a near-twin that passes (a number the abstract has or lacks, a study in Alzheimer's disease
with and without the caveat, a preprint named or not...). Pure functions: no database."""

import pytest

from litmon.review.guards import (
    PARTS,
    GuardSettings,
    check_draft,
    failed,
    numbers_in,
    parse_parts,
)

ABSTRACT = (
    "BACKGROUND: Paramagnetic rim lesions are a marker of chronic inflammation.\n"
    "METHODS: We followed 120 people with relapsing MS for 6 months with 7T QSM.\n"
    "RESULTS: Rim lesions were found in 32% of participants (range 10-20 per person); "
    "rims predicted disability (p<.05; hazard ratio 2.0). CD20 counts were not related."
)


def packet(**changes) -> dict:
    """A packet as build_packet makes it: a study in people with MS, indexed by MeSH."""
    work = {
        "title": "Rim lesions on QSM in multiple sclerosis",
        "abstract": ABSTRACT,
        "date": "2026-10",
        "publication_types": ["Journal Article"],
        "links": {
            "pubmed": "https://pubmed.ncbi.nlm.nih.gov/40000001/",
            "doi": "https://doi.org/10.1000/ms.1",
            "pmc": None,
            "url": None,
        },
    }
    facts = {
        "design": {"value": ["cohort study"], "evidence": ["MeSH: Cohort Studies"]},
        "population": {"value": ["humans"], "evidence": ["MeSH check tag: Humans"]},
        "diseases": {
            "studied": {"value": ["Multiple Sclerosis"], "evidence": ["MeSH: Multiple Sclerosis"]},
            "ms_or_related": {"value": True, "evidence": ["MeSH: Multiple Sclerosis"]},
        },
    }
    for key, value in changes.items():
        (work if key in work else facts)[key] = value
    return {"id": 1, "work": work, "facts": facts}


GOOD = {
    "finding": "Brain scans may show lasting swelling in some MS lesions.",
    "what_was_done": (
        "Researchers followed 120 people with MS for 6 months. About 32% had rim lesions,"
        " with 10–20 per person. Rims went with more disability (p<0.05)."
    ),
    "why_it_matters": "Rims could help doctors see which lesions stay active.",
    "limits": "The study was small and short. It used a strong scanner most clinics lack.",
}


def verdicts(draft: dict, the_packet: dict | None = None, **settings) -> dict[str, bool]:
    checks = check_draft(draft, the_packet or packet(), GuardSettings(**settings))
    return {check.name: check.ok for check in checks}


def reason(draft: dict, the_packet: dict, name: str) -> str:
    (check,) = [c for c in check_draft(draft, the_packet) if c.name == name]
    return check.reason


def test_a_good_draft_passes_every_check_and_each_says_why():
    checks = check_draft(GOOD, packet())
    assert [c.name for c in checks] == [
        "parts", "lengths", "reading_grade", "numbers", "population_caveat", "preprint",
        "claims", "links",
    ]  # fmt: skip
    assert failed(checks) == []
    assert all(c.reason for c in checks)


def test_the_four_parts_must_be_present_and_not_empty():
    missing = {key: value for key, value in GOOD.items() if key != "limits"}
    blank = GOOD | {"why_it_matters": "   "}
    assert verdicts(missing)["parts"] is False
    assert "why_it_matters" in reason(blank, packet(), "parts")
    assert verdicts(GOOD)["parts"] is True


def test_lengths_within_the_configured_bounds():
    long = GOOD | {"finding": "Brain scans may show lasting swelling. " * 10}
    assert verdicts(long)["lengths"] is False
    assert "finding has" in reason(long, packet(), "lengths")
    assert verdicts(long, lengths={"finding": (20, 1000)})["lengths"] is True


def test_the_lay_parts_read_at_or_below_the_target_grade():
    hard = GOOD | {
        "why_it_matters": (
            "Quantitative susceptibility mapping characterization of paramagnetic"
            " perilesional iron accumulation potentially facilitates individualized"
            " prognostication regarding neurodegenerative progression trajectories."
        )
    }
    assert verdicts(hard)["reading_grade"] is False
    assert "why_it_matters reads at grade" in reason(hard, packet(), "reading_grade")
    assert verdicts(GOOD)["reading_grade"] is True
    # what_was_done names methods: not a lay part unless configured so
    assert verdicts(GOOD | {"what_was_done": hard["why_it_matters"]})["reading_grade"] is True


def test_every_number_must_be_in_the_title_abstract_or_facts():
    assert verdicts(GOOD)["numbers"] is True  # 120, 6, 32%, 10–20, p<0.05 (".05")
    twin = GOOD | {"what_was_done": GOOD["what_was_done"].replace("32%", "23%")}
    assert verdicts(twin)["numbers"] is False
    assert reason(twin, packet(), "numbers").endswith(": 23")
    longer = GOOD | {"what_was_done": GOOD["what_was_done"].replace("6 months", "8 months")}
    assert verdicts(longer)["numbers"] is False
    # written-out numbers are not checked; names with digits (CD20, 7T) are not numbers
    words = GOOD | {"limits": "Only two groups were compared, and CD20 was not the focus."}
    assert verdicts(words)["numbers"] is True


def test_numbers_are_compared_by_value():
    assert [str(v) for _, v in numbers_in("p<0.05, .05, 1,200 people, 2.0-fold, IL-17")] == [
        "0.05", "0.05", "1.2E+3", "2",
    ]  # fmt: skip


ALZHEIMER = {
    "population": {"value": ["humans"], "evidence": ["MeSH check tag: Humans"]},
    "diseases": {
        "studied": {"value": ["Alzheimer Disease"], "evidence": ["MeSH: Alzheimer Disease"]},
        "ms_or_related": {"value": False, "evidence": ["none of its 9 MeSH headings"]},
    },
}
CAVEAT = (
    "This study was done in people across the Alzheimer's spectrum, not in MS patients, so"
    " we can't assume QSM works the same way in MS."
)


def test_a_study_in_another_disease_needs_a_population_caveat_in_limits():
    study = packet(**ALZHEIMER)
    assert verdicts(GOOD, study)["population_caveat"] is False
    assert "Alzheimer Disease" in reason(GOOD, study, "population_caveat")
    assert verdicts(GOOD | {"limits": CAVEAT}, study)["population_caveat"] is True
    assert verdicts(GOOD, packet())["population_caveat"] is True  # people with MS: none needed


@pytest.mark.parametrize(
    "population",
    [
        {"value": ["animals"], "evidence": ["MeSH check tag: Animals"]},
        {"value": ["in vitro"], "evidence": ["MeSH check tag: In Vitro Techniques"]},
        {"value": "unknown"},
    ],
    ids=["animals", "cells", "unknown"],
)
def test_animals_cells_or_an_unknown_population_need_the_caveat_too(population):
    study = packet(population=population)
    assert verdicts(GOOD, study)["population_caveat"] is False
    mice = GOOD | {"limits": "The work was done in mice, not in people with MS."}
    assert verdicts(mice, study)["population_caveat"] is True


def test_a_preprint_must_be_named_as_not_peer_reviewed():
    preprint = packet(publication_types=["Preprint"])
    assert verdicts(GOOD, preprint)["preprint"] is False
    named = GOOD | {"limits": GOOD["limits"] + " It is a preprint, not yet peer reviewed."}
    assert verdicts(named, preprint)["preprint"] is True
    assert verdicts(GOOD)["preprint"] is True  # not a preprint: nothing to say


@pytest.mark.parametrize(
    "claim",
    [
        "This scan could cure MS.",
        "Results are guaranteed for everyone.",
        "You should take vitamin D to slow MS.",
        "Increase your dose if rims appear.",
    ],
)
def test_no_cure_guarantee_or_dosing_advice(claim):
    bad = GOOD | {"why_it_matters": claim}
    assert verdicts(bad)["claims"] is False
    twin = GOOD | {"why_it_matters": "Talk to your MS care team about what this could mean."}
    assert verdicts(twin)["claims"] is True


@pytest.mark.parametrize(
    ("made", "denied"),
    [
        ("This scan could cure MS.", "This scan is not a cure for MS."),
        ("The drug is proven to slow MS.", "The drug has not been proven to slow MS."),
        ("Stop your treatment if rims appear.", "Do not stop your treatment without your doctor."),
        ("It is not small, and it could cure MS.", "It could not cure MS."),
    ],
)
def test_a_claim_denied_is_not_a_claim_made(made, denied):
    assert verdicts(GOOD | {"limits": GOOD["limits"] + " " + made})["claims"] is False
    assert verdicts(GOOD | {"limits": GOOD["limits"] + " " + denied})["claims"] is True


def test_the_banned_claims_are_configurable():
    settings = {"banned": (r"\bbreakthrough\b",)}
    assert (
        verdicts(GOOD | {"finding": "A breakthrough in MS scans."}, **settings)["claims"] is False
    )
    assert verdicts(GOOD | {"finding": "This could cure MS, some hope."}, **settings)["claims"]


def test_no_links_other_than_the_studys_own():
    own = GOOD | {"limits": GOOD["limits"] + " Read it: https://doi.org/10.1000/MS.1."}
    assert verdicts(own)["links"] is True
    pubmed = GOOD | {
        "limits": "See pubmed.ncbi.nlm.nih.gov http://pubmed.ncbi.nlm.nih.gov/40000001"
    }
    assert verdicts(pubmed)["links"] is True
    elsewhere = GOOD | {"limits": GOOD["limits"] + " More at https://example.com/ms-cure-shop"}
    assert verdicts(elsewhere)["links"] is False
    assert "https://example.com/ms-cure-shop" in reason(elsewhere, packet(), "links")


def test_a_hand_in_is_the_four_parts_only_as_a_json_object_with_their_keys():
    import json

    assert parse_parts(json.dumps(GOOD)) == GOOD
    assert parse_parts("```json\n" + json.dumps(GOOD) + "\n```") == GOOD
    assert parse_parts(json.dumps({"finding": "x", "limits": 3})) == {
        "finding": "x", "what_was_done": "", "why_it_matters": "", "limits": "",
    }  # fmt: skip
    assert parse_parts("A type of MRI (QSM) may show brain changes.") is None
    assert parse_parts('{"summary": "not the four parts"}') is None
    assert parse_parts('{"finding": "cut off') is None
    assert set(PARTS) == set(GOOD)
