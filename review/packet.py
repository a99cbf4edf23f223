"""The summarization packet: what a lay writer needs about one work, and the study facts
that state its limits. Every fact cites its evidence (a MeSH heading, a publication type,
a phrase) or is "unknown": new PubMed records often have no MeSH yet, and a default such as
"humans" would mislead a reader with MS."""

from __future__ import annotations

import json
import re
import sqlite3

from litmon.db import candidates as sql
from litmon.db import drafts as dsql

UNKNOWN = "unknown"

# Publication types that say what kind of study it is, most specific first; "Journal
# Article" says nothing and is not evidence of a design.
_DESIGNS = (
    ("Retracted Publication", "retracted publication"),
    ("Published Erratum", "erratum"),
    ("Meta-Analysis", "meta-analysis"),
    ("Systematic Review", "systematic review"),
    ("Randomized Controlled Trial", "randomized controlled trial"),
    ("Clinical Trial, Phase III", "clinical trial"),
    ("Clinical Trial, Phase II", "clinical trial"),
    ("Clinical Trial, Phase I", "clinical trial"),
    ("Clinical Trial", "clinical trial"),
    ("Observational Study", "observational study"),
    ("Multicenter Study", "multicenter study"),
    ("Case Reports", "case report"),
    ("Review", "review"),
    ("Preprint", "preprint (not peer reviewed)"),
    ("Editorial", "editorial"),
    ("Comment", "comment"),
    ("Letter", "letter"),
    ("Guideline", "guideline"),
    ("Practice Guideline", "guideline"),
)
# MeSH study-design headings, used when no publication type names a design.
_DESIGN_MESH = (
    ("Cohort Studies", "cohort study"),
    ("Prospective Studies", "prospective study"),
    ("Retrospective Studies", "retrospective study"),
    ("Longitudinal Studies", "longitudinal study"),
    ("Cross-Sectional Studies", "cross-sectional study"),
    ("Case-Control Studies", "case-control study"),
)

# MeSH check tags: NLM's indexers add them for who or what was studied.
_POPULATIONS = (
    ("Humans", "humans"),
    ("Animals", "animals"),
    ("In Vitro Techniques", "in vitro"),
)

# MS and the related neuroinflammatory diseases the service covers.
_MS_RELATED_MESH = frozenset(
    {
        "Multiple Sclerosis",
        "Multiple Sclerosis, Relapsing-Remitting",
        "Multiple Sclerosis, Chronic Progressive",
        "Neuromyelitis Optica",
        "Myelin-Oligodendrocyte Glycoprotein Antibody-Associated Disease",
        "Demyelinating Autoimmune Diseases, CNS",
        "Encephalomyelitis, Acute Disseminated",
        "Anti-N-Methyl-D-Aspartate Receptor Encephalitis",
        "Autoimmune Diseases of the Nervous System",
        "Optic Neuritis",
        "Myelitis, Transverse",
        "Limbic Encephalitis",
        "Hashimoto Disease",
    }
)
_MS_RELATED_PHRASES = re.compile(
    r"\b(multiple sclerosis|neuromyelitis optica|NMOSD|MOGAD|MOG antibody|"
    r"autoimmune encephalitis|clinically isolated syndrome)\b",
    re.IGNORECASE,
)
# Without MeSH tree numbers in the store, a heading is taken as a disease by its wording.
_DISEASE_WORDS = re.compile(
    r"(disease|diseases|syndrome|sclerosis|itis\b|itis,|neoplasm|cancer|carcinoma|tumor|"
    r"dementia|disorder|infection|injur|stroke|epilepsy|palsy|atrophy|optica|"
    r"encephalopath|leukoencephalopathy|neuropathy|diabetes|obesity)",
    re.IGNORECASE,
)
# Comments/corrections links a writer must know of: a notice about this work...
_NOTICES = ("RetractionIn", "ErratumIn", "ExpressionOfConcernIn", "UpdateIn", "RepublishedIn")
# ...and, when this work is itself a notice, the link to its article, with the link the
# article carries back (a stored notice pointing at a work is that work's notice, even when
# the article's own record does not list it yet).
_NOTICE_OF = {
    "RetractionOf": "RetractionIn",
    "ErratumFor": "ErratumIn",
    "ExpressionOfConcernFor": "ExpressionOfConcernIn",
    "UpdateOf": "UpdateIn",
    "RepublishedFrom": "RepublishedIn",
}


def _fact(value: object, evidence: list[str]) -> dict:
    return {"value": value, "evidence": evidence} if evidence else {"value": UNKNOWN}


def design(publication_types: list[str], mesh: list[str]) -> dict:
    for source, names, headings in (
        ("publication type", publication_types, _DESIGNS),
        ("MeSH", mesh, _DESIGN_MESH),
    ):
        found = [(name, label) for name, label in headings if name in names]
        if found:
            labels = list(dict.fromkeys(label for _, label in found))
            return _fact(labels, [f"{source}: {name}" for name, _ in found])
    return _fact(None, [])


def population(mesh: list[str]) -> dict:
    found = [(tag, label) for tag, label in _POPULATIONS if tag in mesh]
    return _fact([label for _, label in found], [f"MeSH check tag: {tag}" for tag, _ in found])


