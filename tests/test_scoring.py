"""Relevance scoring: the matching rules (each with an invented near-twin that must score
differently), explanations, works without abstracts, and scoring as a stage that follows
``work_events`` once, drops scores of works merged away or deleted, and rescoring."""

import json
from dataclasses import replace

import pytest

from litmon.core.records import Deletion, Record
from litmon.db import merge
from litmon.db.candidates import scored_works
from litmon.db.store import delete_works, save_records
from litmon.scoring.match import Matcher
from litmon.scoring.profile import BEYOND_CAP, Group, Negative, Profile, Term
from litmon.scoring.run import rescore_all, score_pending
from litmon.scoring.score import Scorer, WorkText
from litmon.settings import load_config

PROFILES = load_config(env={}).profiles
IMAGING = PROFILES["ms_neuroimaging"]
CLINICAL = PROFILES["ms_clinical"]
SCORER = Scorer(list(PROFILES.values()))


def text(title, abstract="", mesh=(), types=("Journal Article",), keywords=(), work_id=1):
    return WorkText(work_id, title, abstract, list(keywords), list(mesh), list(types))


def score(work, topic="ms_neuroimaging"):
    return next(s for s in SCORER.score(work) if s.topic == topic)


def matched(result):
    return {(m["term"], m["field"]) for c in result.components for m in c["matches"]}


@pytest.mark.parametrize(
    ("spelling", "hit", "twin"),
    [
        # word boundaries: a term is never part of a word
        ("rim lesion", "rim lesions at 7T", "primary progressive lesions"),
        ("MS", "patients with MS", "MSc students"),
        # an acronym matches as written: "ms" is milliseconds, "Oct" a month
        ("MS", "relapsing MS", "echo time 20 ms"),
        ("OCT", "OCT of the retina", "seen in Oct 2024"),
        # an acronym after a hyphen or doubled with a slash belongs to a method
        ("MS", "MS-related fatigue", "measured by LC-MS"),
        ("MS", "MS/NMOSD overlap", "tandem MS/MS spectra"),
        ("MOG", "anti-MOG antibodies", "non-MOG"),
        # hyphen, space or nothing; Unicode dashes too
        (
            "susceptibility-weighted",
            "susceptibility weighted imaging",
            "susceptibility was weighted",
        ),
        ("neuro-inflammation", "chronic neuroinflammation", "neuro inflamed"),
        ("TSPO PET", "TSPO\u2010PET binding", "TSPO and PET"),
        # plurals of the last word, prefixes with *
        ("biopsy", "brain biopsies", "biopsied"),
        ("microglia*", "microglial activation", "glia"),
        # a hyphen that may be nothing joins words anywhere in the spelling, plurals too
        ("out-of-pocket", "outofpocket costs", "out of the pocket"),
        ("micro-haemorrhage", "cerebral microhaemorrhages", "microhaemorrhagic foci"),
        ("randomized, double-blind", "a randomized, doubleblind trial", "randomized double-blind"),
        # a common first word ("in") does not make a rare pair ("in reply") be found
        ("in reply", "In reply to the letter", "in replying"),
    ],
)
def test_matching_rules(spelling, hit, twin):
    matcher = Matcher([(spelling, "term")])
    assert matcher.find(hit) == {"term"}
    assert matcher.find(twin) == set()


def test_a_term_inside_a_longer_one_is_found_too():
    matcher = Matcher(
        [("leukoencephalopathy", "short"), ("progressive multifocal leukoencephalopathy", "pml")]
    )
    assert matcher.find("progressive multifocal leukoencephalopathy under natalizumab") == {
        "short",
        "pml",
    }


