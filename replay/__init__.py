"""A fake NCBI E-utilities server (recorded PubMed responses, injectable faults) for the
offline demo and the tests. It imitates the PubMed source's server; nothing in litmon's
stages imports it."""
