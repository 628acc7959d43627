"""Tests of skills/export-results.md (json/csv/png export confined to the working directory)."""

import csv
import io
import json
import os
from pathlib import Path

import pytest

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def export(skill_execute):
    return skill_execute("export-results")


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    root = tmp_path / "work"
    root.mkdir()
    monkeypatch.chdir(root)
    return root.resolve()


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def test_json_roundtrip(export, workdir):
    data = {"eigenvalue": -1.137, "trace": [0.1, -1.0], "ok": True, "name": "Å"}
    out = export({"data": data, "path": "res/out.json"})
    target = workdir / "res" / "out.json"
    assert out == {"path": str(target), "bytes": target.stat().st_size}
    assert Path(out["path"]).is_absolute()
    assert json.loads(target.read_text(encoding="utf-8")) == data
    assert target.read_text(encoding="utf-8").startswith('{\n  "eigenvalue"')  # indent 2


def test_json_refuses_nan_and_bytes(export, workdir):
    with pytest.raises(ValueError, match="json"):
        export({"data": [float("nan")], "path": "a.json"})
    with pytest.raises(ValueError, match="json"):
        export({"data": b"raw", "path": "a.json"})


def test_csv_list_of_numbers(export, workdir):
    export({"data": [1, 2.5, -3], "path": "v.csv"})
    assert read_csv(workdir / "v.csv") == [["value"], ["1"], ["2.5"], ["-3"]]


def test_csv_list_of_lists(export, workdir):
    export({"data": [[1, 2], [3, 4]], "path": "rows.csv"})
    assert read_csv(workdir / "rows.csv") == [["1", "2"], ["3", "4"]]


def test_csv_list_of_dicts(export, workdir):
    export({"data": [{"a": 1, "b": 2}, {"b": 3, "c": 4}], "path": "d.csv"})
    assert read_csv(workdir / "d.csv") == [["a", "b", "c"], ["1", "2", ""], ["", "3", "4"]]


def test_csv_dict_of_columns(export, workdir):
    out = export(
        {"data": {"iteration": [0, 1, 2], "energy": [-0.3, -1.1, -1.137]}, "path": "t.csv"}
    )
    assert read_csv(workdir / "t.csv") == [
        ["iteration", "energy"],
        ["0", "-0.3"],
        ["1", "-1.1"],
        ["2", "-1.137"],
    ]
    assert out["bytes"] == (workdir / "t.csv").stat().st_size == 44


def test_csv_bad_shapes(export, workdir):
    with pytest.raises(ValueError, match="same length"):
        export({"data": {"a": [1, 2], "b": [1]}, "path": "x.csv"})
    with pytest.raises(ValueError, match="mixture"):
        export({"data": [1, [2]], "path": "x.csv"})
    with pytest.raises(ValueError, match="csv"):
        export({"data": 5, "path": "x.csv"})
    assert not (workdir / "x.csv").exists()


def test_png_from_plot_skill(export, skill_execute, workdir):
    png = skill_execute("plot-convergence")({"data": [3.0, 2.0, 1.5]})["image"]
    out = export({"data": png, "path": "figs/plot.png"})
    written = (workdir / "figs" / "plot.png").read_bytes()
    assert written == png and out["bytes"] == len(png)
    import matplotlib.image

    assert matplotlib.image.imread(io.BytesIO(written), format="png").shape[:2] == (500, 800)


def test_png_requires_png_bytes(export, workdir):
    with pytest.raises(ValueError, match="PNG"):
        export({"data": b"GIF89a....", "path": "p.png"})
    with pytest.raises(ValueError, match="PNG"):
        export({"data": [1, 2], "path": "p.png"})


def test_explicit_format_and_unknown_extension(export, workdir):
    out = export({"data": [1, 2], "path": "notes.txt", "format": "json"})
    assert json.loads(Path(out["path"]).read_text()) == [1, 2]
    with pytest.raises(ValueError, match="extension"):
        export({"data": [1, 2], "path": "notes.dat"})
    with pytest.raises(ValueError, match="format"):
        export({"data": [1, 2], "path": "a.json", "format": "xml"})


def test_absolute_path_inside_cwd_is_allowed(export, workdir):
    out = export({"data": {"a": 1}, "path": str(workdir / "abs.json")})
    assert out["path"] == str(workdir / "abs.json")


@pytest.mark.parametrize("path", ["../x.json", "/etc/x.json", "sub/../../x.json", ".", ""])
def test_refuses_paths_outside_cwd(export, workdir, path):
    with pytest.raises(ValueError, match="path"):
        export({"data": [1], "path": path})
    assert not (workdir.parent / "x.json").exists()


def test_refuses_symlink_escape(export, workdir, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    try:
        os.symlink(outside, workdir / "link", target_is_directory=True)
        os.symlink(outside / "f.json", workdir / "file_link.json")
    except OSError:
        pytest.skip("symlinks not supported here")
    with pytest.raises(ValueError, match="outside the working directory"):
        export({"data": [1], "path": "link/x.json"})
    with pytest.raises(ValueError, match="outside the working directory"):
        export({"data": [1], "path": "file_link.json"})
    assert list(outside.iterdir()) == []


def test_overwrite(export, workdir):
    export({"data": [1, 2, 3], "path": "o.json"})
    out = export({"data": [9], "path": "o.json"})
    assert json.loads((workdir / "o.json").read_text()) == [9]
    assert out["bytes"] == len((workdir / "o.json").read_bytes())


@pytest.mark.parametrize("path", [".git/config", ".GIT/config", "sub/.git/hooks/post-checkout",
                                  ".hg/hgrc", ".svn/entries"])
def test_refuses_version_control_folders(export, workdir, path):
    (workdir / ".git").mkdir()
    (workdir / ".git" / "config").write_text("[core]\n")
    with pytest.raises(ValueError, match="version-control"):
        export({"data": {"core": {"fsmonitor": "touch pwned"}}, "path": path, "format": "json"})
    assert (workdir / ".git" / "config").read_text() == "[core]\n"
    assert not (workdir / "sub").exists()


def test_refuses_hard_link_fifo_and_directory_targets(export, workdir, tmp_path):
    outside = tmp_path / "outside.json"
    outside.write_text("keep")
    try:
        os.link(outside, workdir / "linked.json")
        os.mkfifo(workdir / "pipe.json")
    except (OSError, AttributeError):
        pytest.skip("hard links / FIFOs not supported here")
    with pytest.raises(ValueError, match="hard link"):
        export({"data": [1], "path": "linked.json"})
    assert outside.read_text() == "keep"
    with pytest.raises(ValueError, match="FIFO"):
        export({"data": [1], "path": "pipe.json"})
    (workdir / "d.json").mkdir()
    with pytest.raises(ValueError, match="directory"):
        export({"data": [1], "path": "d.json"})


def test_the_skill_writes_through_the_package_safe_write():
    from llmos_jupyter import SkillLibrary

    code = SkillLibrary().get("export-results").code
    assert "from llmos_jupyter._safe_write import" in code and "write_bytes" not in code
