"""Relevance scoring, a stage after the store: reads ``work_events``, scores each new or
revised work against the topic profiles in the config, and keeps each score with its
explanation (which terms matched, where, and what each added)."""
