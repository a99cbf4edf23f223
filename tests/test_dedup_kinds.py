"""The kinds of dedup error, each as a rule from evidence, on invented records: conflicting
evidence keeps papers apart, missing evidence is neutral, a frequent title needs agreement on
issue, pages or DOI. Each case has a near-twin that must go the other way."""

from itertools import count

from litmon.core.records import Record
from litmon.db.store import save_records

_ids = count(1)


def record(title: str, **fields) -> Record:
    values = dict(source="csv:review", source_id=f"r{next(_ids)}", title=title)
    values.update(fields)
    return Record(**values)


def works_of(db, records: list[Record]) -> int:
    """How many live works the records are stored as."""
    saved = save_records(db, records).records
    return len({s.work_id for s in saved})


COLUMN = dict(
    authors=["Brennan, Maeve"],
    journal="Journal of Invented Nursing Practice",
    volume="12",
    pub_date="2021",
)
COLUMN_TITLE = "Notes from the Editor in Chief on this issue"


def test_issues_of_a_recurring_column_stay_apart(db):
    issues = [record(COLUMN_TITLE, issue=str(n), **COLUMN) for n in (1, 2, 3, 4)]
    assert works_of(db, issues) == 4


def test_one_issue_of_a_column_seen_twice_is_one_work(db):
    save_records(db, [record(COLUMN_TITLE, issue=str(n), **COLUMN) for n in (1, 2, 3, 4)])
    (saved,) = save_records(db, [record(COLUMN_TITLE, issue="3", **COLUMN)]).records
    assert saved.outcome == "merged"


ARTICLE = "Early mobilisation after hip fracture surgery in frail older adults: a cohort study"
AUTHORS = ["Lindgren, Astrid", "Mbeki, Thabo"]


def test_a_journal_club_republication_is_another_work(db):
    original = record(
        ARTICLE,
        authors=AUTHORS,
        journal="Annals of Invented Internal Medicine",
        volume="140",
        pages="101-110",
        pub_date="2004",
    )
    club = record(
        ARTICLE,
        authors=AUTHORS,
        journal="Invented Journal Club",
        volume="141",
        pages="15",
        pub_date="2004",
    )
    assert works_of(db, [original, club]) == 2


def test_the_same_article_under_an_abbreviated_journal_name_is_one_work(db):
    original = record(
        ARTICLE,
        authors=AUTHORS,
        journal="Annals of Invented Internal Medicine",
        volume="140",
        pages="101-110",
        pub_date="2004",
    )
    abbreviated = record(
        ARTICLE,
        authors=["Lindgren, A.", "Mbeki, T."],
        journal="Ann Invent Intern Med",
        volume="140",
        pages="101-10",
        pub_date="2004",
    )
    assert works_of(db, [original, abbreviated]) == 1


PAPER = dict(
    journal="Invented Review of Labour Economics", volume="37", pages="1-29", pub_date="2019"
)


def test_a_working_paper_without_journal_or_pages_is_its_journal_version(db):
    published = record(
        "Local preference in freelance hiring: evidence from an online labour platform",
        authors=["Varga, Dominika", "Okonjo, Peter"],
        **PAPER,
    )
    working = record(
        "Local Preference in Freelance Hiring - Evidence from an Online Labour Platform",
        authors=["Varga, D.", "Okonjo, P."],
        pub_date="2019",
    )
    assert works_of(db, [published, working]) == 1


def test_a_recommendation_of_the_article_in_another_journal_stays_apart(db):
    """The near twin of the working paper: a recommendation service's or journal club's
    record names its own journal; with no volume or pages it conflicts with nothing, but two
    journals are two publications, so it is at most a question for an editor."""
    published = record(
        "Local preference in freelance hiring: evidence from an online labour platform",
        authors=["Varga, Dominika", "Okonjo, Peter"],
        **PAPER,
    )
    recommended = record(
        "Local Preference in Freelance Hiring - Evidence from an Online Labour Platform",
        authors=["Varga, D.", "Okonjo, P."],
        journal="Invented Opinions: Post-publication Review",
        pub_date="2019",
    )
    assert works_of(db, [published, recommended]) == 2


def test_a_working_paper_by_other_authors_stays_apart(db):
    published = record(
        "Local preference in freelance hiring: evidence from an online labour platform",
        authors=["Varga, Dominika", "Okonjo, Peter"],
        **PAPER,
    )
    other = record(
        "Local Preference in Freelance Hiring - Evidence from an Online Labour Platform",
        authors=["Ferreira, Joana", "Tanaka, Ren"],
        pub_date="2019",
    )
    assert works_of(db, [published, other]) == 2


