"""The relevance model (litmon.model): what it learns from invented labelled works, what it
says about a work, and that a stored model is plain data that cannot run code."""

import json
import math
import random

import pytest

from litmon.model import Contribution, Doc, Model, cross_validate, fit
from litmon.model.features import doc_text, fit_block, word_terms, words

FILLER = (
    "patients cohort outcome baseline months analysis clinical disease treatment follow"
    " measured compared results group study participants effect risk years associated"
).split()


def invented(count, seed, extra, **fields):
    """``count`` works of shuffled filler words, each with the words ``extra`` in its abstract."""
    rng = random.Random(seed)
    docs = []
    for _ in range(count):
        words = sorted(rng.sample(FILLER, 10), key=FILLER.index)
        docs.append(
            Doc(
                title=" ".join(words[:4]),
                abstract=" ".join([*words[4:], *extra]),
                **fields,
            )
        )
    return docs


def remyelination_set():
    """Relevant works say "remyelination", irrelevant ones "vaccine": nothing else differs."""
    relevant = invented(12, 1, ["remyelination"])
    irrelevant = invented(30, 2, ["vaccine"])
    return relevant + irrelevant, [1] * 12 + [0] * 30


def test_the_word_that_decides_the_labels_explains_a_new_work():
    docs, labels = remyelination_set()
    model = fit(docs, labels)
    new = Doc("Outcome of remyelination in a cohort", "Patients were followed for months.")
    explanation = model.explain(new, k=3)
    assert explanation[0] == Contribution("word", "remyelination", explanation[0].weight)
    assert explanation[0].weight > 0
    against = model.explain(Doc("Vaccine outcome in a cohort"), k=3)
    assert ("word", "vaccine") in [(c.kind, c.term) for c in against if c.weight < 0]


def test_a_mesh_heading_that_decides_is_named_as_mesh_not_as_words():
    # the near-twin: the same works, the difference now only in a MeSH heading
    relevant = invented(12, 1, [], mesh=("Remyelination",))
    irrelevant = invented(30, 2, [], mesh=("Vaccines",))
    model = fit(relevant + irrelevant, [1] * 12 + [0] * 30)
    new = Doc("Outcome in a cohort", "Patients were followed.", mesh=("Remyelination",))
    top = model.explain(new, k=3)[0]
    assert (top.kind, top.term) == ("mesh", "remyelination")
    assert all(c.term != "remyelination" for c in model.explain(new, k=3) if c.kind == "word")


def test_explain_gives_k_up_and_k_down_strongest_first():
    docs, labels = remyelination_set()
    model = fit(docs, labels)
    explanation = model.explain(docs[0], k=2)
    up = [c.weight for c in explanation if c.weight > 0]
    down = [c.weight for c in explanation if c.weight < 0]
    assert len(up) <= 2 and len(down) <= 2 and len(explanation) == len(up) + len(down)
    assert up == sorted(up, reverse=True) and down == sorted(down)


def test_relevant_looking_works_get_the_higher_probability():
    docs, labels = remyelination_set()
    model = fit(docs, labels)
    relevant, other, unseen = model.predict(
        [
            Doc("Remyelination in a cohort"),
            Doc("Vaccine in a cohort"),
            Doc("Nothing the model has seen", "", journal="Unknown"),
        ]
    )
    assert 0.0 <= other < relevant <= 1.0
    assert other < unseen < relevant


def test_few_relevant_labels_among_many_still_rank_their_like_first():
    # 3 relevant of 63: an unweighted fit would learn to say no to everything
    relevant = invented(3, 5, ["remyelination"])
    irrelevant = invented(60, 6, ["vaccine"])
    model = fit(relevant + irrelevant, [1] * 3 + [0] * 60)
    test = invented(5, 7, ["remyelination"]) + invented(20, 8, ["vaccine"])
    scores = model.predict(test)
    assert min(scores[:5]) > max(scores[5:])


def test_the_same_seed_trains_the_same_model():
    docs, labels = remyelination_set()
    assert fit(docs, labels, seed=3).to_data() == fit(docs, labels, seed=3).to_data()


def test_a_stored_model_is_json_and_predicts_as_the_trained_one():
    docs, labels = remyelination_set()
    docs[0] = Doc(
        docs[0].title,
        docs[0].abstract,
        ("myelin repair",),
        ("Remyelination",),
        ("Randomized Controlled Trial",),
        "Mult Scler",
    )
    model = fit(docs, labels)
    text = json.dumps(model.to_data(), allow_nan=False)
    loaded = Model.from_data(json.loads(text))
    new = [Doc("Remyelination trial", "Myelin repair", mesh=("Remyelination",)), *docs[:5]]
    assert loaded.predict(new) == pytest.approx(model.predict(new), abs=1e-6)
    named = [(c.kind, c.term) for c in loaded.explain(new[0])]
    assert named == [(c.kind, c.term) for c in model.explain(new[0])]
    kinds = {c.kind for c in loaded.explain(docs[0], k=50)}
    assert {"word", "keyword", "mesh", "type", "journal"} <= kinds