def diseases(mesh: list[str], title: str, abstract: str | None) -> dict:
    """The diseases studied (MeSH) and whether MS or a related disease is among them. With
    MeSH, "no" is evidence too (indexed, none related); without it, only a phrase in the
    title or abstract can say "yes"."""
    studied = [heading for heading in mesh if _DISEASE_WORDS.search(heading)]
    related = [heading for heading in mesh if heading in _MS_RELATED_MESH]
    text = f"{title}\n{abstract or ''}"
    phrases = sorted({match.group(0) for match in _MS_RELATED_PHRASES.finditer(text)})
    if related:
        ms = _fact(True, [f"MeSH: {heading}" for heading in related])
    elif phrases:
        ms = _fact(True, [f"phrase: {phrase!r}" for phrase in phrases])
    elif mesh:
        ms = _fact(False, [f"none of its {len(mesh)} MeSH headings is MS or a related disease"])
    else:
        ms = _fact(None, [])
    return {
        "studied": _fact(studied, [f"MeSH: {heading}" for heading in studied]),
        "ms_or_related": ms,
    }


def notices(conn: sqlite3.Connection, work: dict) -> list[dict]:
    """Retraction, erratum and similar notices of a work (its own links, then stored notice
    works pointing at it), and the article a notice work is about, each with its stored work
    (id and title) if there is one."""
    wanted = [
        link for link in json.loads(work["links"]) if link.get("type") in (*_NOTICES, *_NOTICE_OF)
    ]
    stored = sql.works_by_pmids(conn, [link["pmid"] for link in wanted if link.get("pmid")])
    found = [
        {
            "type": link["type"],
            "pmid": link.get("pmid"),
            "citation": link.get("ref"),
            "work_id": stored.get(link.get("pmid"), {}).get("id"),
            "title": stored.get(link.get("pmid"), {}).get("title"),
        }
        for link in wanted
    ]
    if work["pmid"]:
        seen = {(item["type"], item["pmid"]) for item in found}
        for notice in sql.linking_to(conn, work["pmid"], tuple(_NOTICE_OF)):
            kind = _NOTICE_OF[notice["type"]]
            if (kind, notice["pmid"]) not in seen:
                found.append(
                    {
                        "type": kind,
                        "pmid": notice["pmid"],
                        "citation": None,
                        "work_id": notice["work_id"],
                        "title": notice["title"],
                    }
                )
    return found


def _sections(abstract: str | None) -> list[dict]:
    """A structured abstract ("LABEL: text" paragraphs, as the store keeps it) as sections."""
    if not abstract:
        return []
    sections = []
    for paragraph in abstract.split("\n"):
        if not paragraph.strip():
            continue
        label, colon, text = paragraph.partition(": ")
        if colon and label.isupper() and len(label) < 60:
            sections.append({"label": label, "text": text.strip()})
        else:
            sections.append({"label": None, "text": paragraph.strip()})
    return sections


def sent_back(conn: sqlite3.Connection, candidate_id: int) -> dict | None:
    """When an editor sent the candidate's draft back: their note (who, when) and the draft
    it was about, for the next writer to improve on; None otherwise."""
    returned = dsql.pending_send_back(conn, candidate_id)
    draft = dsql.view(dsql.latest(conn, candidate_id))
    if returned is None or draft is None:
        return None
    keep = ("version", "parts", "text", "checked", "checks", "by", "created_at")
    return returned | {"draft": {key: draft[key] for key in keep}}


def build_packet(conn: sqlite3.Connection, candidate_id: int) -> dict:
    """The packet for one candidate: the work, its topics and explanations, editors' notes,
    the draft an editor sent back (if one did) and the study facts."""
    row = sql.get(conn, candidate_id)
    work = sql.work(conn, row["work_id"])
    mesh = json.loads(work["mesh"])
    types = json.loads(work["publication_types"])
    explanations = sql.explanations(conn, work["id"])
    topics = [
        topic | {"explanation": json.loads(explanations[topic["topic"]])}
        if topic["topic"] in explanations
        else topic
        for topic in json.loads(row["topics"])
    ]
    return {
        "id": candidate_id,
        "work_id": work["id"],
        "work": {
            "title": work["title"],
            "authors": json.loads(work["authors"]),
            "journal": work["journal"],
            "journal_abbrev": work["journal_abbrev"],
            "volume": work["volume"],
            "issue": work["issue"],
            "pages": work["pages"],
            "date": work["pub_date"],
            "language": work["language"],
            "abstract": work["abstract"],
            "abstract_sections": _sections(work["abstract"]),
            "publication_types": types,
            "mesh": mesh,
            "keywords": json.loads(work["keywords"]),
            "pmid": work["pmid"],
            "doi": work["doi"],
            "pmcid": work["pmcid"],
            "links": {
                "doi": f"https://doi.org/{work['doi']}" if work["doi"] else None,
                "pubmed": f"https://pubmed.ncbi.nlm.nih.gov/{work['pmid']}/"
                if work["pmid"]
                else None,
                "pmc": f"https://pmc.ncbi.nlm.nih.gov/articles/{work['pmcid']}/"
                if work["pmcid"]
                else None,
                "url": work["url"],
            },
        },
        "topics": topics,
        # the relevance model's probability and the terms that moved it (None without one)
        "model": {
            "probability": row["model_score"],
            "let_in_by_model": bool(row["let_in_by_model"]),
            "explanation": sql.model_explanation(conn, work["id"]),
        }
        if row["model_score"] is not None
        else None,
        "editor_notes": sql.notes(conn, candidate_id),
        "sent_back": sent_back(conn, candidate_id),
        "facts": {
            "design": design(types, mesh),
            "population": population(mesh),
            "diseases": diseases(mesh, work["title"], work["abstract"]),
            "notices": notices(conn, work),
        },
    }
