"""The editors' review page and the queue's HTTP API (``litmon serve``)."""
