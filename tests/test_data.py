"""Visitor logs (issue 17): the recorder, the event-log schema, readers and their one-line errors, statistics.

The round trip (simulate, export, fit, recover) and the CLI commands are in test_data_cli.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import TINY_MUSEUM

from cpss.data.readers import LogError, read_log
from cpss.data.schema import EVENT_SCHEMA, write_parquet
from cpss.data.stats import EXIT, distances, ks, summarize, tv
from cpss.venue.config import VenueConfig
from cpss.venue.model import VenueModel
from cpss.venue.trajectories import TrajectoryRecorder

TINY = VenueConfig.model_validate({**TINY_MUSEUM, "world": {"day_minutes": 60, "last_entry_before_close": 20}})


def _day(record: bool, seed: int = 3) -> tuple[VenueModel, TrajectoryRecorder | None]:
    model = VenueModel(TINY, seed=seed)
    rec = TrajectoryRecorder(model) if record else None
    while model.running:
        model.step()
    return model, rec


def test_recording_changes_nothing_in_the_day():
    plain, _ = _day(False)
    recorded, _ = _day(True)
    a, b = plain.datacollector.get_model_vars_dataframe(), recorded.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(a, b)
    assert np.array_equal(plain.pop.satisfaction, recorded.pop.satisfaction)


def test_event_log_matches_the_day_and_its_schema(tmp_path: Path):
    model, rec = _day(True)
    table = rec.table(model)
    assert table.schema.equals(EVENT_SCHEMA, check_metadata=True)
    path = tmp_path / "events.parquet"
    write_parquet(table, path)
    assert pq.read_schema(path).names == list(EVENT_SCHEMA.names)
    frame = table.to_pandas()
    counts = frame["event"].value_counts()
    arrived = int((model.pop.state != 0).sum())
    assert counts["arrive"] == counts["leave"] == arrived == model.pop.size  # the day ends with everyone out
    assert counts["start_view"] == counts["end_view"] == model.views
    assert counts["recommendation_offered"] == model.offers
    assert counts.get("recommendation_accepted", 0) == model.accepts
    first = frame.groupby("visitor")["event"].first()
    last = frame.groupby("visitor")["event"].last()
    assert (first == "arrive").all() and (last == "leave").all()
    log = read_log(path, rooms=[str(model.floor.graph.nodes[z]["name"]) for z in range(model.floor.n_zones)])
    assert log.kind == "events" and log.has_styles and len(log.visits) == model.pop.size
    assert (log.views["end"] >= log.views["start"]).all() and (log.stays["leave"] >= log.stays["enter"]).all()
    # a room log derived from the event log reads back to the same stays
    log.stays.to_csv(tmp_path / "rooms.csv", index=False)
    rooms = read_log(tmp_path / "rooms.csv")
    assert rooms.kind == "rooms"
    pd.testing.assert_frame_equal(rooms.stays.reset_index(drop=True), log.stays.reset_index(drop=True))


def test_a_day_cut_short_is_censored_at_its_last_minute():
    model = VenueModel(TINY, seed=3)
    rec = TrajectoryRecorder(model)
    for _ in range(25):
        model.step()
    inside = int(((model.pop.state != 0) & (model.pop.state != 5)).sum())
    frame = rec.table(model).to_pandas()
    assert inside > 0 and (frame.loc[frame["time"] == model.minute, "event"] == "leave").sum() == inside
    from cpss.data.readers import events_log

    log = events_log(frame, "cut")  # every stay and view is closed
    assert (log.visits["leave"] <= model.minute).all()
    model.step()  # recording goes on after a table was taken
    assert len(rec.table(model)) > len(frame) - inside


# ---------------------------------------------------------------------- bad logs: one line naming row and column
EVENTS_OK = (
    "visitor,time,event,room,exhibit\n1,0,arrive,Hall,\n1,0,enter_room,Hall,\n1,2,leave_room,Hall,\n1,2,leave,Hall,\n"
)
ROOMS_OK = "visitor,room,enter,leave\n1,Hall,0,2\n1,Egypt,2,5\n2,Hall,1,3\n"

BAD_LOGS = [
    # (id, file name, content, what the one line must contain)
    ("missing-column", "a.csv", "visitor,room,enter\n1,Hall,0\n", "column leave: missing column"),
    ("missing-time", "a.csv", "visitor,event,room\n1,arrive,Hall\n", "column time: missing column"),
    ("visitor-word", "a.csv", ROOMS_OK.replace("2,Hall,1,3", "two,Hall,1,3"), "row 3, column visitor"),
    ("negative-time", "a.csv", ROOMS_OK.replace("1,Egypt,2,5", "1,Egypt,-2,5"), "row 2, column enter"),
    ("nan-time", "a.csv", ROOMS_OK.replace("1,Egypt,2,5", "1,Egypt,2,nan"), "row 2, column leave"),
    ("unknown-room", "a.csv", ROOMS_OK.replace("Egypt", "Atlantis"), "row 2, column room: unknown room 'Atlantis'"),
    ("empty-room", "a.csv", ROOMS_OK.replace("1,Egypt,2,5", "1,,2,5"), "row 2, column room: empty room"),
    ("leave-before-enter", "a.csv", ROOMS_OK.replace("1,Egypt,2,5", "1,Egypt,6,5"), "row 2, column leave: time goes"),
    ("rooms-backwards", "a.csv", "visitor,room,enter,leave\n1,Hall,5,6\n1,Egypt,2,3\n", "row 2, column enter: time"),
    ("rooms-overlap", "a.csv", ROOMS_OK.replace("1,Egypt,2,5", "1,Egypt,1,5"), "row 2, column enter: overlapping"),
    ("unknown-event", "a.csv", EVENTS_OK.replace("1,2,leave,", "1,2,teleport,"), "row 4, column event: unknown event"),
    ("events-backwards", "a.csv", EVENTS_OK.replace("1,2,leave,", "1,1,leave,"), "row 4, column time: time goes"),
    (
        "events-overlap",
        "a.csv",
        EVENTS_OK.replace("1,2,leave_room,Hall,", "1,1,enter_room,Egypt,\n1,2,leave_room,Egypt,"),
        "row 3, column event: overlapping stays",
    ),
    ("stay-never-ends", "a.csv", EVENTS_OK.replace("1,2,leave_room,Hall,\n", ""), "row 2, column event: visitor 1's"),
    (
        "view-no-exhibit",
        "a.csv",
        EVENTS_OK.replace("1,2,leave_room", "1,1,start_view,Hall,\n1,2,leave_room"),
        "row 3, column exhibit",
    ),
    ("empty-log", "a.csv", "visitor,room,enter,leave\n", "no rows"),
    ("not-a-log-format", "a.txt", ROOMS_OK, "unknown log format"),
    ("not-parquet", "a.parquet", ROOMS_OK, "cannot read the log"),
]


@pytest.mark.parametrize(("name", "content", "message"), [c[1:] for c in BAD_LOGS], ids=[c[0] for c in BAD_LOGS])
def test_bad_logs_are_one_line_errors_naming_row_and_column(tmp_path: Path, name: str, content: str, message: str):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(LogError) as err:
        read_log(path, rooms=["Hall", "Egypt"])
    text = str(err.value)
    assert "\n" not in text and text.startswith(str(path)), text
    assert message in text, text


def test_good_small_logs_read():
    assert read_log_text(EVENTS_OK, "events").visits.loc[1, "leave"] == 2.0
    assert len(read_log_text(ROOMS_OK, "rooms").stays) == 3


def read_log_text(text: str, kind: str, tmp: Path | None = None):
    from io import StringIO

    from cpss.data.readers import events_log, rooms_log

    frame = pd.read_csv(StringIO(text))
    return events_log(frame, "x") if kind == "events" else rooms_log(frame, "x")


# ---------------------------------------------------------------------- statistics and distances
def test_statistics_of_a_hand_made_room_log():
    log = read_log_text("visitor,room,enter,leave\n1,A,0,10\n1,B,10,30\n1,A,30,40\n2,A,20,25\n", "rooms")
    stats = summarize(log, n_rooms=4, bin_minutes=10)
    assert stats.transitions.loc["A", "B"] == 1 and stats.transitions.loc["B", "A"] == 1
    assert stats.transitions.loc["A", EXIT] == 2
    assert sorted(stats.visit_minutes.tolist()) == [5.0, 40.0]
    assert sorted(stats.room_dwell["dwell"].tolist()) == [5.0, 10.0, 10.0, 20.0]
    assert stats.diligent_rooms == 0.0  # visitor 1 entered 2 of 4 rooms: not more than half
    assert stats.occupancy.loc[20.0, "A"] == pytest.approx(0.5) and stats.occupancy.loc[20.0, "B"] == 1.0
    rows = {r["statistic"]: r for r in distances(stats, stats)}
    assert all(r["distance"] == 0.0 for r in rows.values() if np.isfinite(r["distance"]))


def test_ks_and_tv_known_values():
    assert ks(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 0.0
    assert ks(np.array([0.0, 0.0]), np.array([1.0, 1.0])) == 1.0
    assert ks(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0])) == pytest.approx(0.5)
    assert tv(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == 1.0
    assert tv(np.array([1.0, 1.0]), np.array([3.0, 1.0])) == pytest.approx(0.25)
    assert np.isnan(tv(np.zeros(2), np.ones(2)))
