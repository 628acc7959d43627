"""Limits.parse: human units, clear errors; the wire format round-trips data exactly."""

from __future__ import annotations

import json
import math

import pytest

from llmos_jupyter import parse_skill
from llmos_jupyter._isolation import Limits
from llmos_jupyter._isolation import worker as wire
from llmos_jupyter._isolation.limits import format_bytes, parse_bytes, parse_seconds


def test_defaults():
    lim = Limits()
    assert lim.memory == 2 * 1024**3 and lim.network is False and lim.timeout_s is None
    assert "memory 2 GiB" in lim.describe() and "network none" in lim.describe()


def test_parse_units():
    lim = Limits.parse(["memory=4GiB", "cpu=30", "timeout=500ms", "network=yes",
                        "processes=64", "file-size=10 MiB", "open-files=128"])
    assert lim.memory == 4 * 1024**3
    assert lim.cpu_s == 30 and lim.timeout_s == 0.5 and lim.network is True
    assert (lim.max_processes, lim.file_size, lim.open_files) == (64, 10 * 1024**2, 128)
    assert Limits.parse(["memory=none"]).memory is None
    assert Limits.parse(["cpu=2min"], base=lim).cpu_s == 120 and Limits.parse([], lim) == lim
    assert parse_bytes("2g") == 2 * 1000**3 and parse_bytes("1.5KiB") == 1536
    assert parse_seconds("1h") == 3600 and format_bytes(1536) == "1.5 KiB"


@pytest.mark.parametrize(("item", "message"), [
    ("memory", "expected KEY=VALUE"),
    ("colour=red", "KEY one of memory, cpu"),
    ("memory=4 parsecs", "not a size: '4 parsecs'"),
    ("cpu=-1", "not a duration"),
    ("timeout=0", "duration must be positive"),
    ("network=maybe", "network takes yes or no"),
    ("processes=1.5", "positive whole number"),
])
def test_parse_errors_name_the_item(item, message):
    with pytest.raises(ValueError, match="bad limit") as info:
        Limits.parse([item])
    assert message in str(info.value) and repr(item) in str(info.value)


def test_effective_timeout_smaller_wins():
    assert Limits().effective_timeout(None) is None
    assert Limits(timeout_s=5).effective_timeout(None) == 5
    assert Limits(timeout_s=5).effective_timeout(2) == 2 and Limits().effective_timeout(3) == 3


def test_wire_round_trip():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    value = {"png": png, "raw": b"\x00\xff", "nan": math.nan, "inf": -math.inf,
             "tag": {"$bytes": "not bytes"}, "nested": [1, (2, 3), {"a": None}], "u": "é\n"}
    back = wire.decode(json.loads(wire.dumps(wire.encode(value))))
    assert back["png"] == png and back["raw"] == b"\x00\xff"
    assert math.isnan(back["nan"]) and back["inf"] == -math.inf
    assert back["tag"] == {"$bytes": "not bytes"}  # data cannot forge a tag
    assert back["nested"] == [1, [2, 3], {"a": None}] and back["u"] == "é\n"


def test_wire_frames_carry_bytes_as_attachments():
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    blobs: list[bytes] = []
    message = {"kind": "result", "outputs": wire.encode({"img": png, "raw": [b"", b"ab"]},
                                                         "outputs", blobs)}
    frame = b"".join(wire.pack_frame(message, blobs))
    assert png in frame  # raw, not base64
    size = wire.frame_size(frame)
    assert size == len(frame)
    back, got = wire.unpack_frame(frame[8:])
    assert wire.decode(back["outputs"], got) == {"img": png, "raw": [b"", b"ab"]}


@pytest.mark.parametrize("bad", [{"$blob": 5}, {"$blob": "0"}, {"$bytes": 3}, {"$dict": [1]}])
def test_wire_decode_refuses_forged_tags(bad):
    with pytest.raises(ValueError):
        wire.decode(bad, [b"x"])


def test_unpack_refuses_lying_lengths():
    with pytest.raises(ValueError, match="past"):
        wire.unpack_frame(wire.pack_frame({"k": 1}, [b"abc"])[0][8:] + b'{"$blobs":[9]}')
    body = b'{"$blobs":[99]}'
    with pytest.raises(ValueError, match="attachment"):
        wire.unpack_frame(len(body).to_bytes(8, "big") + body + b"abc")


def test_wire_refuses_non_data_naming_the_place():
    with pytest.raises(TypeError, match=r"output 'x'\[1\]: set is not data"):
        wire.encode([1, {2}], "output 'x'")
    np = pytest.importorskip("numpy")
    assert wire.encode({"a": np.arange(3), "b": np.float32(1.5)}) == {"a": [0, 1, 2], "b": 1.5}


def test_worker_code_hash_matches_skill():
    skill = parse_skill("---\nskill_id: h\nname: h\nrequires: [numpy]\n---\n```python\n"
                        "def execute(inputs):\n    return {}\n```\n")
    assert wire.code_hash(skill.runtime, list(skill.requires), skill.code) == skill.code_hash