TRANSLATED = dict(
    authors=["Ortega, Lucia", "Vidal, Marc"],
    journal="Revista Inventada de Medicina de Familia",
    volume="22",
    pub_date="2012",
)
ENGLISH = "Are antimicrobials useful in acute bronchitis in otherwise healthy adults?"
SPANISH = "Utilidad de los antimicrobianos en la bronquitis aguda del adulto sano"


def test_a_translated_title_is_the_same_work_as_original_plus_translation(db):
    bracketed = record(f"[{ENGLISH}]", pages="45-52", **TRANSLATED)
    both = record(f"{SPANISH}; {ENGLISH}", pages="45-52", **TRANSLATED)
    original_first = record(f"{SPANISH}. [{ENGLISH}]", pages="45-52", **TRANSLATED)
    assert works_of(db, [bracketed, both, original_first]) == 1


def test_a_translated_title_on_other_pages_stays_apart(db):
    bracketed = record(f"[{ENGLISH}]", pages="45-52", **TRANSLATED)
    both = record(f"{SPANISH}; {ENGLISH}", pages="60-66", **TRANSLATED)
    assert works_of(db, [bracketed, both]) == 2


HIGHLIGHTS = "Highlights of this month in invented clinical neurology"
NEURO = dict(
    authors=["Achebe, Ngozi"],
    journal="Invented Clinical Neurology",
    volume="9",
    pub_date="2022",
)


def test_a_title_stored_once_merges_on_the_usual_evidence(db):
    """Not a word list: the same words are an ordinary title while few works share it."""
    first = record(HIGHLIGHTS, **NEURO)
    again = record(HIGHLIGHTS, **NEURO)
    assert works_of(db, [first, again]) == 1


def test_a_title_many_works_share_needs_issue_pages_or_doi_to_merge(db):
    save_records(
        db,
        [record(HIGHLIGHTS, issue=str(n), pages=f"{n}01-{n}02", **NEURO) for n in (1, 2, 3)],
    )
    asked = "SELECT count(*) FROM possible_duplicates WHERE status = 'open'"
    (before,) = db.execute(asked).fetchone()
    # nothing beyond the shared title, author, journal and year: a work of its own
    (unplaced,) = save_records(db, [record(HIGHLIGHTS, **NEURO)]).records
    assert unplaced.outcome == "new"
    # the pages of issue 2: that work
    (placed,) = save_records(db, [record(HIGHLIGHTS, pages="201-202", **NEURO)]).records
    assert placed.outcome == "merged" and placed.work_id == 2
    # no editor is asked about the pairs of a title that many works share
    assert db.execute(asked).fetchone() == (before,)


def test_identically_titled_notices_without_evidence_stay_apart(db):
    notices = [
        record("Erratum", journal="Invented Cardiology", volume="5", pub_date="2020")
        for _ in range(40)
    ]
    assert works_of(db, notices) == 40
    (same,) = save_records(
        db,
        [record("Erratum", journal="Invented Cardiology", pages="77", pub_date="2020")],
    ).records
    (again,) = save_records(
        db,
        [record("Erratum", journal="Invented Cardiology", pages="77", pub_date="2020")],
    ).records
    assert same.outcome == "new" and again.outcome == "merged"


REFERRAL = dict(
    authors=["Ruiz, Pilar"],
    journal="Revista Inventada de Neurologia",
    volume="30",
    pub_date="2010",
)


def test_two_translations_of_one_title_in_the_same_place_are_one_work(db):
    """A database's translation of a title ("[...]", "[Spanish]") need not match another
    database's word for word; the same authors, journal, volume and pages place it."""
    one = record(
        "Referral criteria for inpatient rehabilitation after stroke. [Spanish]",
        pages="30-38",
        **REFERRAL,
    )
    other = record(
        "[Criteria for referring inpatients to rehabilitation after a stroke]. [Spanish]",
        pages="30-8",
        **REFERRAL,
    )
    assert works_of(db, [one, other]) == 1


def test_two_translations_on_other_pages_stay_apart(db):
    one = record(
        "Referral criteria for inpatient rehabilitation after stroke. [Spanish]",
        pages="30-38",
        **REFERRAL,
    )
    other = record(
        "[Criteria for referring inpatients to rehabilitation after a stroke]. [Spanish]",
        pages="39-44",
        **REFERRAL,
    )
    assert works_of(db, [one, other]) == 2


