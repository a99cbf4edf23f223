"""`litmon publish DIR`: the published pieces as a static site, from a real database where
editors published drafts. What a reader sees (the list, a piece's four parts, its
citation, the caveat), what a second publish leaves alone (not a file touched), what one new
piece rewrites (its pages only), a retraction taking a piece down with the takedown in the
trail, hostile text staying text, and the feeds parsing as feeds."""

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from litmon import review
from litmon.cli import cli
from litmon.core.locks import file_lock
from litmon.core.records import Deletion, Link, Record
from litmon.db import merge
from litmon.db.schema import open_db
from litmon.db.store import delete_works, save_records
from litmon.publish import CAVEAT, SiteSettings, publish
from litmon.review import drafts

SETTINGS = SiteSettings(
    title="MS research in plain language",
    base_url="https://example.org/research/",
    topic_titles=(("ms_neuroimaging", "MS imaging"),),
)


def parts(n: int, **overrides) -> dict:
    return {
        "finding": f"A type of MRI (QSM) may show brain changes linked to inflammation, study {n}.",
        "what_was_done": f"Researchers scanned 40 people with MS twice, a year apart (study {n}).",
        "why_it_matters": "It may help doctors follow inflammation without a contrast agent.",
        "limits": "A small study at one hospital; the findings need repeating elsewhere.",
    } | overrides


def make_work(db, n: int, **fields) -> int:
    """PubMed work n (PMID 40000000+n), saved through the store as a crawl saves it."""
    values = dict(
        source="pubmed",
        source_id=str(40_000_000 + n),
        pmid=str(40_000_000 + n),
        doi=f"10.1000/ms.{n}",
        title=f"Quantitative susceptibility mapping of rim lesions in multiple sclerosis {n}",
        abstract="We scanned 40 people with multiple sclerosis twice, a year apart.",
        authors=["Rivera, Ana", "Chen, Li", "Okafor, Ngozi", "Berg, Lars"],
        journal="Multiple Sclerosis Journal",
        pub_date="2026-10",
    )
    save_records(db, [Record(**values | fields)])
    return db.execute("SELECT id FROM works WHERE pmid = ?", (values["pmid"],)).fetchone()[0]


def publish_piece(db, n: int, topics=("ms_neuroimaging",), **overrides) -> int:
    """Work n through the queue to a piece an editor published: approved, claimed, a
    worker's draft, the editor's edit into the four parts, published. Its candidate id."""
    work_id = make_work(db, n)
    candidate_id = review.enqueue(db, work_id, [(topic, 1.0) for topic in topics])
    review.decide(db, [str(candidate_id)], "approve", by="editor")
    packet = review.claim(db, "worker")
    assert packet["id"] == candidate_id
    review.done(db, candidate_id, packet["lease_token"], "a draft in free text")
    drafts.edit(db, candidate_id, parts(n, **overrides), "editor")
    drafts.publish(db, candidate_id, "editor", force=True)
    return candidate_id


def retract(db, n: int) -> None:
    """PubMed's record of work n comes again, now with a RetractionIn link."""
    make_work(db, n, links=[Link(type="RetractionIn", pmid="41000000")])


def delete(db, n: int) -> None:
    """NLM deletes work n (a DeleteCitation in an update file)."""
    delete_works(db, Deletion("pubmed", (str(40_000_000 + n),)))


