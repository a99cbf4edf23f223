"""Invented records shared by the store's tests: an imported trial report (a row of a
systematic-review export), to be varied field by field per test."""

from litmon.core.records import Record

TRIAL_TITLE = "Early mobilisation after stroke: a randomised trial"


def trial_row(source_id: str = "1", **fields) -> Record:
    values = dict(
        source="csv:review",
        source_id=source_id,
        title=TRIAL_TITLE,
        authors=["Bernhardt, J.", "Langhorne, P."],
        journal="Lancet",
        volume="386",
        pages="46-55",
        pub_date="2015",
    )
    values.update(fields)
    return Record(**values)
