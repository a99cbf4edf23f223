"""The candidate queue, a stage after scoring: relevant works wait for editors' decisions,
and approved ones are leased to summarizer workers, with every transition audited."""
