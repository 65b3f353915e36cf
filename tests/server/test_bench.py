"""The live benchmarks, tiny: real server, real sockets, separate processes."""

from __future__ import annotations

from server.bench import fanout, soak
from server.bench.live import frame_seq, percentile


def test_frame_heads_give_kind_and_seq() -> None:
    assert frame_seq(b'{"type":"delta","seq":42,"tick":42,"patch":{}}') == (True, 42)
    assert frame_seq(b'{"type":"snapshot","seq":7,"tick":7,"world":{}}') == (False, 7)
    assert frame_seq(fanout.bare_frame(3, 200)) == (True, 3)
    assert len(fanout.bare_frame(3, 200)) == 200


def test_percentiles_are_nearest_rank() -> None:
    values = list(range(1, 101))
    assert (percentile(values, 50), percentile(values, 99), percentile(values, 100)) == (
        50,
        99,
        100,
    )


def test_fanout_smoke() -> None:
    figures = fanout.run(viewers=8, ticks=4, period=0.1)
    for side in ("server", "bare"):
        f = figures[side]
        assert f["expected"] == 32
        assert f["missed"] == 0 and f["delivered"] == 32
        assert set(f["lag_ms"]) == {"p50", "p99", "max"}
        lag = f["lag_ms"]
        # Over real sockets a delta takes some time, and arrives. The 1 s promise is the
        # benchmark's own verdict, on its own machine; here, with the suite and whatever else
        # shares two cores, only a lost or wedged delta (seconds) fails the smoke test.
        assert 0 < lag["p50"] <= lag["p99"] <= lag["max"] < 5000, lag
        assert len(f["lag_p99_ms_by_tick"]) == 4
        assert max(f["lag_p99_ms_by_tick"]) <= lag["max"] + 0.1
        assert 0 <= f["cpu_share"] <= 1 and f["cpu_s"] <= 4 * 0.1 + f["connect_s"] + 1
    server = figures["server"]
    assert server["cpu_s"] > 0  # the server process does the work: encode, send, step
    assert server["tick_phase_ms"]["step"] > 0 and server["tick_phase_ms"]["publish"] > 0
    assert figures["p99_ratio"] == round(
        server["lag_ms"]["p99"] / figures["bare"]["lag_ms"]["p99"], 3
    )
    assert figures["p99_ratio"] is not None
    assert figures["server"]["tick_overhead_ms"]["mean"] is not None
    assert figures["server"]["delta_bytes"]["mean"] > 100
    assert "server" in fanout.render(figures)


def test_soak_smoke() -> None:
    figures = soak.run(4.0, bots=2, viewers=4, period=0.1, storm=5, slowloris=20, storm_every=1.5)
    assert figures["missed_deltas"] == 0
    assert figures["errors"] == 0, figures
    assert figures["ticks"] > 10
    assert figures["on_time_ratio"] is not None
    assert figures["on_time_ratio"] == round(figures["ticks_on_time"] / figures["ticks"], 4)
    assert figures["rss_kib"]["start"] > 10_000  # a real Python server's resident memory
    assert figures["viewer_sessions"] >= 4 and figures["deltas_delivered"] > 0
    assert figures["turns"] > 0
    assert figures["acts"] >= figures["turns"] - figures["bot_sessions"]
    assert figures["storms"] >= 1 and figures["storm_missed"] == 0
    assert figures["slowloris"]["opened"] >= 20
    assert figures["healthz_ms"]["max"] < 5000  # the soak's verdict holds it to 1 s
    assert figures["disk"]["bytes_per_tick"] > 0
    assert figures["server_error_lines"] == [] and figures["failure_text"] == {}
    assert figures["verdicts"]["no_missed_deltas"] and figures["verdicts"]["no_errors"]
    assert figures["ok"] == all(figures["verdicts"].values())
    # The probes: the server's loop and the load's, and /healthz's handler on its own.
    for loop in (figures["server_loop"], figures["load_loop"]):
        assert loop["lag_ms"]["p50"] is not None and loop["stall_cpu_ms"] <= loop["stall_wall_ms"]
    assert 0 < figures["healthz_handler_ms"]["p50"] < figures["healthz_ms"]["max"]
    assert figures["healthz_connect_ms"]["max"] <= figures["healthz_ms"]["max"]
    assert "soak" in soak.render(figures) and "server loop: lag" in soak.render(figures)
