"""PubMed XML ingest benchmark: litmon's full ingest against a bare parse of the same file.

    python bench/ingest_bench.py [--records N] [--quick] [--replicate [EFETCH.xml[.gz]]]

Builds an efetch-style corpus of 2024-size records (15 authors, ~2 KB structured abstract,
MeSH, 40 references with their own ArticleIdList) in a temporary directory, or with
--replicate one made by repeating the articles of an efetch file (by default the demo's
recorded responses) under fresh PMIDs and DOIs: identically titled records, like PubMed's
many identically titled notices, which the dedup must not read all of. It reports:
full ingest (parse + normalize + dedup + store) and re-ingest rates, the search index's
catch-up (its own line: the job runs it after the store), a bare lxml and a bare
defusedxml iterparse pass, Bio.Entrez.read on a slice, and peak RSS of a full ingest at two
corpus sizes, each in its own subprocess. The full ingest and the bare lxml pass are each
run twice, interleaved, and averaged. A file this size is parsed in a reader process while
the ingest stores (crawler/read_ahead.py): CPU seconds include the reader's, and peak RSS
is given for both processes. PASS/FAIL per target.
"""

from __future__ import annotations

import argparse
import copy
import functools
import gzip
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from xml.sax.saxutils import escape

from defusedxml import ElementTree as DefusedET
from lxml import etree
from measure import peak_rss_kib, run_child, verdict

from litmon.core.records import Record
from litmon.crawler.pubmed_xml import iter_items, iter_records
from litmon.db.runs import RunCounts
from litmon.db.schema import open_db
from litmon.db.search import index_new_works
from litmon.pipeline.ingest import ingest_records

HEADER = (
    '<?xml version="1.0" ?>\n'
    '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN"'
    ' "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n'
    "<PubmedArticleSet>\n"
)
FOOTER = "</PubmedArticleSet>\n"
FIRST_PMID = 38000000
SYLLABLES = "ka lo mi ne ra su to vi ze ph th an el or um is ex al cy qu".split()
JOURNALS = [
    ("Multiple sclerosis (Houndmills, Basingstoke, England)", "Mult Scler", "1477-0970"),
    ("NeuroImage. Clinical", "Neuroimage Clin", "2213-1582"),
    ("Radiology", "Radiology", "1527-1315"),
    ("Annals of neurology", "Ann Neurol", "1531-8249"),
    ("Brain : a journal of neurology", "Brain", "1460-2156"),
]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))


def _sentence(rng: random.Random, words: int) -> str:
    return " ".join(_word(rng) for _ in range(words)).capitalize() + "."


def _authors(rng: random.Random) -> str:
    parts = ['<AuthorList CompleteYN="Y">']
    for _ in range(rng.randint(10, 20)):
        parts.append(
            f'<Author ValidYN="Y"><LastName>{_word(rng).capitalize()}</LastName>'
            f"<ForeName>{_word(rng).capitalize()}</ForeName><Initials>X</Initials>"
            f'<Identifier Source="ORCID">0000-000{rng.randint(1, 9)}-{rng.randint(1000, 9999)}'
            f"-{rng.randint(1000, 9999)}</Identifier><AffiliationInfo><Affiliation>Department"
            f" of Neurology, {_word(rng).capitalize()} University Hospital,"
            f" {_word(rng).capitalize()}, Country.</Affiliation></AffiliationInfo></Author>"
        )
    parts.append("</AuthorList>")
    return "".join(parts)


def _abstract(rng: random.Random) -> str:
    sections = [
        ("BACKGROUND", "BACKGROUND"),
        ("METHODS", "METHODS"),
        ("RESULTS", "RESULTS"),
        ("CONCLUSIONS", "CONCLUSIONS"),
    ]
    body = "".join(
        f'<AbstractText Label="{label}" NlmCategory="{category}">'
        f"{' '.join(_sentence(rng, 12) for _ in range(6))}</AbstractText>"
        for label, category in sections
    )
    return (
        f"<Abstract>{body}<CopyrightInformation>© 2024 The Authors.</CopyrightInformation>"
        "</Abstract>"
    )