def test_qsm_in_ms_is_relevant_and_qsm_of_the_liver_is_not():
    ms = text(
        "Quantitative susceptibility mapping of paramagnetic rim lesions in multiple sclerosis",
        "QSM at 3T in 80 patients with relapsing MS showed rim lesions in 40%.",
        mesh=["Humans", "Multiple Sclerosis", "Magnetic Resonance Imaging"],
    )
    liver = text(
        "Quantitative susceptibility mapping of the liver for iron overload",
        "QSM at 3T in 80 patients with hepatic iron overload correlated with biopsy iron.",
        mesh=["Humans", "Liver", "Iron Overload", "Magnetic Resonance Imaging"],
    )
    assert score(ms).above(IMAGING.threshold)
    assert not score(liver).above(IMAGING.threshold)
    assert ("other organ", "title") in matched(score(liver))


def test_animal_only_studies_score_lower_than_the_same_study_in_humans():
    title = "Quantitative susceptibility mapping of demyelinating lesions"
    abstract = "QSM tracked iron in demyelinating lesions over 12 weeks."
    humans = text(title, abstract, mesh=["Humans", "Demyelinating Diseases"])
    animals = text(title, abstract, mesh=["Animals", "Demyelinating Diseases"])
    both = text(title, abstract, mesh=["Animals", "Humans", "Demyelinating Diseases"])
    assert score(animals).score == pytest.approx(score(humans).score - 6)
    assert score(both).score == score(humans).score
    assert ("Animals without Humans", "mesh") in matched(score(animals))


def test_alzheimers_qsm_with_inflammation_markers_is_relevant_to_the_imaging_topic():
    work = text(
        "Brain iron on quantitative susceptibility mapping tracks plasma GFAP across the"
        " Alzheimer's disease spectrum",
        "In 210 participants, QSM susceptibility in the hippocampus correlated with plasma"
        " glial fibrillary acidic protein and YKL-40, markers of neuroinflammation.",
        mesh=["Humans", "Alzheimer Disease", "Magnetic Resonance Imaging", "Iron"],
    )
    result = score(work)
    assert result.above(IMAGING.threshold)
    assert {("QSM", "title"), ("inflammation markers", "title")} <= matched(result)


def test_errata_editorials_and_comments_fall_below_any_threshold():
    title = "Paramagnetic rim lesions in multiple sclerosis"
    article = text(title, "Rim lesions on QSM predicted disability.", mesh=["Multiple Sclerosis"])
    assert score(article).above(IMAGING.threshold)
    for kind in ("Published Erratum", "Editorial", "Comment"):
        notice = replace(article, publication_types=[kind])
        for topic, profile in PROFILES.items():
            assert not score(notice, topic).above(profile.threshold), (kind, topic)
    untyped = replace(article, title="Erratum to: " + title, publication_types=[])
    assert not score(untyped).above(IMAGING.threshold)


def test_ms_drug_pricing_is_below_the_clinical_threshold_and_a_trial_above():
    pricing = text(
        "Trends in list prices of disease-modifying therapies for multiple sclerosis",
        "Medicare Part D list prices of ocrelizumab and other DMTs rose 8% a year.",
        mesh=["Humans", "Multiple Sclerosis", "Drug Costs"],
    )
    trial = text(
        "Ublituximab versus teriflunomide in relapsing multiple sclerosis",
        "In this randomized trial, ublituximab lowered the annualized relapse rate.",
        mesh=["Humans", "Multiple Sclerosis, Relapsing-Remitting"],
        types=["Journal Article", "Randomized Controlled Trial"],
    )
    assert not score(pricing, "ms_clinical").above(CLINICAL.threshold)
    assert score(trial, "ms_clinical").above(CLINICAL.threshold)
    assert ("drug pricing", "title") in matched(score(pricing, "ms_clinical"))


def test_a_work_without_abstract_scores_from_title_and_mesh():
    result = score(
        text(
            "Central vein sign at 7T in early multiple sclerosis",
            mesh=["Humans", "Multiple Sclerosis", "Magnetic Resonance Imaging"],
        )
    )
    fields = {field for _, field in matched(result)}
    assert fields == {"title", "mesh"}
    assert result.above(IMAGING.threshold)


