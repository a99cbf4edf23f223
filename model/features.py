"""What a work says, turned into numbers: TF-IDF word 1-2-grams of the title and abstract,
and TF-IDF of its tags (author keywords, MeSH headings, publication types, journal).

Two blocks, each normalised to unit length, so a work with twenty keywords does not drown
its words and a work without an abstract is still a point of the same length. The blocks
are learnt from the labelled works only (vocabulary and document frequencies), so what a
stored model knows is what its training set showed it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

# the prefixes of tag features; an explanation names the kind of evidence by them
TAG_KINDS = ("keyword", "mesh", "type", "journal")
WORD = "word"


@dataclass(frozen=True)
class Doc:
    """One work as the relevance model sees it."""

    title: str
    abstract: str = ""
    keywords: tuple[str, ...] = ()  # author keywords
    mesh: tuple[str, ...] = ()  # MeSH headings
    pub_types: tuple[str, ...] = ()  # publication types
    journal: str = ""


def _tag(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def doc_tags(doc: Doc) -> list[str]:
    """The tag tokens of ``doc``, ``kind:term``; one per distinct tag."""
    tags = [
        *(f"keyword:{_tag(k)}" for k in doc.keywords),
        *(f"mesh:{_tag(m)}" for m in doc.mesh),
        *(f"type:{_tag(t)}" for t in doc.pub_types),
    ]
    if doc.journal.strip():
        tags.append(f"journal:{_tag(doc.journal)}")
    return sorted({t for t in tags if not t.endswith(":")})


def doc_text(doc: Doc) -> str:
    return f"{doc.title}\n{doc.abstract}"


def word_counter(vocabulary: Sequence[str] | None = None) -> CountVectorizer:
    """Word 1-2-grams without English stop words, accents folded, lower-cased; numbers of
    one character and punctuation are not words."""
    return CountVectorizer(
        ngram_range=(1, 2),
        stop_words="english",
        strip_accents="unicode",
        lowercase=True,
        dtype=np.float64,
        vocabulary=list(vocabulary) if vocabulary is not None else None,
    )


def tag_counter(vocabulary: Sequence[str] | None = None) -> CountVectorizer:
    return CountVectorizer(
        analyzer=doc_tags,
        lowercase=False,
        dtype=np.float64,
        vocabulary=list(vocabulary) if vocabulary is not None else None,
    )


def tfidf(idf: np.ndarray | None = None) -> TfidfTransformer:
    """Sublinear term frequency (a word said ten times is not ten times the evidence),
    smoothed idf, unit length."""
    transformer = TfidfTransformer(sublinear_tf=True, smooth_idf=True, norm="l2")
    if idf is not None:
        transformer.idf_ = idf
    return transformer


def _inputs(kind: str, docs: Sequence[Doc]) -> Iterable:
    return [doc_text(d) for d in docs] if kind == "words" else docs


@dataclass
class Block:
    """One fitted block: its vocabulary (column order), idf and scale."""

    kind: str  # "words" | "tags"
    vocabulary: list[str]
    idf: np.ndarray
    scale: float

    @cached_property
    def _counter(self) -> CountVectorizer:
        counter = (
            word_counter(self.vocabulary) if self.kind == "words" else tag_counter(self.vocabulary)
        )
        return counter.fit([])  # with a vocabulary given, fit only builds the lookup

    @cached_property
    def _tfidf(self) -> TfidfTransformer:
        return tfidf(self.idf)

    def counts(self, docs: Sequence[Doc]) -> sparse.csr_matrix:
        if not self.vocabulary:
            return sparse.csr_matrix((len(docs), 0))
        return self._counter.transform(_inputs(self.kind, docs))

    def weigh(self, counts: sparse.spmatrix) -> sparse.csr_matrix:
        if not self.vocabulary:
            return sparse.csr_matrix((counts.shape[0], 0))
        return (self._tfidf.transform(counts) * self.scale).tocsr()

    def matrix(self, docs: Sequence[Doc]) -> sparse.csr_matrix:
        return self.weigh(self.counts(docs))

    def term(self, column: int) -> tuple[str, str]:
        """(kind, term) of a column, as an explanation names it."""
        term = self.vocabulary[column]
        if self.kind == "words":
            return WORD, term
        kind, _, name = term.partition(":")
        return kind, name


def fit_block(kind: str, docs: Sequence[Doc], scale: float) -> tuple[Block, sparse.csr_matrix]:
    """A block learnt from ``docs``, and their weighted matrix."""
    counter = word_counter() if kind == "words" else tag_counter()
    try:
        counts = counter.fit_transform(_inputs(kind, docs))
    except ValueError:  # no word (or no tag) in any of the docs: an empty block
        return Block(kind, [], np.zeros(0), scale), sparse.csr_matrix((len(docs), 0))
    vocabulary = counter.get_feature_names_out().tolist()
    transformer = tfidf().fit(counts)
    block = Block(kind, vocabulary, transformer.idf_.copy(), scale)
    return block, block.weigh(counts)


class Corpus:
    """Every work of a fixed set counted once, so that a block learnt from any subset of
    them (the labelled ones) is a column selection instead of a new pass over the text.

    ``matrix(rows)`` equals what :func:`fit_block` learns from the docs at ``rows`` and
    :meth:`Block.matrix` gives for all docs: both vectorizers sort their vocabulary, the
    subset's vocabulary is the corpus terms that occur in it, and idf is counted on it.
    """

    def __init__(self, docs: Sequence[Doc], tag_scale: float) -> None:
        self.size = len(docs)
        self._blocks = []
        for kind, scale in (("words", 1.0), ("tags", tag_scale)):
            counter = word_counter() if kind == "words" else tag_counter()
            try:
                counts = counter.fit_transform(_inputs(kind, docs)).tocsc()
            except ValueError:
                counts = sparse.csc_matrix((len(docs), 0))
            self._blocks.append((counts, scale))

    def matrix(self, rows: Sequence[int]) -> sparse.csr_matrix:
        parts = []
        for counts, scale in self._blocks:
            seen = np.flatnonzero(counts[rows].getnnz(axis=0))
            if not len(seen):
                parts.append(sparse.csr_matrix((self.size, 0)))
                continue
            columns = counts[:, seen]
            transformer = tfidf().fit(columns[rows])
            parts.append((transformer.transform(columns) * scale).tocsr())
        return sparse.hstack(parts, format="csr")
