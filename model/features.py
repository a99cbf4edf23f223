"""What a work says, turned into numbers: TF-IDF word 1-2-grams of the title and abstract,
and TF-IDF of its tags (author keywords, MeSH headings, publication types, journal).

Two blocks, each normalised to unit length, so a work with twenty keywords does not drown
its words and a work without an abstract is still a point of the same length; tags weigh
less than words (linear.DEFAULT_CONFIG). The blocks are learnt from the labelled works only
(vocabulary and document frequencies), so what a stored model knows is what its training
set showed it.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

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


def word_counter() -> CountVectorizer:
    """Word 1-2-grams, accents folded, lower-cased; tokens of one character and punctuation
    are not words. Stop words stay: idf weighs them down, and in a pair they carry meaning
    ("switch from", "add on")."""
    return CountVectorizer(
        ngram_range=(1, 2),
        strip_accents="unicode",
        lowercase=True,
        dtype=np.float64,
    )


def tag_counter() -> CountVectorizer:
    return CountVectorizer(analyzer=doc_tags, lowercase=False, dtype=np.float64)


def _inputs(kind: str, docs: Sequence[Doc]) -> Iterable:
    return [doc_text(d) for d in docs] if kind == "words" else docs


def count(kind: str, docs: Sequence[Doc]) -> tuple[list[str], sparse.csr_matrix]:
    """Every term of ``docs`` (sorted) and their counts; no terms at all is no columns."""
    counter = word_counter() if kind == "words" else tag_counter()
    try:
        counts = counter.fit_transform(_inputs(kind, docs))
    except ValueError:  # no word (or no tag) in any of the docs
        return [], sparse.csr_matrix((len(docs), 0))
    return counter.get_feature_names_out().tolist(), counts.tocsr()


def sublinear(counts: sparse.spmatrix) -> sparse.csr_matrix:
    """1 + log(count) of each non-zero count: a word said ten times is not ten times the
    evidence."""
    tf = sparse.csr_matrix(counts, dtype=np.float64, copy=True)
    np.log(tf.data, out=tf.data)
    tf.data += 1
    return tf


def smooth_idf(documents: int, df: np.ndarray) -> np.ndarray:
    """scikit-learn's smoothed idf; a term no training work has (df 0) gets the highest."""
    return np.log((1 + documents) / (1 + df)) + 1


def unit_rows(x: sparse.csr_matrix, scale: float) -> sparse.csr_matrix:
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return (sparse.diags(scale / norms) @ x).tocsr()


@dataclass
class Block:
    """One fitted block: its vocabulary (column order), idf, the number of works the idf
    was counted on, and its scale.

    A work's length counts every term it has, the ones the training works never had too
    (at the idf of a term none of them had): a work that shares two words with the
    relevant ones and says a hundred others is not made of those two words.
    """

    kind: str  # "words" | "tags"
    vocabulary: list[str]
    idf: np.ndarray
    documents: int
    scale: float

    @cached_property
    def _columns(self) -> dict[str, int]:
        return {term: column for column, term in enumerate(self.vocabulary)}

    def matrix(self, docs: Sequence[Doc]) -> sparse.csr_matrix:
        """``docs`` over the vocabulary, weighted and scaled (one pass over each text: the
        terms the vocabulary lacks are only added to the length)."""
        analyze = word_counter().build_analyzer() if self.kind == "words" else doc_tags
        columns = self._columns
        indptr, indices, counts = [0], [], []
        unknown = np.zeros(len(docs))
        for row, text in enumerate(_inputs(self.kind, docs)):
            squares = 0.0
            for term, times in Counter(analyze(text)).items():
                column = columns.get(term)
                if column is None:
                    squares += 1.0 if times == 1 else (1 + math.log(times)) ** 2
                else:
                    indices.append(column)
                    counts.append(times)
            unknown[row] = squares
            indptr.append(len(indices))
        found = sparse.csr_matrix(
            (np.asarray(counts, dtype=np.float64), np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(docs), len(self.vocabulary)),
        )
        weighted = sublinear(found).multiply(self.idf).tocsr()
        unknown_idf = smooth_idf(self.documents, np.zeros(1))[0]
        norms = np.sqrt(
            np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel() + unknown * unknown_idf**2
        )
        norms[norms == 0] = 1.0
        weighted = (sparse.diags(self.scale / norms) @ weighted).tocsr()
        weighted.sort_indices()
        return weighted

    def term(self, column: int) -> tuple[str, str]:
        """(kind, term) of a column, as an explanation names it."""
        term = self.vocabulary[column]
        if self.kind == "words":
            return WORD, term
        kind, _, name = term.partition(":")
        return kind, name