def test_a_stored_model_ranks_new_works_as_the_trained_one_to_a_millionth():
    """The stored weights are rounded: on works it never saw, the reloaded model gives the
    same order and probabilities within 1e-6 of the trained one's."""
    relevant = invented(40, 11, ["remyelination", "oligodendrocyte"])
    irrelevant = invented(80, 12, ["vaccine", "influenza"])
    model = fit(relevant + irrelevant, [1] * 40 + [0] * 80)
    loaded = Model.from_data(json.loads(json.dumps(model.to_data())))
    rng = random.Random(13)
    words = [*FILLER, "remyelination", "oligodendrocyte", "vaccine", "influenza", "unseen"]
    new = [Doc(" ".join(rng.sample(words, 5)), " ".join(rng.sample(words, 12))) for _ in range(300)]
    trained, stored = model.predict(new), loaded.predict(new)
    assert max(abs(a - b) for a, b in zip(trained, stored, strict=True)) < 1e-6
    order = sorted(range(len(new)), key=lambda i: -trained[i])
    assert sorted(range(len(new)), key=lambda i: -stored[i]) == order
    assert len(set(trained)) > 250  # an order to keep, not ties


def test_a_word_pair_is_stored_as_two_indices_and_read_back_as_its_text():
    docs, labels = remyelination_set()
    model = fit(docs, labels)
    data = model.to_data()["words"]
    assert data["terms"] and data["pairs"] and all(" " not in t for t in data["terms"])
    assert "cohort remyelination" not in json.dumps(data)
    loaded = Model.from_data(json.loads(json.dumps(model.to_data())))
    pairs = [c.term for c in loaded.explain(docs[0], k=50) if " " in c.term]
    assert pairs and pairs == [c.term for c in model.explain(docs[0], k=50) if " " in c.term]


def test_a_model_stored_in_format_2_is_still_read():
    """A database from before format 3: every term as text, idf and weights as floats."""
    idf = math.log((1 + 4) / (1 + 2)) + 1  # each term in 2 of the 4 labelled works
    data = {
        "format": "litmon-relevance-model/2",
        "config": {"c": 10.0, "positive_weight": 9.8, "tag_scale": 0.1},
        "labels": {"relevant": 2, "irrelevant": 2},
        "intercept": -0.5,
        # a pair whose first word is no term of its own: no trained model has one, and
        # it can never be counted, but the model still reads and scores
        "words": {"vocabulary": ["myelin repair", "remyelination", "vaccine"],
                  "idf": [idf, idf, idf], "weights": [5.0, 2.0, -2.0]},
        "tags": {"vocabulary": ["mesh:remyelination"], "idf": [idf], "weights": [1.0]},
    }  # fmt: skip
    model = Model.from_data(data)
    repair, vaccine, pair = model.predict(
        [Doc("Remyelination"), Doc("Vaccine"), Doc("Myelin repair")]
    )
    assert repair > 0.5 > vaccine and pair < repair
    assert Model.from_data(model.to_data()).predict([Doc("Remyelination")]) == pytest.approx(
        [repair], abs=1e-6
    )


def _broken(change):
    docs, labels = remyelination_set()
    data = json.loads(json.dumps(fit(docs, labels).to_data()))
    change(data)
    return data


@pytest.mark.parametrize(
    "change, named",
    [
        (lambda d: d.update(format="pickle"), "format"),
        (lambda d: d["words"]["weights"].pop(), "words"),
        (lambda d: d["words"]["df"].__setitem__(0, "1"), "words.df[0]"),
        (lambda d: d["words"]["df"].__setitem__(1, 10**6), "words.df[1]"),
        (lambda d: d["words"]["weights"].__setitem__(2, 0.5), "words.weights[2]"),
        (lambda d: d["words"]["weights"].__setitem__(0, True), "words.weights[0]"),
        (lambda d: d["words"]["pairs"].__setitem__(0, 10**6), "words.pairs[0]"),
        (lambda d: d["words"]["pairs"].pop(), "words.pairs"),
        (lambda d: d.update(intercept=float("nan")), "intercept"),
        (lambda d: d["tags"].update(terms=[1]), "tags.terms"),
        (lambda d: d["words"]["terms"].__setitem__(1, d["words"]["terms"][0]), "repeats"),
        (lambda d: d["tags"].update(terms=["author:x"], df=[1], weights=[5]), "unknown kind"),
        (lambda d: d.pop("config"), "config"),
        (lambda d: d["labels"].update(relevant=-1), "labels"),
    ],
    ids=["format", "short", "string", "df", "float", "bool", "pair", "odd", "nan", "terms",
         "repeated", "kind", "config", "labels"],
)  # fmt: skip
def test_bad_model_data_is_refused_in_one_line(change, named):
    with pytest.raises(ValueError) as refused:
        Model.from_data(_broken(change))
    message = str(refused.value)
    assert named in message and "\n" not in message


