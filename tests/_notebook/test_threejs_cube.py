"""The threejs-cube skill (notebook 04): geometry, validation, and its scene format."""

from __future__ import annotations

import math

import pytest
from conftest import REPO

from llmos_jupyter import load_skill
from llmos_jupyter._notebook.display import is_scene, scene_svg


@pytest.fixture(scope="module")
def cube():
    skill = load_skill(REPO / "skills" / "threejs-cube.md")
    fn = skill.load_function()
    return lambda **kw: fn({**skill.defaults, **kw})


def test_rotation_follows_three_js_euler_xyz(cube):
    out = cube(size=2, rotation_x=0, rotation_y=0, rotation_z=90)
    # Rz(90°) maps corner 1 (+1, -1, -1) to (+1, +1, -1).
    assert out["vertices"][1] == pytest.approx([1, 1, -1])
    out = cube(size=2, rotation_x=90, rotation_y=0, rotation_z=0)
    # Rx(90°) maps corner 2 (-1, +1, -1) to (-1, +1, +1).
    assert out["vertices"][2] == pytest.approx([-1, 1, 1])


def test_measures_and_faces(cube):
    out = cube(size=1.5, rotation_x=20, rotation_y=35, rotation_z=10)
    assert out["volume"] == pytest.approx(3.375) and out["surface_area"] == pytest.approx(13.5)
    assert all(math.dist(v, (0, 0, 0)) == pytest.approx(math.sqrt(3) * 0.75)
               for v in out["vertices"])
    mesh = out["scene"]["objects"][0]
    assert len(mesh["faces"]) == 12 and is_scene(out["scene"])
    for a, b, c in mesh["faces"]:  # outward: the normal points away from the centre
        p, q, r = (mesh["vertices"][i] for i in (a, b, c))
        n = [(q[1] - p[1]) * (r[2] - p[2]) - (q[2] - p[2]) * (r[1] - p[1]),
             (q[2] - p[2]) * (r[0] - p[0]) - (q[0] - p[0]) * (r[2] - p[2]),
             (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])]
        centre = [(p[i] + q[i] + r[i]) / 3 for i in range(3)]
        assert sum(x * y for x, y in zip(n, centre)) > 0
    box = out["bounding_box"]
    assert [b - a for a, b in zip(box["min"], box["max"])] == pytest.approx(box["size"])
    assert scene_svg(out["scene"]).count("<polygon") in (2, 4, 6)


@pytest.mark.parametrize(("kw", "message"), [
    ({"size": 0}, "size must be a finite length > 0 m"),
    ({"color": "red"}, "color must be a hex colour"),
    ({"rotation_x": float("nan")}, "rotations must be finite"),
])
def test_bad_inputs(cube, kw, message):
    with pytest.raises(ValueError, match=message):
        cube(**kw)
