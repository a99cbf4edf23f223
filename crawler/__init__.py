"""PubMed, a source: the NCBI E-utilities client (esearch/efetch with NCBI's etiquette) and
the streaming PubMed XML reader. It turns bytes into Records and never opens the database;
the crawl windows and checkpoints are :mod:`litmon.pipeline.pubmed`."""
