"""``litmon eval``: measure the relevance model the way ASReview is measured."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from litmon import exits
from litmon.app import App, pass_app
from litmon.db import labels as label_store
from litmon.db.scores import live_works
from litmon.imports.files import ImportFileError
from litmon.imports.labelled import LabelledRow, read_labelled_csv
from litmon.model import Doc, SimulationResult, cross_validate, simulate
from litmon.scoring.learn import doc_of


@click.group("eval")
def eval_group() -> None:
    """Measure the relevance model on labelled works."""


def labelled_docs(rows: Sequence[LabelledRow]) -> tuple[list[Doc], list[int]]:
    """The model's view of a labelled file's rows (its keywords column may hold MeSH or
    author keywords: both are the file's own tags)."""
    docs = [Doc(r.title, r.abstract, keywords=r.keywords, journal=r.journal) for r in rows]
    return docs, [r.label for r in rows]


@eval_group.command("simulate")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--seed", default=0, show_default=True, help="Draws the two starting records.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the recall curve against reading in random order into this PNG file.",
)
def simulate_command(path: Path, seed: int, as_json: bool, plot: Path | None) -> None:
    """Simulate screening FILE.csv with the relevance model, as ASReview LAB does.

    FILE.csv has the columns title, abstract and label (1 relevant, 0 not), and optionally
    keywords (';'-separated), journal, year, doi, pmid; other columns are ignored.

    \b
    Starting from one relevant and one irrelevant record drawn by --seed, the model is
    trained, the highest-ranked unread record is shown and its label revealed, again and
    again until every relevant record is found. Prints:
      WSS@95, WSS@100  work saved over reading in random order at 95 % / 100 % recall
                       (0.95 - records read / records; the two starting ones count as read)
      recall_10, _20   share of the relevant records found after reading 10 % / 20 %
      read_95, _all    records read to find 95 % / all of the relevant ones
    """
    try:
        rows = read_labelled_csv(path)
    except ImportFileError as error:
        click.echo(f"litmon: {error}", err=True)
        sys.exit(exits.FAILED)
    docs, labels = labelled_docs(rows)
    if not (0 < sum(labels) < len(labels)):
        click.echo(
            f"litmon: {path}: a simulation needs at least one relevant (1) and one"
            " irrelevant (0) record",
            err=True,
        )
        sys.exit(exits.FAILED)
    result = simulate(docs, labels, seed=seed)
    if plot is not None:
        _plot(result, plot, f"{path.parent.name}/{path.name}")
    if as_json:
        click.echo(json.dumps(result.summary()))
        return
    figures = result.summary()
    click.echo(
        f"{path}: {result.n} records, {result.positives} relevant;"
        f" seed {seed}, starting from lines {rows[result.priors[0]].line}"
        f" and {rows[result.priors[1]].line}"
    )
    click.echo(
        f"WSS@95   {figures['wss95']:.3f}  (read {figures['read_95']} of {result.n} to find 95 %)"
    )
    click.echo(f"WSS@100  {figures['wss100']:.3f}  (read {figures['read_all']} to find all)")
    click.echo(
        f"recall after reading 10 %: {figures['recall_10']:.2f}, 20 %: {figures['recall_20']:.2f}"
    )
    click.echo(f"{figures['seconds']:.1f} s")
    if plot is not None:
        click.echo(f"recall curve: {plot}")


@eval_group.command("cross-validate")
@click.option("--folds", default=5, show_default=True, help="Parts the labels are split into.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@pass_app
def cross_validate_command(app: App, folds: int, as_json: bool) -> None:
    """How well the relevance model ranks the database's own labels: each labelled work is
    ranked by a model trained on the other parts (stratified, seeded by [model] seed).

    \b
    The labels are those `litmon model train` learns from: the editors' decisions (approved
    and summarized = relevant; rejected for a reason in [model] irrelevant_reasons = not)
    over labels imported with `litmon model labels import`. Prints ROC AUC and WSS@95 of
    the ranking. Exit 3 when a kind of label has fewer than two works.
    """
    settings = app.config.model
    db = app.database()
    found = label_store.labels(db.conn, settings.irrelevant_reasons)
    rows = live_works(db.conn, sorted(found))
    labels = [found[row[0]] for row in rows]
    relevant = sum(labels)
    counts = {"relevant": relevant, "irrelevant": len(labels) - relevant}
    if min(counts.values()) < 2:
        click.echo(
            f"litmon: too few labels to cross-validate: {counts['relevant']} relevant and"
            f" {counts['irrelevant']} not relevant, 2 of each needed",
            err=True,
        )
        sys.exit(exits.NOTHING_TO_DO)
    figures = cross_validate([doc_of(row) for row in rows], labels, seed=settings.seed, folds=folds)
    figures = {**figures, **counts}
    if as_json:
        click.echo(json.dumps(figures))
        return
    click.echo(
        f"{counts['relevant']} relevant and {counts['irrelevant']} not relevant labels,"
        f" {figures['folds']} folds"
    )
    click.echo(f"ROC AUC  {figures['auc']:.3f}")
    click.echo(f"WSS@95   {figures['wss95']:.3f}")


def _plot(result: SimulationResult, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    found = [0]
    for label in result.found:
        found.append(found[-1] + label)
    read = list(range(len(found)))
    figure, axes = pyplot.subplots(figsize=(6, 4.5), dpi=100)
    axes.plot(read, [f / result.positives for f in found], label="litmon model")
    axes.plot([0, result.n], [0, 1], linestyle="--", color="grey", label="random order")
    axes.axhline(0.95, color="lightgrey", linewidth=0.8)
    axes.set_xlim(0, result.n)
    axes.set_ylim(0, 1.02)
    axes.set_xlabel("records read")
    axes.set_ylabel("relevant records found (recall)")
    axes.set_title(f"{title}: WSS@95 {result.wss95:.3f} (seed {result.seed})", fontsize=10)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, format="png")
    pyplot.close(figure)
