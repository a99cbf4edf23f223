"""What a work says, turned into numbers: TF-IDF word 1-2-grams of the title and abstract,
and TF-IDF of its tags (author keywords, MeSH headings, publication types, journal).

Two blocks, each normalised to unit length, so a work with twenty keywords does not drown
its words and a work without an abstract is still a point of the same length; tags weigh
less than words (linear.DEFAULT_CONFIG). The blocks are learnt from the labelled works only
(vocabulary and document frequencies), so what a stored model knows is what its training
set showed it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import chain, pairwise, repeat
from itertools import count as numbering

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


# Words of two or more word characters (scikit-learn's default token pattern, whose \b are
# implied: a greedy run of word characters ends where the word does).
_WORD = re.compile(r"\w\w+")


def fold_accents(text: str) -> str:
    """``text`` decomposed (NFKD) without its combining marks: scikit-learn's
    ``strip_accents_unicode``, whose per-character loop is most of a text's cost when it
    has any non-ASCII character (a ±, an en dash); the marks it drops are found among the
    text's distinct characters instead."""
    if text.isascii():
        return text
    normalized = unicodedata.normalize("NFKD", text)
    marks = [char for char in set(normalized) if unicodedata.combining(char)]
    return normalized.translate(dict.fromkeys(map(ord, marks))) if marks else normalized


def words(text: str) -> list[str]:
    """The words of ``text``, lower-cased, accents folded; one character and punctuation
    are not words. Stop words stay: idf weighs them down, and in a pair they carry meaning
    ("switch from", "add on")."""
    return _WORD.findall(fold_accents(text.lower()))


def word_terms(text: str) -> list[str]:
    """The words of ``text`` and each pair of words in a row ("white matter"): a model's
    word vocabulary."""
    found = words(text)
    return [*found, *map(" ".join, pairwise(found))]


def word_counter() -> CountVectorizer:
    return CountVectorizer(analyzer=word_terms, dtype=np.float64)


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


def weigh(
    tf: sparse.csr_matrix, idf: np.ndarray, scale: float, unseen: np.ndarray | float = 0.0
) -> sparse.csr_matrix:
    """``tf`` (term frequencies, :func:`sublinear`) times ``idf``, each row made ``scale``
    long, in place; ``unseen``: per row, the squares its terms outside ``tf``'s columns add
    to its length."""
    weights = tf.data
    weights *= idf[tf.indices]
    rows = np.repeat(np.arange(tf.shape[0]), np.diff(tf.indptr))
    norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=tf.shape[0]) + unseen)
    norms[norms == 0] = 1.0
    weights *= (scale / norms)[rows]
    return tf


# Docs counted at once by Block.matrix: bounds the arrays of a chunk.
_CHUNK = 1000