BRIEF = dict(
    authors=["Haldane, W.", "Moreau, D. V."],
    journal="Invented Journal of Transplantation",
    volume="10",
    issue="9",
    pub_date="2010",
)
LIVER = "Liver transplantation alone in a child with an inherited complement disorder"


def test_a_dropped_subtitle_in_the_same_issue_with_pages_is_one_work(db):
    full = record(f"{LIVER}: brief communication", pages="2141-2147", **BRIEF)
    short = record(LIVER, pages="2142-2147", **BRIEF)
    assert works_of(db, [full, short]) == 1


def test_a_dropped_subtitle_in_another_issue_stays_apart(db):
    full = record(f"{LIVER}: brief communication", pages="2141-2147", **BRIEF)
    short = record(LIVER, pages="2142-2147", **{**BRIEF, "issue": "10"})
    assert works_of(db, [full, short]) == 2


CYRILLIC = dict(
    authors=["Иванова, Е. П.", "Петров, А. С."],
    journal="Вестник вымышленной неврологии",
    pub_date="2018",
)
RIM_LESIONS = "Парамагнитные ободки очагов при рассеянном склерозе у взрослых"


def test_a_title_in_another_script_is_compared_in_its_script(db):
    """A Cyrillic title is not folded to nothing: two exports of one article, one without
    pages, are one work."""
    paged = record(RIM_LESIONS, volume="7", pages="12-19", **CYRILLIC)
    unpaged = record(RIM_LESIONS + ".", **CYRILLIC)
    assert works_of(db, [paged, unpaged]) == 1


def test_another_title_in_the_same_script_stays_apart(db):
    """The near twin: other words in the same script, authors, journal and year."""
    other = "Центральная вена в очагах при рассеянном склерозе у взрослых"
    assert works_of(db, [record(RIM_LESIONS, **CYRILLIC), record(other, **CYRILLIC)]) == 2


def test_latin_letters_without_a_decomposition_match_their_ascii_spelling(db):
    """ "ø", "ß" and "ł" as an ASCII-only export writes them ("o", "ss", "l")."""
    native = record(
        "Søvnkvalitet og trætthed hos patienter med sclerose i Łódź og Großbritannien",
        authors=["Sørensen, Bjørn"],
        journal="Invented Scandinavian Neurology",
        pub_date="2015",
    )
    ascii_only = record(
        "Sovnkvalitet og traetthed hos patienter med sclerose i Lodz og Grossbritannien",
        authors=["Sorensen, B."],
        pub_date="2015",
    )
    assert works_of(db, [native, ascii_only]) == 1


THESIS = dict(authors=["Ferreira, Ines Maria"], volume="Ph.D.", pub_date="2014")
THESIS_TITLE = "Gait adaptation to uneven ground in people with multiple sclerosis"


def test_a_thesis_extent_is_not_a_page_that_conflicts(db):
    """ "215 p" counts a thesis's pages: an abstracting service's record of the same thesis
    at its own page is missing evidence, not a conflict."""
    thesis = record(THESIS_TITLE, pages="215 p", **THESIS)
    abstract = record(
        THESIS_TITLE,
        authors=THESIS["authors"],
        journal="Invented Dissertation Abstracts",
        volume="75",
        pages="1524",
        pub_date="2014",
    )
    assert works_of(db, [thesis, abstract]) == 1


def test_a_page_number_that_differs_still_conflicts(db):
    """The near twin: a bare "215" is a page, and page 215 is not page 1524."""
    thesis = record(THESIS_TITLE, pages="215", **{**THESIS, "volume": "75"})
    abstract = record(
        THESIS_TITLE,
        authors=THESIS["authors"],
        journal="Invented Dissertation Abstracts",
        volume="75",
        pages="1524",
        pub_date="2014",
    )
    assert works_of(db, [thesis, abstract]) == 2


REPLY_PLACE = dict(journal="Invented Neurology Letters", volume="40", issue="8", pub_date="2024")


def test_a_notice_title_with_a_full_stop_is_the_same_notice(db):
    """ "Reply." is "Reply" as another export writes it: the same place makes it one work."""
    plain = record("Reply", pages="1948", **REPLY_PLACE)
    stopped = record("reply.", pages="1948", **REPLY_PLACE)
    assert works_of(db, [plain, stopped]) == 1


def test_a_notice_with_a_full_stop_on_another_page_stays_apart(db):
    """The near twin: the reply on another page is another reply."""
    plain = record("Reply", pages="1948", **REPLY_PLACE)
    stopped = record("reply.", pages="1950", **REPLY_PLACE)
    assert works_of(db, [plain, stopped]) == 2
