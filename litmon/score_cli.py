"""``litmon score``: score new and revised works against the topic profiles and the
relevance model."""

from __future__ import annotations

from dataclasses import asdict

import click

from litmon.app import App, pass_app
from litmon.jobs import queue_line, score_job
from litmon.output import output_object


@click.command("score")
@click.option(
    "--rescore",
    is_flag=True,
    help="Score every live work again (after editing a profile), with the current model.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@pass_app
def score_command(app: App, rescore: bool, as_json: bool) -> None:
    """Score the works stored or changed since scoring last ran against each topic's profile
    ([topics.NAME.profile] in the config), keeping each score with its explanation.

    Once there is a relevance model (`litmon model status`), each work also gets its
    probability, and the run trains a new model when [model] retrain_after labels came
    since the last one. Crawls and ingests score what they stored on their own; run this
    with --rescore after editing a profile. Works at or above a topic's threshold, or that
    the model lets in, are queued as candidates for review (`litmon queue list`), ranked by
    profile and model.
    """
    summary, queued = score_job(app.config, rescore=rescore)
    if as_json:
        output_object({**asdict(summary), "queue": queued})
    else:
        click.echo(f"{summary.line()}\nqueue: {queue_line(queued)} candidates")