def files(site: Path) -> dict[str, tuple[int, int]]:
    """Every file of the site with its inode and mtime (ns): what a rewrite changes. The
    publish lock is left out: each publish writes its pid there."""
    return {
        str(path.relative_to(site)): (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in site.rglob("*")
        if path.is_file() and path.name != "lock"
    }


def page_of(site: Path, candidate_id: int) -> Path:
    (path,) = site.glob(f"pieces/{candidate_id}-*.html")
    return path


def test_a_publish_writes_the_list_the_pieces_topics_and_feeds(db, tmp_path):
    first = publish_piece(db, 1)
    second = publish_piece(db, 2, topics=("ms_neuroimaging", "ms_clinical"))
    site = tmp_path / "site"
    result = publish(db, site, SETTINGS)
    assert result.listed == 2 and result.removed == [] and result.taken_down == []
    index = (site / "index.html").read_text()
    # newest first, each with its date, its finding and a Read More to its page
    assert index.index("study 2.") < index.index("study 1.")
    assert index.count("Read More") == 2
    assert f'href="{page_of(site, second).relative_to(site)}"' in index
    page = page_of(site, first).read_text()
    for text in (
        "A type of MRI (QSM) may show brain changes linked to inflammation, study 1.",
        "What the researchers did and found",
        "Researchers scanned 40 people with MS twice, a year apart (study 1).",
        "Why it matters for people with MS and their caregivers",
        "The study's limits",
        "A small study at one hospital",
        "Quantitative susceptibility mapping of rim lesions in multiple sclerosis 1",
        "Rivera, Ana; Chen, Li; Okafor, Ngozi; et al",
        'href="https://pubmed.ncbi.nlm.nih.gov/40000001/"',
        'href="https://doi.org/10.1000/ms.1"',
        CAVEAT.replace("'", "&#39;"),
    ):
        assert text in page, text
    assert '<html lang="en">' in page and 'name="viewport"' in page and "<script" not in page
    assert (
        "<cite>Quantitative susceptibility mapping of rim lesions in multiple sclerosis 1.</cite>"
        " Multiple Sclerosis Journal, 2026-10." in page
    )
    imaging = (site / "topics/ms-neuroimaging/index.html").read_text()
    assert '<h1><span class="kicker">Topic</span> MS imaging</h1>' in imaging
    assert "study 1." in imaging and "study 2." in imaging
    clinical = (site / "topics/ms-clinical/index.html").read_text()
    assert "study 2." in clinical and "study 1." not in clinical
    assert (site / "feed.atom").is_file() and (site / "feed.json").is_file()


def test_a_second_publish_with_nothing_new_touches_no_file(db, tmp_path):
    publish_piece(db, 1)
    publish_piece(db, 2)
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    before = files(site)
    again = publish(db, site, SETTINGS)
    assert again.written == [] and again.removed == [] and again.unchanged > 0
    assert files(site) == before  # same inodes, same mtimes: nothing rewritten


def test_one_new_piece_rewrites_only_the_pages_it_is_on(db, tmp_path):
    for n in range(1, 6):
        publish_piece(db, n, topics=("ms_neuroimaging",) if n % 2 else ("ms_clinical",))
    site = tmp_path / "site"
    small_pages = replace(SETTINGS, per_page=2)
    publish(db, site, small_pages)
    before = files(site)
    new = publish_piece(db, 6, topics=("ms_clinical",))
    result = publish(db, site, small_pages)
    new_page = str(page_of(site, new).relative_to(site))
    # 6 pieces, 2 a page: the new one joins the third page of the list; ms_clinical holds
    # 2, 4 and 6: a second page, which its first page now links to as "newer"
    assert sorted(result.written) == sorted(
        [new_page, "index.html", "archive/3.html", "topics/ms-clinical/index.html",
         "topics/ms-clinical/1.html", "topics/ms-clinical/2.html", "feed.atom", "feed.json"]
    )  # fmt: skip
    after = files(site)
    changed = {path for path in before if after[path] != before[path]}
    # the files it wrote, and its manifest; nothing else was touched
    assert changed == (set(result.written) & set(before)) | {".litmon-publish/manifest.json"}
    assert "archive/1.html" not in changed and "topics/ms-neuroimaging/index.html" not in changed


@pytest.mark.parametrize(
    ("change", "why"), [(retract, "retracted"), (delete, "withdrawn from PubMed")]
)
def test_a_retraction_takes_the_piece_down_at_the_next_publish(db, tmp_path, change, why):
    kept = publish_piece(db, 1)
    gone = publish_piece(db, 2)
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    change(db, 2)
    result = publish(db, site, SETTINGS)
    assert result.taken_down == [gone]
    for listing in ("index.html", "topics/ms-neuroimaging/index.html", "archive/1.html"):
        text = (site / listing).read_text()
        assert "study 2." not in text and "study 1." in text, listing
    notice = page_of(site, gone).read_text()
    assert "This summary has been withdrawn" in notice and f"was {why} after" in notice
    assert "Researchers scanned" not in notice  # the parts are gone, the citation stays
    atom = feedparser.parse((site / "feed.atom").read_bytes())
    assert [entry.title for entry in atom.entries] == [parts(1)["finding"]]
    feed = json.loads((site / "feed.json").read_text())
    assert [item["title"] for item in feed["items"]] == [parts(1)["finding"]]
    (ack,) = [row for row in review.history(db, str(gone)) if row["action"] == "ack_takedown"]
    assert ack["by"] == "publish" and str(site) in ack["note"] and result.at in ack["note"]
    assert not [row for row in review.history(db, str(kept)) if row["action"] == "ack_takedown"]
    # the next publish finds nothing to take down and records nothing more
    assert publish(db, site, SETTINGS).taken_down == []
    acks = [row for row in review.history(db, str(gone)) if row["action"] == "ack_takedown"]
    assert len(acks) == 1


def test_of_two_published_copies_of_a_paper_merged_one_piece_stays(db, tmp_path):
    kept = publish_piece(db, 1)
    copy = publish_piece(db, 2)
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    kept_work, copy_work = (review.show(db, str(c))["work_id"] for c in (kept, copy))
    merge.merge_works(db, kept_work, copy_work, "the same paper")
    result = publish(db, site, SETTINGS)
    index = (site / "index.html").read_text()
    assert "study 1." in index and "study 2." not in index
    notice = page_of(site, copy).read_text()
    assert "This summary has moved" in notice
    assert f'href="../{page_of(site, kept).relative_to(site)}"' in notice
    assert result.taken_down == []  # nothing withdrawn: no takedown recorded


def test_text_from_pubmed_or_a_model_never_becomes_markup(db, tmp_path):
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    candidate_id = publish_piece(
        db, 1, finding=f"Finding {hostile} about MS lesions on MRI", limits=f"Limits {hostile}"
    )
    make_work(db, 1, title=f"Title {hostile}", journal='J "><b>x</b>', doi='10.1/"><a href=x>')
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    for path in [site / "index.html", page_of(site, candidate_id)]:
        text = path.read_text()
        assert "<script" not in text and "<img" not in text and "<b>" not in text, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert '"><a href=x>' not in page_of(site, candidate_id).read_text()
    atom = feedparser.parse((site / "feed.atom").read_bytes())
    assert atom.entries[0].title == f"Finding {hostile} about MS lesions on MRI"  # as text


def test_the_atom_feed_parses_with_the_right_entries(db, tmp_path):
    for n in (1, 2, 3):
        publish_piece(db, n)
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    feed = feedparser.parse((site / "feed.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "MS research in plain language"
    assert [entry.title for entry in feed.entries] == [parts(n)["finding"] for n in (3, 2, 1)]
    first = feed.entries[0]
    assert first.link.startswith("https://example.org/research/pieces/")
    assert first.link.endswith(".html") and first.id == first.link
    assert first.published_parsed is not None
    assert [tag.term for tag in first.tags] == ["MS imaging"]
    assert "Researchers scanned 40 people" in first.content[0].value


def test_the_json_feed_has_the_shape_of_version_1_1(db, tmp_path):
    publish_piece(db, 1)
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    feed = json.loads((site / "feed.json").read_text())
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] and feed["feed_url"] == "https://example.org/research/feed.json"
    (item,) = feed["items"]
    assert set(item) >= {"id", "url", "title", "content_text", "date_published"}
    assert isinstance(item["id"], str) and item["url"].startswith("https://example.org/")
    assert item["date_published"].endswith("Z") and item["tags"] == ["MS imaging"]
    assert item["external_url"] == "https://pubmed.ncbi.nlm.nih.gov/40000001/"


def test_a_piece_taken_back_leaves_the_lists_and_published_again_keeps_its_place(db, tmp_path):
    first = publish_piece(db, 1)
    second = publish_piece(db, 2)
    third = publish_piece(db, 3)
    site = tmp_path / "site"
    one_a_page = replace(SETTINGS, per_page=1)
    publish(db, site, one_a_page)
    drafts.unpublish(db, second, "editor", note="a number is wrong")
    result = publish(db, site, one_a_page)
    assert "study 2." not in (site / "index.html").read_text()
    assert "being revised" in page_of(site, second).read_text()
    assert result.taken_down == []  # not withdrawn: no takedown to record
    drafts.edit(
        db, second, parts(2, limits="A small study at one hospital, now said plainly."), "editor"
    )
    time.sleep(1.1)  # times are stored to the second: the revision is published later
    drafts.publish(db, second, "editor", force=True)
    before = files(site)
    again = publish(db, site, one_a_page)
    # one piece a page: the front page still shows the third, the second is back on page 2
    assert "study 3." in (site / "index.html").read_text()
    assert "study 2." in (site / "archive/2.html").read_text()
    page = page_of(site, second).read_text()
    assert "now said plainly" in page and "revised <time" in page
    assert "archive/2.html" in again.written and "index.html" not in again.written
    assert before["archive/1.html"] == files(site)["archive/1.html"]
    assert before["archive/3.html"] == files(site)["archive/3.html"]
    assert {first, third}.isdisjoint(again.taken_down)
    atom = feedparser.parse((site / "feed.atom").read_bytes())
    revised = next(entry for entry in atom.entries if "study 2." in entry.title)
    assert revised.updated_parsed > revised.published_parsed


def litmon(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_the_command_prints_its_counts_and_json(tmp_path):
    path = tmp_path / "litmon.db"
    db = open_db(path)
    publish_piece(db, 1)
    site = tmp_path / "site"
    first = litmon("--db", str(path), "publish", str(site))
    assert first.exit_code == 0, first.output
    assert first.output.startswith(f"{site}: 1 piece listed; ") and "0 removed" in first.output
    again = litmon("--db", str(path), "publish", str(site), "--json")
    assert again.exit_code == 0
    report = json.loads(again.output)
    assert report["written"] == 0 and report["unchanged"] > 0 and report["listed"] == 1


def test_a_second_publish_of_one_directory_exits_75(tmp_path):
    path = tmp_path / "litmon.db"
    open_db(path)
    site = tmp_path / "site"
    with file_lock(site / ".litmon-publish" / "lock", holder="another publish"):
        result = litmon("--db", str(path), "publish", str(site))
    assert result.exit_code == 75
    assert "held by another publish" in result.output
    assert not (site / "index.html").exists()


def test_a_directory_of_other_files_is_refused(tmp_path):
    path = tmp_path / "litmon.db"
    open_db(path)
    home = tmp_path / "home"
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    result = litmon("--db", str(path), "publish", str(home))
    assert result.exit_code == 2
    assert f"{home} is not empty and no site was published there" in result.output
    assert os.listdir(home) == ["notes.txt"]  # nothing written there


def test_a_directory_through_a_file_is_one_line_exit_2(tmp_path):
    path = tmp_path / "litmon.db"
    open_db(path)
    (tmp_path / "afile").write_text("")
    result = litmon("--db", str(path), "publish", str(tmp_path / "afile" / "site"))
    assert result.exit_code == 2
    assert result.output == (
        f"litmon: cannot publish into {tmp_path / 'afile' / 'site'}: {tmp_path / 'afile'}"
        " is not a directory\n"
    )


def test_without_a_directory_it_says_where_to_set_one(tmp_path):
    result = litmon("--db", str(tmp_path / "litmon.db"), "publish")
    assert result.exit_code == 2
    assert "no directory to publish into" in result.output


@pytest.mark.parametrize("value", ["ftp://x", "example.org"])
def test_a_base_url_must_be_http(tmp_path, value):
    result = litmon(
        "--db", str(tmp_path / "litmon.db"), "publish", str(tmp_path), "--base-url", value
    )
    assert result.exit_code == 2


def test_a_title_with_its_own_full_stop_is_cited_with_one(db, tmp_path):
    candidate_id = publish_piece(db, 1)
    make_work(db, 1, title="Rim lesions in MS: a review.")  # PubMed's titles end so
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    assert (
        "<cite>Rim lesions in MS: a review.</cite> Multiple"
        in page_of(site, candidate_id).read_text()
    )
    atom = feedparser.parse((site / "feed.atom").read_bytes())
    assert (
        "Rim lesions in MS: a review. Multiple Sclerosis Journal, 2026-10."
        in atom.entries[0].content[0].value
    )


def test_a_page_deleted_by_hand_comes_back_and_a_new_title_remakes_every_page(db, tmp_path):
    candidate_id = publish_piece(db, 1)
    site = tmp_path / "site"
    publish(db, site, SETTINGS)
    page = page_of(site, candidate_id)
    page.unlink()
    again = publish(db, site, SETTINGS)
    assert again.written == [str(page.relative_to(site))] and page.is_file()
    retitled = publish(db, site, replace(SETTINGS, title="Research news for people with MS"))
    pages = {str(path.relative_to(site)) for path in site.rglob("*.html")}
    assert pages <= set(retitled.written)  # the title is on every page
    assert "Research news for people with MS" in page.read_text()