def test_the_score_is_the_sum_of_named_components_and_caps_bend():
    work = text(
        "QSM and susceptibility-weighted imaging of paramagnetic rim lesions, central vein"
        " sign and TSPO PET in multiple sclerosis",
        "QSM, SWI, PRL, CVS and TSPO in MS.",
        types=["Randomized Controlled Trial", "Clinical Trial"],
    )
    result = score(work)
    by_name = {c["component"]: c for c in result.components}
    assert list(by_name) == ["disease", "imaging", "study_type", "negative"]
    assert result.score == sum(c["points"] for c in result.components)
    (imaging,) = [group for group in IMAGING.groups if group.name == "imaging"]
    # past its cap a group adds less and less, never BEYOND_CAP more
    assert by_name["imaging"]["cap"] == imaging.cap
    assert imaging.cap < by_name["imaging"]["points"] < imaging.cap + BEYOND_CAP
    assert sum(m["points"] for m in by_name["imaging"]["matches"]) > imaging.cap
    # only the best design counts: an RCT is also a clinical trial
    assert by_name["study_type"]["points"] == 2
    assert SCORER.score(work) == SCORER.score(work)


def test_profile_hash_follows_the_profile():
    changed = replace(IMAGING, threshold=IMAGING.threshold + 1)
    assert changed.hash != IMAGING.hash
    assert replace(IMAGING).hash == IMAGING.hash


# --- scoring as a stage ------------------------------------------------------------------


def work_scores(db, work_id: int) -> list[dict]:
    """A work's stored scores (the rows the queue reads), the explanation decoded."""
    rows = db.execute(
        "SELECT topic, score, explanation, profile FROM work_scores WHERE work_id = ?",
        (work_id,),
    ).fetchall()
    return [
        {"topic": t, "score": s, "explanation": json.loads(e), "profile": p} for t, s, e, p in rows
    ]


def pubmed(pmid, title, abstract=None, mesh=(), **fields):
    return Record(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        title=title,
        abstract=abstract,
        mesh=list(mesh),
        authors=[f"Author{pmid}, A."],
        journal="Mult Scler",
        pub_date="2026",
        publication_types=["Journal Article"],
        **fields,
    )


ON_TOPIC = pubmed(
    "1",
    "Paramagnetic rim lesions on QSM predict disability in multiple sclerosis",
    "In 120 patients with MS, paramagnetic rim lesions on quantitative susceptibility mapping"
    " predicted disability worsening.",
    ["Humans", "Multiple Sclerosis", "Magnetic Resonance Imaging"],
)
TREATMENT = pubmed(
    "2",
    "Inebilizumab and attack risk in aquaporin-4 antibody-positive NMOSD",
    "Inebilizumab reduced attacks in NMOSD over 4 years.",
    ["Humans", "Neuromyelitis Optica"],
)
OFF_TOPIC = pubmed(
    "3",
    "Hepatic iron quantification with QSM in thalassemia",
    "Liver QSM agreed with biopsy iron concentration.",
    ["Humans", "Liver", "Thalassemia"],
)


def test_stage_puts_on_topic_works_above_threshold_with_explanations(db):
    save_records(db, [OFF_TOPIC, TREATMENT, ON_TOPIC])
    profiles = list(PROFILES.values())
    summary = score_pending(db, profiles)
    assert summary.scored == 3
    # the rim-lesion study is an MS biomarker study too, so it counts for the broad topic
    assert summary.above == {"ms_neuroimaging": 1, "ms_clinical": 2}
    titles = dict(db.execute("SELECT id, title FROM works").fetchall())
    thresholds = {profile.topic: profile.threshold for profile in profiles}
    found = {(titles[w], t) for w, t, _ in scored_works(db.conn, thresholds)}
    assert found == {
        (ON_TOPIC.title, "ms_neuroimaging"),
        (ON_TOPIC.title, "ms_clinical"),
        (TREATMENT.title, "ms_clinical"),
    }
    (work_id,) = [w for w, t in titles.items() if t == ON_TOPIC.title]
    imaging = next(s for s in work_scores(db, work_id) if s["topic"] == "ms_neuroimaging")
    terms = {m["term"] for c in imaging["explanation"] for m in c["matches"]}
    assert {"paramagnetic rim lesion", "QSM", "multiple sclerosis"} <= terms
    assert imaging["profile"] == IMAGING.hash


