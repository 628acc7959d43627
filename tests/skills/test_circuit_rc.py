"""Tests of skills/circuit-rc.md (RC step response, analytic and ngspice)."""

import itertools
import math
import shutil

import pytest

HAS_NGSPICE = shutil.which("ngspice") is not None


@pytest.fixture(scope="module")
def rc(skill_execute):
    return skill_execute("circuit-rc")


def analytic(t, vin, tau):
    return vin * (1.0 - math.exp(-t / tau))


def test_defaults_analytic(rc):
    out = rc({})
    assert out["simulator"] == "analytic"
    assert out["time_constant"] == pytest.approx(1000 * 1e-6, rel=1e-15)
    assert out["steady_state_voltage"] == 5.0
    assert len(out["time"]) == len(out["voltage_data"]) == 501
    assert out["time"][0] == 0.0 and out["time"][-1] == pytest.approx(0.005, rel=1e-15)
    assert out["voltage_data"][0] == 0.0
    for t, v in zip(out["time"], out["voltage_data"]):
        assert v == pytest.approx(analytic(t, 5.0, 1e-3), abs=1e-12)
    assert all(type(x) is float for x in out["time"] + out["voltage_data"])


def test_one_time_constant_gives_63_percent(rc):
    out = rc(
        {
            "resistance": 2200,
            "capacitance": 4.7e-9,
            "input_voltage": 3.3,
            "simulation_time": 5 * 2200 * 4.7e-9,
            "samples": 6,
        }
    )
    assert out["time_constant"] == pytest.approx(2200 * 4.7e-9, rel=1e-12)
    assert out["voltage_data"][1] == pytest.approx(3.3 * (1 - math.exp(-1)), rel=1e-12)
    assert out["voltage_data"][5] == pytest.approx(3.3 * (1 - math.exp(-5)), rel=1e-12)
    assert out["steady_state_voltage"] == 3.3


def test_negative_step(rc):
    out = rc({"input_voltage": -2.0, "samples": 3})
    assert out["voltage_data"][-1] == pytest.approx(analytic(0.005, -2.0, 1e-3), abs=1e-12)


def test_netlist(rc):
    out = rc(
        {
            "resistance": 470,
            "capacitance": 2.2e-6,
            "input_voltage": 12,
            "simulation_time": 0.01,
            "samples": 1001,
        }
    )
    lines = [line.strip() for line in out["netlist"].splitlines()]
    assert "V1 in 0 DC 12" in lines
    assert "R1 in out 470" in lines
    assert "C1 out 0 2.2e-06 IC=0" in lines
    assert ".tran 1e-05 0.01 uic" in lines
    control = lines.index(".control")
    assert lines[control + 1] == "run"
    assert lines[control + 2].startswith("wrdata ") and "v(out)" in lines[control + 2]
    assert lines.index(".endc") > control + 2
    assert lines[-1] == ".end"


@pytest.mark.skipif(not HAS_NGSPICE, reason="ngspice not installed")
def test_ngspice_matches_analytic(rc):
    out = rc({"use_ngspice": True})
    assert out["simulator"].startswith("ngspice ")
    assert out["simulator"] != "ngspice unknown"
    times, volts = out["time"], out["voltage_data"]
    assert len(times) == len(volts) > 100
    assert all(b > a for a, b in itertools.pairwise(times))
    assert 0.0 < times[0] < 1e-6  # with uic ngspice does not save t = 0
    assert times[-1] == pytest.approx(0.005, rel=1e-9)
    err = max(abs(v - analytic(t, 5.0, 1e-3)) for t, v in zip(times, volts))
    assert err < 1e-4  # 0.1 mV on a 5 V step
    assert out["netlist"] == rc({})["netlist"]  # same netlist either way


@pytest.mark.skipif(not HAS_NGSPICE, reason="ngspice not installed")
def test_ngspice_other_circuit(rc):
    R, C, vin, T = 10e3, 100e-9, 1.8, 5e-3  # tau = 1 ms
    out = rc(
        {
            "resistance": R,
            "capacitance": C,
            "input_voltage": vin,
            "simulation_time": T,
            "samples": 1001,
            "use_ngspice": True,
        }
    )
    err = max(abs(v - analytic(t, vin, R * C)) for t, v in zip(out["time"], out["voltage_data"]))
    assert err < 1e-4


def test_missing_ngspice_message(rc, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    with pytest.raises(RuntimeError, match="ngspice not found on PATH"):
        rc({"use_ngspice": True})


@pytest.mark.parametrize(
    "inputs,match",
    [
        ({"resistance": 0}, r"resistance.*Ω"),
        ({"resistance": -5}, r"resistance.*Ω"),
        ({"capacitance": 0.0}, r"capacitance.*F"),
        ({"capacitance": "1u"}, r"capacitance.*F"),
        ({"simulation_time": -1e-3}, r"simulation_time.*s"),
        ({"simulation_time": math.inf}, "simulation_time"),
        ({"input_voltage": math.nan}, r"input_voltage.*V"),
        ({"input_voltage": True}, "input_voltage"),
        ({"samples": 1}, "samples"),
        ({"samples": 10.5}, "samples"),
        ({"use_ngspice": "yes"}, "use_ngspice"),
    ],
)
def test_bad_input(rc, inputs, match):
    with pytest.raises(ValueError, match=match):
        rc(inputs)
