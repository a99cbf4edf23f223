"""Builds PubMed efetch XML in the real DTD's shape, for tests that need records with
chosen PMIDs and History dates (the recorded fixtures in fixtures/pubmed cover field shapes)."""

from __future__ import annotations

from datetime import date
from xml.sax.saxutils import escape

DOCTYPE = (
    '<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, '
    '1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
)


def _date(tag: str, day: date, status: str | None = None) -> str:
    attr = f' PubStatus="{status}"' if status else ""
    return (
        f"<{tag}{attr}><Year>{day.year}</Year><Month>{day.month:02d}</Month>"
        f"<Day>{day.day:02d}</Day></{tag}>"
    )


def article(
    pmid: int | str,
    edat: date,
    *,
    crdt: date | None = None,
    revised: date | None = None,
    title: str | None = None,
    doi: str | None = None,
) -> str:
    """One PubmedArticle; EDAT is History's "entrez" date, CRDT its "pubmed" date."""
    crdt = crdt or edat
    revised = revised or edat
    title = title or f"Paramagnetic rim lesions and QSM in multiple sclerosis: cohort {pmid}"
    doi = doi or f"10.5555/litmon.{pmid}"
    return f"""<PubmedArticle>
<MedlineCitation Status="PubMed-not-MEDLINE" Owner="NLM">
<PMID Version="1">{pmid}</PMID>
{_date("DateRevised", revised)}
<Article PubModel="Print-Electronic">
<Journal><ISSN IssnType="Electronic">1477-0970</ISSN>
<JournalIssue CitedMedium="Internet"><Volume>31</Volume><Issue>2</Issue>
<PubDate><Year>{edat.year}</Year><Month>Feb</Month></PubDate></JournalIssue>
<Title>Multiple sclerosis (Houndmills, Basingstoke, England)</Title>
<ISOAbbreviation>Mult Scler</ISOAbbreviation></Journal>
<ArticleTitle>{escape(title)}</ArticleTitle>
<Pagination><StartPage>100</StartPage><EndPage>110</EndPage><MedlinePgn>100-110</MedlinePgn></Pagination>
<ELocationID EIdType="doi" ValidYN="Y">{doi}</ELocationID>
<Abstract><AbstractText Label="BACKGROUND">Iron rims mark chronic active lesions.</AbstractText>
<AbstractText Label="METHODS">QSM at 3T in 40 people with MS.</AbstractText></Abstract>
<AuthorList CompleteYN="Y"><Author ValidYN="Y"><LastName>Rivera</LastName><ForeName>Ana</ForeName>
<Initials>A</Initials></Author></AuthorList>
<Language>eng</Language>
<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType></PublicationTypeList>
</Article>
<MedlineJournalInfo><Country>England</Country><MedlineTA>Mult Scler</MedlineTA></MedlineJournalInfo>
</MedlineCitation>
<PubmedData><History>
{_date("PubMedPubDate", crdt, "pubmed")}
{_date("PubMedPubDate", edat, "entrez")}
</History><PublicationStatus>ppublish</PublicationStatus>
<ArticleIdList><ArticleId IdType="pubmed">{pmid}</ArticleId><ArticleId IdType="doi">{doi}</ArticleId></ArticleIdList>
</PubmedData>
</PubmedArticle>"""


def article_set(articles: list[str]) -> bytes:
    return (
        DOCTYPE + "<PubmedArticleSet>\n" + "\n".join(articles) + "\n</PubmedArticleSet>\n"
    ).encode()