def _mesh(rng: random.Random) -> str:
    headings = "".join(
        f'<MeshHeading><DescriptorName UI="D{rng.randint(100000, 999999)}" MajorTopicYN="N">'
        f"{_word(rng).capitalize()} {_word(rng)}</DescriptorName>"
        f'<QualifierName UI="Q000{rng.randint(100, 999)}" MajorTopicYN="N">diagnostic imaging'
        "</QualifierName></MeshHeading>"
        for _ in range(rng.randint(8, 16))
    )
    return f"<MeshHeadingList>{headings}</MeshHeadingList>"


def _references(rng: random.Random) -> str:
    refs = []
    for _ in range(40):
        year = rng.randint(1995, 2023)
        pmid = rng.randint(10000000, 37000000)
        refs.append(
            f"<Reference><Citation>{_word(rng).capitalize()} A, {_word(rng).capitalize()} B,"
            f" et al. {_sentence(rng, 10)} {_word(rng).capitalize()} J. {year};"
            f"{rng.randint(1, 90)}({rng.randint(1, 12)}):{rng.randint(1, 900)}-"
            f"{rng.randint(901, 999)}.</Citation><ArticleIdList>"
            f'<ArticleId IdType="doi">10.{rng.randint(1000, 9999)}/ref.{pmid}</ArticleId>'
            f'<ArticleId IdType="pubmed">{pmid}</ArticleId>'
            f'<ArticleId IdType="pmc">PMC{rng.randint(1000000, 9999999)}</ArticleId>'
            "</ArticleIdList></Reference>"
        )
    return f"<ReferenceList>{''.join(refs)}</ReferenceList>"


def _history(rng: random.Random) -> str:
    dates = "".join(
        f'<PubMedPubDate PubStatus="{status}"><Year>2024</Year><Month>{rng.randint(1, 12)}'
        f"</Month><Day>{rng.randint(1, 28)}</Day></PubMedPubDate>"
        for status in ("received", "revised", "accepted", "medline", "pubmed", "entrez")
    )
    return f"<History>{dates}</History>"


POOL = 256  # distinct author lists, abstracts, MeSH lists, reference lists and histories


def make_pools(rng: random.Random) -> dict[str, list[str]]:
    """The bulky parts of records, built once: building each record's afresh is slow."""
    makers = {
        "abstract": _abstract,
        "authors": _authors,
        "mesh": _mesh,
        "references": _references,
        "history": _history,
    }
    return {name: [make(rng) for _ in range(POOL)] for name, make in makers.items()}


def article_xml(rng: random.Random, pmid: int, pools: dict[str, list[str]]) -> str:
    """One PubmedArticle shaped like a 2024 MEDLINE record with references."""
    journal, abbrev, issn = rng.choice(JOURNALS)
    month = rng.randint(1, 12)
    title = escape(f"{_sentence(rng, 5)[:-1]} in multiple sclerosis: {_sentence(rng, 4)}")
    doi = f"10.1177/{pmid}"
    # about a third of recent records are in PubMed Central; PMCIDs are unique like PMIDs
    pmc = f'<ArticleId IdType="pmc">PMC{pmid - 30_000_000}</ArticleId>' if pmid % 3 == 0 else ""
    return (
        '<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM" IndexingMethod="Automated">'
        f'<PMID Version="1">{pmid}</PMID>'
        "<DateCompleted><Year>2024</Year><Month>06</Month><Day>10</Day></DateCompleted>"
        f"<DateRevised><Year>2024</Year><Month>{month:02d}</Month><Day>12</Day></DateRevised>"
        '<Article PubModel="Print-Electronic"><Journal>'
        f'<ISSN IssnType="Electronic">{issn}</ISSN><JournalIssue CitedMedium="Internet">'
        f"<Volume>{rng.randint(1, 40)}</Volume><Issue>{rng.randint(1, 12)}</Issue>"
        f"<PubDate><Year>2024</Year><Month>{MONTHS[month - 1]}</Month></PubDate></JournalIssue>"
        f"<Title>{escape(journal)}</Title><ISOAbbreviation>{abbrev}</ISOAbbreviation></Journal>"
        f"<ArticleTitle>{title}</ArticleTitle>"
        f"<Pagination><StartPage>{rng.randint(1, 900)}</StartPage><EndPage>999</EndPage>"
        f"<MedlinePgn>{rng.randint(1, 900)}-999</MedlinePgn></Pagination>"
        f'<ELocationID EIdType="doi" ValidYN="Y">{doi}</ELocationID>'
        f"{rng.choice(pools['abstract'])}{rng.choice(pools['authors'])}<Language>eng</Language>"
        '<PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType>'
        "</PublicationTypeList>"
        '<ArticleDate DateType="Electronic"><Year>2024</Year><Month>01</Month><Day>05</Day>'
        "</ArticleDate></Article><MedlineJournalInfo><Country>England</Country>"
        f"<MedlineTA>{abbrev}</MedlineTA><NlmUniqueID>9509185</NlmUniqueID>"
        f"<ISSNLinking>{issn}</ISSNLinking></MedlineJournalInfo>"
        "<CitationSubset>IM</CitationSubset>"
        f"{rng.choice(pools['mesh'])}"
        '<KeywordList Owner="NOTNLM"><Keyword MajorTopicYN="N">QSM</Keyword>'
        '<Keyword MajorTopicYN="N">paramagnetic rim lesions</Keyword>'
        f'<Keyword MajorTopicYN="N">{_word(rng)}</Keyword></KeywordList>'
        "<CoiStatement>The authors declare no conflicts of interest.</CoiStatement>"
        f"</MedlineCitation><PubmedData>{rng.choice(pools['history'])}"
        "<PublicationStatus>ppublish</PublicationStatus><ArticleIdList>"
        f'<ArticleId IdType="pubmed">{pmid}</ArticleId><ArticleId IdType="doi">{doi}</ArticleId>'
        f"{pmc}</ArticleIdList>"
        f"{rng.choice(pools['references'])}</PubmedData></PubmedArticle>\n"
    )