def test_events_are_consumed_once_and_a_revision_rescores(db):
    profiles = list(PROFILES.values())
    (saved,) = save_records(db, [ON_TOPIC]).records
    assert score_pending(db, profiles).scored == 1
    assert score_pending(db, profiles).scored == 0
    save_records(db, [replace(ON_TOPIC, abstract=None, revised="2026-11-30")])
    assert score_pending(db, profiles).scored == 1
    (imaging,) = [s for s in work_scores(db, saved.work_id) if s["topic"] == "ms_neuroimaging"]
    assert {m["field"] for c in imaging["explanation"] for m in c["matches"]} <= {"title", "mesh"}


def test_a_merged_away_or_deleted_work_loses_its_scores(db):
    profiles = list(PROFILES.values())
    first, second, third = save_records(db, [ON_TOPIC, TREATMENT, OFF_TOPIC]).records
    score_pending(db, profiles)
    merge.merge_works(db, first.work_id, second.work_id, reason="test")
    delete_works(db, Deletion("pubmed", ("3",)))
    summary = score_pending(db, profiles)
    assert summary.dropped == 2
    assert work_scores(db, second.work_id) == work_scores(db, third.work_id) == []
    assert len(work_scores(db, first.work_id)) == 2


def test_rescore_after_a_profile_change_stores_the_new_hash(db):
    save_records(db, [ON_TOPIC, OFF_TOPIC])
    score_pending(db, [IMAGING])
    stricter = replace(IMAGING, threshold=50)
    assert score_pending(db, [stricter]).scored == 0  # no events: nothing to do
    summary = rescore_all(db, [stricter])
    assert summary.scored == 2 and summary.above == {"ms_neuroimaging": 0}
    hashes = {row[0] for row in db.execute("SELECT profile FROM work_scores")}
    assert hashes == {stricter.hash} != {IMAGING.hash}
    assert list(scored_works(db.conn, {stricter.topic: stricter.threshold})) == []


def test_rescore_drops_topics_that_lost_their_profile(db):
    save_records(db, [ON_TOPIC])
    score_pending(db, list(PROFILES.values()))
    rescore_all(db, [CLINICAL])
    assert {row[0] for row in db.execute("SELECT topic FROM work_scores")} == {"ms_clinical"}


def test_a_small_handmade_profile_scores_as_written():
    profile = Profile(
        topic="t",
        threshold=2,
        groups=(Group("g", None, (Term("optic neuritis", 2, ("ON",)),), (("Optic Neuritis", 1),)),),
        study_types=(),
        negative=Negative(publication_types=(), animal_only=0, terms=()),
    )
    (result,) = Scorer([profile]).score(
        text("Optic neuritis", "ON in 20 eyes", mesh=["Optic Neuritis"])
    )
    assert result.score == 2 + 1 + 1


def test_the_queue_takes_live_works_at_or_above_the_threshold_and_no_others(db):
    """The threshold query the queue runs (db.candidates.scored_works): a score equal to the
    threshold is in, its near-twin a hair below is out, and so are works merged away or
    deleted whatever their score."""
    saved = save_records(
        db, [pubmed(str(n), f"Rim lesions in relapsing MS, cohort {n}") for n in range(1, 6)]
    ).records
    at, below, merged_away, deleted, other_topic = (r.work_id for r in saved)
    rows = [
        (at, "ms_neuroimaging", 5.0),
        (below, "ms_neuroimaging", 4.99),
        (merged_away, "ms_neuroimaging", 9.0),
        (deleted, "ms_neuroimaging", 9.0),
        (other_topic, "ms_clinical", 9.0),
    ]
    db.conn.executemany(
        "INSERT INTO work_scores VALUES (?, ?, ?, '[]', 'p', '2026-11-01T00:00:00Z')", rows
    )
    db.conn.commit()
    merge.merge_works(db, at, merged_away, reason="test")
    delete_works(db, Deletion("pubmed", ("4",)))
    found = sorted(scored_works(db.conn, {"ms_neuroimaging": 5.0, "ms_clinical": 9.5}))
    assert found == [(at, "ms_neuroimaging", 5.0)]