def fit_block(kind: str, docs: Sequence[Doc], scale: float) -> tuple[Block, sparse.csr_matrix]:
    """A block learnt from ``docs``, and their weighted matrix."""
    vocabulary, counts = count(kind, docs)
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    block = Block(kind, vocabulary, smooth_idf(len(docs), df), len(docs), scale)
    return block, unit_rows(sublinear(counts).multiply(block.idf).tocsr(), scale)


class Corpus:
    """Every work of a fixed set counted once, for a simulation that retrains after every
    label: what :func:`fit_block` would learn from the labelled works, without a new pass
    over the texts.

    The vocabulary a model learns from the labelled works is the corpus terms that occur in
    them (both sorted), their idf is counted on them, and a work's length is taken over
    those terms only; so an idf of 0 for every term no labelled work has gives the same
    numbers as a model fitted on the labelled works alone.
    """

    def __init__(self, docs: Sequence[Doc], tag_scale: float) -> None:
        self.size = len(docs)
        self.labelled: list[int] = []
        self._columns: list[np.ndarray] = []
        self._blocks: list[tuple[sparse.csr_matrix, sparse.csr_matrix, np.ndarray, float]] = []
        for kind, scale in (("words", 1.0), ("tags", tag_scale)):
            tf = sublinear(count(kind, docs)[1])
            squares = tf.multiply(tf).tocsr()
            self._blocks.append((tf, squares, np.zeros(tf.shape[1]), scale))

    def label(self, row: int) -> None:
        """Count ``row`` among the labelled works."""
        self.labelled.append(row)
        for tf, _, df, _ in self._blocks:
            df[tf.indices[tf.indptr[row] : tf.indptr[row + 1]]] += 1

    def _idf(self, df: np.ndarray) -> np.ndarray:
        return smooth_idf(len(self.labelled), df)

    def training(self) -> sparse.csr_matrix:
        """The labelled works' rows, in the order labelled, as :func:`fit_block` weighs them;
        its columns are the terms the labelled works have, block by block (a fit over the
        corpus's whole vocabulary gives the same weights, more slowly)."""
        parts = []
        self._columns = []
        for tf, _, df, scale in self._blocks:
            columns = np.flatnonzero(df)
            rows = tf[self.labelled][:, columns].multiply(self._idf(df)[columns]).tocsr()
            norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
            norms[norms == 0] = 1.0
            parts.append(sparse.diags(scale / norms) @ rows)
            self._columns.append(columns)
        return sparse.hstack(parts, format="csr")

    def scores(self, weights: np.ndarray, intercept: float) -> np.ndarray:
        """Every work's log-odds under ``weights`` over the columns of the last
        :meth:`training`."""
        total = np.full(self.size, intercept)
        start = 0
        for (tf, squares, df, scale), columns in zip(self._blocks, self._columns, strict=True):
            idf = self._idf(df)
            block = np.zeros(len(idf))
            block[columns] = weights[start : start + len(columns)]
            start += len(columns)
            norms = np.sqrt(squares @ (idf * idf))
            raw = tf @ (idf * block)
            total += scale * np.divide(raw, norms, out=np.zeros(self.size), where=norms > 0)
        return total