ROOT = Path(__file__).resolve().parent.parent
DEMO_RECORDS = ROOT / "replay" / "demo_data" / "pubmed_demo.xml.gz"


def write_replicated(path: Path, records: int, source: Path) -> Path:
    """``records`` articles cycling through those of ``source``, each under a PMID and a
    DOI of its own (one article a line, as :func:`slice_file` expects)."""
    opened = gzip.open(source, "rb") if source.suffix == ".gz" else open(source, "rb")
    with opened as handle:
        articles = etree.parse(handle).getroot().findall("PubmedArticle")
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        for offset in range(records):
            article = copy.deepcopy(articles[offset % len(articles)])
            pmid = str(FIRST_PMID + offset)
            article.find("MedlineCitation/PMID").text = pmid
            for node in article.iterfind(".//PubmedData/ArticleIdList/ArticleId"):
                if node.get("IdType") == "pubmed":
                    node.text = pmid
                elif node.get("IdType") in ("doi", "pmc"):
                    node.text = f"10.5555/replica.{pmid}" if node.get("IdType") == "doi" else None
            for node in article.iterfind(".//ELocationID[@EIdType='doi']"):
                node.text = f"10.5555/replica.{pmid}"
            out.write(etree.tostring(article, encoding="unicode").replace("\n", " ") + "\n")
        out.write(FOOTER)
    return path


def write_corpus(path: Path, records: int, seed: int = 2024) -> Path:
    rng = random.Random(seed)
    pools = make_pools(rng)
    with open(path, "w", encoding="utf-8") as out:
        out.write(HEADER)
        for offset in range(records):
            out.write(article_xml(rng, FIRST_PMID + offset, pools))
        out.write(FOOTER)
    return path


def ingest(path: Path, db_path: Path) -> tuple[int, RunCounts]:
    """litmon's full ingest, as `litmon ingest pubmed-xml` runs it: parse (in a reader
    process, for a file this size) and store in batches of pipeline.ingest.BATCH records,
    as one logged run."""
    db = open_db(db_path)
    run = ingest_records(db, "ingest:pubmed-xml", path, iter_items(path))
    db.close()
    return run.counts.fetched, run.counts


def index(db_path: Path) -> int:
    """The search index's catch-up that `litmon ingest` runs after the store's batches
    (db/search.py): measured on its own, and done before the re-ingest, which would
    otherwise pay for it when it opens the database."""
    conn = sqlite3.connect(db_path)
    try:
        return index_new_works(conn)
    finally:
        conn.close()


def parse_only(path: Path) -> int:
    """litmon's parse alone, in this process: records out, nothing stored."""
    return sum(1 for item in iter_items(path, read_ahead=False) if isinstance(item, Record))


def bare_lxml(path: Path) -> int:
    count = 0
    for _event, elem in etree.iterparse(str(path), events=("end",), tag="PubmedArticle"):
        count += 1
        elem.clear()
    return count