def test_model_data_that_is_not_an_object_is_refused():
    with pytest.raises(ValueError, match="not an object"):
        Model.from_data(b"\x80\x04\x95")  # the start of a pickle


def test_training_needs_both_kinds_of_label():
    docs, _ = remyelination_set()
    with pytest.raises(ValueError, match="one relevant and one irrelevant"):
        fit(docs, [0] * len(docs))


def test_cross_validation_ranks_unseen_labels_well_on_a_learnable_set():
    docs, labels = remyelination_set()
    figures = cross_validate(docs, labels, seed=0)
    assert figures["folds"] == 5
    assert figures["auc"] > 0.95
    assert figures["wss95"] > 0.5


def test_cross_validation_on_words_that_teach_nothing_is_near_chance():
    # the near-twin: the same works, but the label is drawn at random
    docs, _ = remyelination_set()
    labels = [1] * 12 + [0] * 30
    random.Random(4).shuffle(labels)
    figures = cross_validate(docs, labels, seed=0)
    assert figures["auc"] < 0.8


def test_cross_validation_with_one_label_of_a_kind_gives_no_figures():
    docs, labels = remyelination_set()
    assert cross_validate(docs[11:], labels[11:]) == {"auc": None, "wss95": None, "folds": 0}


def test_a_relevant_word_among_many_unknown_ones_counts_for_less():
    # a work's length counts the words no training work had: sharing one word with the
    # relevant works is weaker evidence in a long text about something else
    docs, labels = remyelination_set()
    model = fit(docs, labels)
    unknown = " ".join(f"term{number}" for number in range(60))
    short, long, neither = model.predict(
        [Doc("Remyelination"), Doc(f"Remyelination {unknown}"), Doc(unknown)]
    )
    assert short > long > neither


def test_a_training_work_scores_as_it_was_trained_pairs_of_words_included():
    # scoring reads a work's words and pairs of words its own way (pairs as tuples):
    # a work the model was trained on must get the very numbers training gave it, so a
    # pair of words ("white matter") counts as the term it learnt, not as an unknown one
    docs = [
        Doc("White matter lesions on MRI", "Iron rim lesions in white matter, 7 T."),
        Doc("Vaccine uptake", "Vaccine uptake in a white-collar cohort: matter of trust."),
        Doc("Naïve B cells", "Naïve and memory B cells cross the blood–brain barrier."),
    ]
    block, trained = fit_block("words", docs, 1.0)
    assert "white matter" in block.vocabulary
    scored = block.matrix(docs)
    assert abs(scored - trained).max() < 1e-12


@pytest.mark.parametrize(
    "text",
    [
        "Iron rim lesions: QSM at 7 T in 40 patients (a B-cell study).",
        "Naïve B cells cross the blood–brain barrier; Aβ42 ≥ 3.0 ± 0.5 µg/mL, ﬁndings in Zürich.",
        "e\u0301te\u0301 Ǆemal ΣΊΣΥΦΟΣ straße 東京 snake_case x y z",
        "",
    ],
)
def test_the_words_a_model_reads_are_scikit_learns(text):
    # models trained before are read word for word as they were trained: the words and
    # pairs are what scikit-learn's own word 1-2-gram analyser (accents folded) makes of
    # the text, accents, ligatures and non-Latin scripts included
    from sklearn.feature_extraction.text import CountVectorizer

    reference = CountVectorizer(ngram_range=(1, 2), strip_accents="unicode").build_analyzer()
    assert word_terms(text) == reference(text)


def test_docs_too_many_for_one_counting_key_are_counted_in_parts_alike():
    # a chunk's terms are told apart by one int64 key; a chunk too big for it is counted
    # in halves, down to one doc each, with the very same counts and lengths
    docs, labels = remyelination_set()
    block, _ = fit_block("words", docs, 1.0)
    texts = [[*words(doc_text(doc)), "unseen", "unseen"] for doc in docs[:7]]
    whole, whole_unknown = block._lookup.count(texts)
    parts, parts_unknown = block._lookup.count(texts, limit=10)
    assert abs(whole - parts).max() == 0 and whole.nnz == parts.nnz > 0
    assert parts_unknown.tolist() == whole_unknown.tolist()
    assert min(whole_unknown) >= (1 + math.log(2)) ** 2  # "unseen" twice in each
