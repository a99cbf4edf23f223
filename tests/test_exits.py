"""One exit-code table for every command (docs/commands.md, "Exit codes")."""

from litmon import exits


def test_a_command_running_several_jobs_returns_the_worst():
    assert exits.worst() == exits.OK
    assert exits.worst(exits.OK, exits.NOTHING_TO_DO) == exits.NOTHING_TO_DO
    assert exits.worst(exits.OK, exits.FAILED, exits.NOTHING_TO_DO) == exits.FAILED
    assert exits.worst(exits.FAILED, exits.LOCKED) == exits.LOCKED
    assert exits.worst(exits.LOCKED, exits.USAGE, exits.FAILED) == exits.USAGE


def test_the_codes_are_the_documented_ones():
    table = (exits.OK, exits.FAILED, exits.USAGE, exits.NOTHING_TO_DO, exits.CONFLICT)
    assert table == (0, 1, 2, 3, 4)
    assert exits.LOCKED == 75  # EX_TEMPFAIL in sysexits.h: cron and systemd retry later