def bare_defusedxml(path: Path) -> int:
    count = 0
    for _event, elem in DefusedET.iterparse(str(path), events=("end",)):
        if elem.tag == "PubmedArticle":
            count += 1
            elem.clear()
    return count


def cpu_seconds() -> float:
    """CPU time of this process and of its ended children (the reader process a large file's
    ingest parses in, see crawler/read_ahead.py)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(func: Callable[[], object]) -> tuple[object, float, float]:
    """``func()``, its wall-clock and its CPU seconds, the reader process's included (CPU
    time is steadier on a busy host)."""
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = func()
    return result, time.perf_counter() - wall, cpu_seconds() - cpu


def rate_line(label: str, count: int, wall: float, cpu: float, note: str = "") -> str:
    return f"{label:<28}{count / wall:9,.0f} records/s ({wall:.1f} s wall, {cpu:.1f} s CPU){note}"


def slice_file(source: Path, target: Path, records: int) -> Path:
    """The first ``records`` articles of ``source`` as their own efetch-style file."""
    with open(source, encoding="utf-8") as src, open(target, "w", encoding="utf-8") as out:
        out.write(HEADER)
        kept = 0
        for line in src:
            if line.startswith("<PubmedArticle>"):
                out.write(line)
                kept += 1
                if kept == records:
                    break
        out.write(FOOTER)
    return target


def entrez_read(path: Path) -> tuple[int, float, int]:
    from Bio import Entrez

    tracemalloc.start()
    start = time.perf_counter()
    with open(path, "rb") as handle:
        parsed = Entrez.read(handle)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return len(parsed["PubmedArticle"]), elapsed, peak


def iter_records_peak(path: Path) -> int:
    tracemalloc.start()
    for _record in iter_records(path):
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def rss_child(path: Path) -> None:
    """Subprocess entry: full ingest of ``path`` into a fresh database, print peak RSS."""
    total, _counts = ingest(path, path.with_suffix(".db"))
    print(f"{total} {peak_rss_kib()}")


# The reader process as an ingest starts it, then its peak RSS (to stderr: stdout carries the
# items). Its figure is not to be had from the ingest itself: a child's peak as the kernel
# counts it includes its parent's pages until it execs.
READER_RSS = (
    "import sys\n"
    "from measure import peak_rss_kib\n"
    "from litmon.crawler.read_ahead import main\n"
    "main(['litmon.crawler.pubmed_xml:iter_items', sys.argv[1]])\n"
    "print(peak_rss_kib(), file=sys.stderr)\n"
)


def reader_peak_rss(path: Path) -> int:
    """Peak RSS (KiB) of the reader process of an ingest of ``path``."""
    done = subprocess.run(
        [sys.executable, "-c", READER_RSS, str(path)],
        cwd=Path(__file__).parent,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=True,
        text=True,
    )
    return int(done.stderr.split()[-1])


def child_peak_rss(path: Path) -> tuple[int, int]:
    """Peak RSS (KiB) of a full ingest of ``path``, and of its reader process."""
    return int(run_child(__file__, "--rss-child", path)[1]), reader_peak_rss(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="corpus size (20,000)")
    parser.add_argument("--quick", action="store_true", help="small smoke run (2,000 records)")
    parser.add_argument(
        "--replicate",
        type=Path,
        nargs="?",
        const=DEMO_RECORDS,
        help="corpus: the articles of this efetch file repeated under fresh PMIDs and DOIs"
        " (default file: the demo's recorded responses)",
    )
    parser.add_argument("--rss-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return 0
    records = 2_000 if args.quick else args.records
    build = write_corpus
    if args.replicate:
        print(f"corpus: the {args.replicate.name} articles replicated under fresh PMIDs and DOIs")
        build = functools.partial(write_replicated, source=args.replicate)
    small, large = (records, 5 * records)
    slice_size = min(500, records)

    with tempfile.TemporaryDirectory(prefix="litmon-bench-") as tmp:
        tmpdir = Path(tmp)
        print(f"building {records:,} records ...", flush=True)
        corpus, build_s, _cpu = timed(lambda: build(tmpdir / "corpus.xml", records))
        size_mb = corpus.stat().st_size / 1e6
        print(f"corpus: {records:,} records, {size_mb:,.0f} MB, built in {build_s:.1f} s")

        # Interleaved, each measured twice and averaged: bare pass, full ingest, re-ingest,
        # bare pass, full ingest into a second fresh database. Load from other tenants moves
        # every rate; interleaving spreads it over both sides of each ratio.
        bare_runs, ingest_runs = [], []
        bare_n, wall, cpu = timed(lambda: bare_lxml(corpus))
        bare_runs.append((wall, cpu))
        print(rate_line("bare lxml iterparse:", bare_n, wall, cpu))
        defused_n, defused_wall, defused_cpu = timed(lambda: bare_defusedxml(corpus))
        print(rate_line("bare defusedxml iterparse:", defused_n, defused_wall, defused_cpu))
        parsed_n, parse_wall, parse_cpu = timed(lambda: parse_only(corpus))
        print(rate_line("litmon parse only:", parsed_n, parse_wall, parse_cpu))

        db_path = tmpdir / "ingest.db"
        (total, first), wall, cpu = timed(lambda: ingest(corpus, db_path))
        ingest_runs.append((wall, cpu))
        print(rate_line("litmon full ingest:", total, wall, cpu, f"  {first}"))
        indexed, index_wall, index_cpu = timed(lambda: index(db_path))
        print(rate_line("search index catch-up:", indexed, index_wall, index_cpu))
        (total, again), again_wall, again_cpu = timed(lambda: ingest(corpus, db_path))
        print(rate_line("litmon re-ingest:", total, again_wall, again_cpu, f"  {again}"))
        _n, wall, cpu = timed(lambda: bare_lxml(corpus))
        bare_runs.append((wall, cpu))
        print(rate_line("bare lxml iterparse, again:", _n, wall, cpu))
        (total, _first), wall, cpu = timed(lambda: ingest(corpus, tmpdir / "ingest-2.db"))
        ingest_runs.append((wall, cpu))
        print(rate_line("litmon full ingest, again:", total, wall, cpu))
        bare_wall, bare_cpu = (sum(run) / 2 for run in zip(*bare_runs, strict=True))
        ingest_wall, ingest_cpu = (sum(run) / 2 for run in zip(*ingest_runs, strict=True))

        sliced = slice_file(corpus, tmpdir / "slice.xml", slice_size)
        entrez_n, entrez_s, entrez_peak = entrez_read(sliced)
        ours_peak = iter_records_peak(sliced)
        print(
            f"Bio.Entrez.read, {entrez_n} records: {entrez_n / entrez_s:9,.0f} records/s,"
            f" peak {entrez_peak / 1e6:.1f} MB (iter_records on the same slice:"
            f" peak {ours_peak / 1e6:.1f} MB)"
        )

        ratio, ratio_cpu = bare_wall / ingest_wall, bare_cpu / ingest_cpu
        print(
            f"ingest / bare lxml = {ratio:.2f} wall, {ratio_cpu:.2f} CPU (target >= 0.5)"
            f" {verdict(ratio >= 0.5)}"
        )
        rerun, rerun_cpu = ingest_wall / again_wall, ingest_cpu / again_cpu
        print(
            f"re-ingest / ingest = {rerun:.2f} wall, {rerun_cpu:.2f} CPU (target >= 1.0)"
            f" {verdict(rerun >= 1.0)}"
        )
        ok = again.unchanged == total
        print(f"re-ingest all unchanged: {again.unchanged}/{total} {verdict(ok)}")

        corpus.unlink()
        rss, reader = {}, {}
        for size in (small, large):
            path = build(tmpdir / f"rss-{size}.xml", size)
            rss[size], reader[size] = child_peak_rss(path)
            path.unlink()
            print(
                f"peak RSS, full ingest of {size:,} records: {rss[size] / 1024:.0f} MiB"
                f" (its reader process: {reader[size] / 1024:.0f} MiB)"
            )
        growth = max(rss[large] / rss[small], reader[large] / max(reader[small], 1))
        print(
            f"peak RSS {large:,} / {small:,} = {growth:.2f}, the larger of the two processes'"
            f" (target <= 1.2) {verdict(growth <= 1.2)}"
        )
    targets = (ratio >= 0.5, rerun >= 1.0, ok, growth <= 1.2)
    return 0 if all(targets) else 1


if __name__ == "__main__":
    sys.exit(main())
