"""threads._OtherLoad: other processes' CPU from the machine's busy time less this process's."""

from hlmshell.model.multilevel import threads


def test_other_load_subtracts_own_cpu_and_keeps_short_intervals(monkeypatch):
    readings = iter([(0.0, 100.0, 10.0),    # (monotonic s, machine busy s, own CPU s)
                     (2.0, 104.0, 12.0),    # 4 s busy in 2 s, 2 of them ours: others 1 core
                     (2.2, 104.4, 12.2),    # under MIN_INTERVAL: the previous reading stays
                     (4.0, 106.0, 14.0)])   # since 2.0: 2 s busy, all ours: others 0
    monkeypatch.setattr(threads._OtherLoad, "_now", staticmethod(lambda: next(readings)))
    meter = threads._OtherLoad()
    assert meter.sample() is None
    assert meter.sample() == 1.0
    assert meter.sample() == 1.0
    assert meter.sample() == 0.0


def test_other_load_unknown_without_proc(monkeypatch):
    monkeypatch.setattr(threads._OtherLoad, "_now", staticmethod(lambda: None))
    assert threads._OtherLoad().sample() is None
