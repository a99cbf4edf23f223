"""Making a page's bytes from its plan: HTML through Jinja2 with autoescape on for every
template (text from PubMed or a model is always text, never markup), the Atom feed through
feedgen, the JSON Feed (version 1.1) as JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jinja2
from feedgen.feed import FeedGenerator

from litmon.publish.pages import CAVEAT, Page, SiteSettings

_HERE = Path(__file__).parent
_FORMAT = "1"  # bump when the rendering changes in a way the templates do not show


class Renderer:
    """Renders pages for one site's settings; ``fingerprint`` changes with the templates,
    the style sheet and the settings, so a change to any of them remakes every page."""

    def __init__(self, settings: SiteSettings) -> None:
        self.settings = settings
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(_HERE / "templates"),
            autoescape=True,  # every template, whatever its name
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        digest = hashlib.sha256((_FORMAT + settings.key()).encode())
        for folder in ("templates", "static"):
            for path in sorted((_HERE / folder).iterdir()):
                digest.update(path.name.encode() + path.read_bytes())
        self.fingerprint = digest.hexdigest()[:16]

    def render(self, page: Page) -> bytes:
        context = page.make()
        if page.kind == "static":
            return (_HERE / "static" / context["name"]).read_bytes()
        if page.kind == "atom":
            return self._atom(context["entries"])
        if page.kind == "jsonfeed":
            return self._json_feed(context["entries"])
        template = self._env.get_template(page.kind)
        return template.render(site=self.settings, **context).encode()

    def _url(self, path: str) -> str:
        return self.settings.base_url.rstrip("/") + "/" + path if self.settings.base_url else path

    def _atom(self, entries: list[dict]) -> bytes:
        feed = FeedGenerator()
        feed.id(self._url("") or "urn:litmon:site")
        feed.title(self.settings.title)
        feed.subtitle(self.settings.description)
        feed.language("en")
        feed.link(href=self._url("index.html"), rel="alternate")
        feed.link(href=self._url("feed.atom"), rel="self")
        # the newest entry's time, not the clock's: the same pieces make the same bytes
        latest = max((entry["updated"] for entry in entries), default="1970-01-01T00:00:00Z")
        feed.updated(latest)
        for entry in entries:
            item = feed.add_entry(order="append")
            item.id(self._entry_id(entry))
            item.title(entry["finding"])
            item.link(href=self._url(entry["path"]), rel="alternate")
            item.published(entry["published"])
            item.updated(entry["updated"])
            item.summary(entry["summary"])
            item.content(_plain_text(entry), type="text")
            for topic in entry["topics"]:
                item.category(term=topic)
        return feed.atom_str(pretty=True)

    def _json_feed(self, entries: list[dict]) -> bytes:
        feed: dict = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": self.settings.title,
            "description": self.settings.description,
            "language": "en",
        }
        if self.settings.base_url:
            feed["home_page_url"] = self._url("index.html")
            feed["feed_url"] = self._url("feed.json")
        feed["items"] = [
            {
                "id": self._entry_id(entry),
                "url": self._url(entry["path"]),
                "title": entry["finding"],
                "summary": entry["summary"],
                "content_text": _plain_text(entry),
                "date_published": entry["published"],
                "date_modified": entry["updated"],
                "tags": entry["topics"],
                **(
                    {"external_url": entry["citation"]["pubmed"]}
                    if entry["citation"]["pubmed"]
                    else {}
                ),
            }  # fmt: skip
            for entry in entries
        ]
        return json.dumps(feed, indent=2, ensure_ascii=False).encode() + b"\n"

    def _entry_id(self, entry: dict) -> str:
        # the page's URL where the site has one; it stays when the finding is edited
        if self.settings.base_url:
            return self._url(entry["path"])
        return f"urn:litmon:piece:{entry['id']}"


def _plain_text(entry: dict) -> str:
    """A piece as plain text for a feed reader: its parts, the study and the caveat."""
    citation = entry["citation"]
    parts = [entry["finding"]]
    parts += [f"{heading}\n{text}" for heading, text in entry["parts"]]
    study = " ".join(
        part for part in (citation["authors"] and citation["authors"] + ".",
                          citation["title"] + citation["title_end"],
                          citation["where"] and citation["where"] + ".")
        if part
    )  # fmt: skip
    links = [link for link in (citation["pubmed"], citation["doi_url"]) if link]
    parts.append("The study\n" + study + ("\n" + "\n".join(links) if links else ""))
    parts.append(CAVEAT)
    return "\n\n".join(parts)