# --- ties and misplaced terms -------------------------------------------------------------

MS_QSM = "Quantitative susceptibility mapping of paramagnetic rim lesions in multiple sclerosis"


def test_more_evidence_past_the_caps_still_ranks_higher():
    """Two works over both caps: the one with more matched evidence scores higher (a hard
    cap tied them), and no group alone comes near the threshold however much it piles up."""
    some = text(MS_QSM, "QSM of rim lesions in MS.")
    more = text(
        MS_QSM,
        "QSM, SWI and TSPO PET of rim lesions and the central vein sign in relapsing-remitting"
        " MS, NMOSD and MOGAD with cortical lesions and leptomeningeal enhancement.",
        mesh=["Multiple Sclerosis", "Magnetic Resonance Imaging", "Neuroimaging"],
    )
    assert score(more).score > score(some).score >= IMAGING.threshold
    alone = text(
        "Quantitative susceptibility mapping, susceptibility-weighted imaging, TSPO PET and"
        " the central vein sign: paramagnetic rim lesions",
        "QSM SWI PRL CVS TSPO microglia iron deposition cortical lesion 7T PET",
        mesh=["Magnetic Resonance Imaging", "Positron-Emission Tomography", "Iron"],
        types=["Randomized Controlled Trial"],
    )
    assert score(alone).score < IMAGING.threshold


def test_a_trial_ranks_above_a_methods_paper_that_matched_the_same_groups():
    """Neither has a publication type or MeSH yet (a new PubMed record): the trial says its
    design in words, the methods paper does not."""
    trial = text(
        MS_QSM,
        "In this randomised, double-blind, placebo-controlled trial, QSM of rim lesions in"
        " relapsing MS was followed for two years.",
        types=[],
    )
    method = text(
        MS_QSM,
        "We propose a reconstruction algorithm for QSM of rim lesions in relapsing MS and"
        " compare it with two others in 20 scans.",
        types=[],
    )
    assert score(trial).score > score(method).score
    design = {c["component"]: c for c in score(trial).components}["study_type"]
    assert design["points"] > 0 and design["matches"][0]["field"] == "abstract"
    # a publication type saying the same still counts as the best design, once
    typed = text(MS_QSM, trial.abstract, types=["Randomized Controlled Trial"])
    assert {c["component"]: c for c in score(typed).components}["study_type"]["points"] == 2


def test_neurofilament_light_is_a_fluid_biomarker_not_imaging():
    work = text("Serum neurofilament light chain in multiple sclerosis", "sNfL in 300 pwMS.")
    parts = {c["component"]: c for c in score(work).components}
    assert parts["imaging"]["matches"] == []
    assert ("neurofilament light", "title") in matched(score(work))
    assert not score(work).above(IMAGING.threshold)
    # its near-twin with an imaging method beside it reaches the imaging topic
    twin = text("Serum neurofilament light and MRI rim lesions in multiple sclerosis")
    assert score(twin).above(IMAGING.threshold)


def test_serum_ferritin_is_not_brain_iron():
    blood = text("Serum ferritin in multiple sclerosis", "Ferritin was measured in blood.")
    brain = text("Brain iron deposition in multiple sclerosis", "Iron deposition on MRI.")
    assert {c["component"]: c for c in score(blood).components}["imaging"]["matches"] == []
    assert {c["component"]: c for c in score(brain).components}["imaging"]["matches"] != []