class _Lookup:
    """A vocabulary as arrays for counting a chunk of docs at once (a Python loop per
    term, and a dict of a million terms, cost more than the text pass itself): single
    terms by a dict read once per distinct term of the chunk, pairs of words ("white
    matter") by their two words' columns, searched in a sorted array."""

    def __init__(self, vocabulary: Sequence[str], *, pairs: bool) -> None:
        self.size = len(vocabulary)
        self.pairs_of_words = pairs
        self.columns: dict[str, int] = {}
        found: list[tuple[str, str, int]] = []
        for column, term in enumerate(vocabulary):
            first, space, second = term.partition(" ") if pairs else (term, "", "")
            if space:
                found.append((first, second, column))
            else:
                self.columns[term] = column
        # each word of a pair is a term too (a doc that has a pair has its words); a pair
        # of a word that is not (no trained model has one) can never be counted
        lefts, rights = (
            self._columns_of([first for first, _, _ in found]),
            self._columns_of([second for _, second, _ in found]),
        )
        whole = (lefts >= 0) & (rights >= 0)
        codes = lefts[whole] * self.size + rights[whole]
        order = np.argsort(codes)
        self.pairs = codes[order]
        columns = np.array([column for _, _, column in found], dtype=np.int64)
        self.pair_columns = columns[whole][order]

    def _columns_of(self, terms: Sequence[str]) -> np.ndarray:
        return np.fromiter(map(self.columns.get, terms, repeat(-1)), np.int64, len(terms))

    def count(
        self, tokens: list[list[str]], limit: int = 2**62
    ) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The counts of the known terms of each doc (its tokens, and for words each two
        in a row), and per doc the sum of ``(1 + log count)**2`` over the distinct terms
        the vocabulary lacks."""
        flat = list(chain.from_iterable(tokens))
        # a term is told apart by (doc, token number[, token number]) in one int64 key:
        # docs too many or too long for that are counted in halves
        if len(tokens) > 1 and len(tokens) * (len(flat) + 1) ** 2 >= limit:
            half = len(tokens) // 2
            (top, top_unknown), (rest, rest_unknown) = (
                self.count(part, limit) for part in (tokens[:half], tokens[half:])
            )
            return sparse.vstack([top, rest], format="csr"), np.concatenate(
                [top_unknown, rest_unknown]
            )
        rows = np.repeat(np.arange(len(tokens)), [len(found) for found in tokens])
        # each distinct token of the chunk gets a number (where it was first seen), and
        # each number its column, read once per distinct token
        seen: dict[str, int] = {}
        ids = np.fromiter(map(seen.setdefault, flat, numbering()), np.int64, len(flat))
        of_token = np.full(len(flat), -1, dtype=np.int64)
        of_token[np.fromiter(seen.values(), np.int64, len(seen))] = np.fromiter(
            map(self.columns.get, seen, repeat(-1)), np.int64, len(seen)
        )
        columns, terms = of_token[ids], ids
        if self.pairs_of_words and len(flat) > 1:
            same = rows[1:] == rows[:-1]  # two tokens in a row of one doc
            left, right = ids[:-1][same], ids[1:][same]
            columns = np.concatenate(
                [columns, self._pair_columns(columns[:-1][same], columns[1:][same])]
            )
            terms = np.concatenate([terms, len(flat) * (1 + left) + right])
            rows = np.concatenate([rows, rows[1:][same]])
        known = columns >= 0
        found = sparse.csr_matrix(
            (np.ones(int(known.sum())), (rows[known], columns[known])),
            shape=(len(tokens), self.size),
        )
        found.sum_duplicates()
        # the unknown terms: how often each is in its doc
        span = int(terms.max(initial=0)) + 1
        keys, times = np.unique(rows[~known] * span + terms[~known], return_counts=True)
        squares = (1 + np.log(times)) ** 2
        unknown = np.bincount(keys // span, weights=squares, minlength=len(tokens))
        return found, unknown

    def _pair_columns(self, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """The column of each pair of words given their words' columns; -1 when a word or
        the pair is not in the vocabulary."""
        found = np.full(len(left), -1, dtype=np.int64)
        if not len(self.pairs):
            return found
        both = (left >= 0) & (right >= 0)
        codes = left[both] * self.size + right[both]
        at = np.minimum(np.searchsorted(self.pairs, codes), len(self.pairs) - 1)
        hit = self.pairs[at] == codes
        found[np.flatnonzero(both)[hit]] = self.pair_columns[at[hit]]
        return found


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
    def _lookup(self) -> _Lookup:
        return _Lookup(self.vocabulary, pairs=self.kind == "words")

    def matrix(self, docs: Sequence[Doc]) -> sparse.csr_matrix:
        """``docs`` over the vocabulary, weighted and scaled; the terms the vocabulary
        lacks are only added to each work's length. In chunks, so a chunk's arrays stay
        small however many docs there are."""
        chunks = [
            self._chunk(docs[start : start + _CHUNK]) for start in range(0, len(docs), _CHUNK)
        ]
        if not chunks:
            return sparse.csr_matrix((0, len(self.vocabulary)))
        return sparse.vstack(chunks, format="csr") if len(chunks) > 1 else chunks[0]

    def _chunk(self, docs: Sequence[Doc]) -> sparse.csr_matrix:
        analyze = (lambda doc: words(doc_text(doc))) if self.kind == "words" else doc_tags
        known, unknown = self._lookup.count([analyze(doc) for doc in docs])
        # the unknown terms at the idf of a term no training work had
        unknown_idf = smooth_idf(self.documents, np.zeros(1))[0]
        return weigh(sublinear(known), self.idf, self.scale, unknown * unknown_idf**2)

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
    return block, weigh(sublinear(counts), block.idf, scale)


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
            rows = tf[self.labelled][:, columns].tocsr(copy=True)
            parts.append(weigh(rows, self._idf(df)[columns], scale))
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
