"""What the PubMed source needs to know: NCBI's etiquette settings and the topics' queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from litmon.core.version import VERSION

NCBI_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    query: str
    title: str = ""


@dataclass(frozen=True, slots=True)
class NcbiSettings:
    email: str = ""
    tool: str = f"litmon-{VERSION}"  # NCBI asks for a tool name without spaces
    api_key: str = field(default="", repr=False)
    eutils_url: str = NCBI_EUTILS_URL
    batch_size: int = 200
    timeout: float = 60.0
    max_retries: int = 6
    lookback_days: int = 30
    overlap_days: int = 3
    refresh_days: int = 7

    @property
    def requests_per_second(self) -> float:
        """NCBI's published limit: 3 requests/s per client, 10 with an API key."""
        return 10.0 if self.api_key else 3.0
