"""``llmos lite build``: the static JupyterLite site, a thin layer over ``jupyter lite build``.

What goes into the site (see ``jupyterlite/README.md``):

* ``jupyterlite/jupyter-lite.json`` and ``jupyterlite/files/`` (the site notebooks);
* the repo's ``notebooks/``, the system ``skills/`` and the example actor systems
  ``agents/`` under ``files/``, notebooks with the Pyodide kernel's kernelspec
  (``python``); ``files/agents/*.toml`` keep their relative workflow paths
  (``../notebooks/…``), which resolve inside the site as in the checkout;
* ``jupyterlite/overrides.json``: settings defaults of the site (the library kernel of our
  JupyterLab extension is the Pyodide kernel, ``python``);
* ``pypi/``: our ``llmos-jupyter`` wheel (built from this checkout) and the pure-Python
  wheels listed in ``jupyterlite/requirements-lite.txt``; anywidget and ipywidgets are
  pinned to the versions installed here;
* ``extensions/``: the federated JupyterLab extensions, taken **from the very wheels served
  through piplite** (ours: sidebar + workflow documents; anywidget; jupyterlab-widgets'
  widget manager) plus the Pyodide kernel's own; the environment's other labextensions
  (``sys.prefix/share/jupyter/labextensions``) are ignored, so a stale or unrelated
  extension installed on the building machine never lands in the site, and each widget's
  JS and Python halves come from one wheel.

Online (default) the Pyodide kernel loads Pyodide and its packages from its CDN.
``offline=True`` makes everything local: the Pyodide core from ``npm pack pyodide@VER``,
the pure wheels its lock pins from PyPI (sha256 recomputed, lock entries without files
dropped), plus ``jupyterlite/requirements-offline.txt`` through piplite (PyYAML as a pure
wheel built from its sdist; jsonschema 4.17, which needs no compiled ``rpds-py``).
Downloads are cached under ``$LLMOS_LITE_CACHE`` (default ``~/.cache/llmos-lite``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["PYODIDE_VERSION", "LiteBuild", "build_site", "repo_root"]

PYODIDE_VERSION = "314.0.7"
"""The npm ``pyodide`` release the offline site is made from (the kernel expects 314.0.6;
same ABI)."""

# Pure wheels of the Pyodide lock the offline site carries (at the lock's versions):
# the kernel's own needs (micropip, IPython and its dependencies) and what our core uses.
LOCK_WHEELS = (
    "micropip", "packaging", "ipython", "asttokens", "decorator", "executing",
    "matplotlib-inline", "prompt-toolkit", "pure-eval", "pygments", "six", "stack-data",
    "traitlets", "wcwidth", "jedi", "parso", "attrs", "rich", "platformdirs", "urllib3",
    "typing-extensions",
)
# Widget packages pinned to the installed version.
PINNED_TO_INSTALLED = ("anywidget", "ipywidgets", "jupyterlab-widgets", "widgetsnbextension")
# Wheels of pypi/ whose federated labextension (share/jupyter/labextensions/...) goes into
# the site, so the JS of each widget is the one shipped with its Python side.
EXTENSION_WHEELS = ("llmos-jupyter", "anywidget", "jupyterlab-widgets")
# The Pyodide kernel's labextension is not a piplite wheel: it comes from the environment.
KERNEL_EXTENSION = "@jupyterlite/pyodide-kernel-extension"


@dataclass(frozen=True)
class LiteBuild:
    """What ``build_site`` produced."""

    output: Path
    offline: bool
    seconds: float
    size_bytes: int
    wheels: tuple[str, ...]


def repo_root() -> Path:
    """The source checkout this package runs from (the site is built from its files)."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "pyproject.toml").is_file() or not (root / "jupyterlite").is_dir():
        raise RuntimeError("llmos lite build needs a source checkout of llmos-jupyter "
                           f"(no pyproject.toml and jupyterlite/ under {root})")
    return root


def cache_dir() -> Path:
    env = os.environ.get("LLMOS_LITE_CACHE")
    path = Path(env).expanduser() if env else Path.home() / ".cache" / "llmos-lite"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _run(cmd: list[str], **kw: object) -> None:
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n"
                           f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def _requirements(path: Path) -> list[str]:
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text("utf-8").splitlines())
    return [ln for ln in lines if ln]


def _match(req: str, wheels: list[Path]) -> Path | None:
    name, _, version = req.partition("==")
    for w in wheels:
        wname, wver = w.name.split("-")[:2]
        if _norm(wname) == _norm(name) and (not version or wver == version):
            return w
    return None


def _pip_download(reqs: list[str], dest: Path) -> list[Path]:
    """Pure wheels (``--platform any``) for Python 3.14 into ``dest`` (a cache)."""
    dest.mkdir(parents=True, exist_ok=True)
    have = sorted(dest.glob("*.whl"))
    missing = [r for r in reqs if _match(r, have) is None]
    if missing:
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
              "--python-version", "3.14", "--platform", "any", "--implementation", "py",
              "-d", str(dest), *missing])
    return sorted(dest.glob("*.whl"))


def _wheel_for(reqs: list[str], wheels: list[Path]) -> list[Path]:
    out = []
    for req in reqs:
        found = _match(req, wheels)
        if found is None:
            raise RuntimeError(f"no pure wheel for {req}")
        out.append(found)
    return out


# -- PyYAML as a pure wheel ----------------------------------------------------------------
def _pure_pyyaml(version: str, cache: Path) -> Path:
    """``PyYAML-<version>-py3-none-any.whl`` from the sdist's pure-Python ``yaml`` package.

    PyPI has no pure PyYAML wheel; its C accelerator (``yaml._yaml``) is optional and
    ``yaml`` falls back to the pure implementation when it is absent.
    """
    wheel = cache / f"PyYAML-{version}-py3-none-any.whl"
    if wheel.is_file():
        return wheel
    sdists = cache / "sdist"
    sdists.mkdir(exist_ok=True)
    _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary=:all:",
          "--no-build-isolation", "-d", str(sdists), f"pyyaml=={version}"])
    sdist = next(sdists.glob(f"[pP][yY][yY][aA][mM][lL]-{version}.tar.gz"))
    files: dict[str, bytes] = {}
    with tarfile.open(sdist) as tar:
        for m in tar.getmembers():
            parts = m.name.split("/")
            if m.isfile() and parts[1:3] == ["lib", "yaml"] and m.name.endswith(".py"):
                files["yaml/" + parts[-1]] = tar.extractfile(m).read()  # type: ignore[union-attr]
            if m.isfile() and parts[1:] == ["PKG-INFO"]:
                pkg_info = tar.extractfile(m).read()  # type: ignore[union-attr]
    dist = f"PyYAML-{version}.dist-info"
    files[f"{dist}/METADATA"] = pkg_info
    files[f"{dist}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: llmos-lite\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    _write_wheel(wheel, files, dist)
    return wheel


def _write_wheel(path: Path, files: dict[str, bytes], dist_info: str) -> None:
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    os.replace(tmp, path)


# -- offline Pyodide -----------------------------------------------------------------------
def _pyodide_core(cache: Path, version: str) -> Path:
    """The unpacked npm ``pyodide`` package (``package/``), cached."""
    target = cache / f"pyodide-{version}"
    if (target / "pyodide.mjs").is_file():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        _run(["npm", "pack", "--silent", f"pyodide@{version}"], cwd=tmp)
        tgz = next(Path(tmp).glob("pyodide-*.tgz"))
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(Path(tmp) / "package", target)
    return target


def _offline_pyodide(cache: Path, version: str, work: Path) -> Path:
    """``pyodide-offline.tar.bz2``: the npm core + the lock's pure wheels, lock pruned."""
    core = _pyodide_core(cache, version)
    lock = json.loads((core / "pyodide-lock.json").read_text("utf-8"))
    packages = lock["packages"]
    by_norm = {_norm(k): k for k in packages}
    reqs = [f"{by_norm[_norm(n)]}=={packages[by_norm[_norm(n)]]['version']}" for n in LOCK_WHEELS]
    wheels = {w.name: w for w in _pip_download(reqs, cache / f"lock-wheels-{version}")}

    dist = work / "pyodide"
    dist.mkdir(parents=True)
    for f in core.iterdir():
        if f.is_file() and f.suffix != ".map" and f.name != "pyodide-lock.json":
            shutil.copy2(f, dist / f.name)
    kept = {}
    for key, entry in packages.items():
        src = wheels.get(entry["file_name"])
        if src is None:
            continue
        shutil.copy2(src, dist / src.name)
        entry = dict(entry, sha256=hashlib.sha256(src.read_bytes()).hexdigest())
        kept[key] = entry
    # Drop entries whose dependencies were dropped, until stable.
    while True:
        names = {_norm(k) for k in kept}
        bad = [k for k, e in kept.items() if any(_norm(d) not in names for d in e["depends"])]
        if not bad:
            break
        for k in bad:
            (dist / kept.pop(k)["file_name"]).unlink()
    lock["packages"] = kept
    (dist / "pyodide-lock.json").write_text(json.dumps(lock), "utf-8")
    archive = work / "pyodide-offline.tar.bz2"
    with tarfile.open(archive, "w:bz2", compresslevel=1) as tar:
        tar.add(dist, arcname="pyodide")
    return archive


# -- the site ------------------------------------------------------------------------------
def _our_wheel(root: Path, dest: Path) -> Path:
    """``pip wheel --no-deps`` of this checkout (runs the canvas npm build if needed).

    Raises:
        RuntimeError: the wheel lacks the JupyterLab extension (``labextension/`` not built:
            run ``npm ci && npm run build`` there).
    """
    dest.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dest), str(root)])
    wheel = next(dest.glob("llmos_jupyter-*.whl"))
    if _wheel_extensions(wheel) == []:
        raise RuntimeError(f"{wheel.name} carries no JupyterLab extension: build it with "
                           f"`npm ci && npm run build` in {root / 'labextension'}")
    return wheel


def _wheel_extensions(wheel: Path) -> list[str]:
    """Names of the prebuilt federated extensions inside ``wheel`` (its ``package.json``s)."""
    names = []
    with zipfile.ZipFile(wheel) as zf:
        for n in zf.namelist():
            rest = n.partition("/share/jupyter/labextensions/")[2]
            parts = rest.split("/")
            if rest and parts[-1] == "package.json" and len(parts) in (2, 3):
                pkg = json.loads(zf.read(n))
                if pkg.get("jupyterlab", {}).get("_build", {}).get("load"):
                    names.append(pkg["name"])
    return names


def _kernel_extension() -> Path:
    """The installed Pyodide kernel's federated extension (a folder)."""
    base = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / KERNEL_EXTENSION
    if not (base / "package.json").is_file():
        raise RuntimeError(f"no {KERNEL_EXTENSION} under {base.parent.parent}: "
                           "pip install jupyterlite-pyodide-kernel")
    return base


def _copy_notebooks(src: Path, dest: Path) -> None:
    """Notebooks with the Pyodide kernel's kernelspec; other files as they are."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.iterdir()):
        if f.suffix == ".ipynb":
            nb = json.loads(f.read_text("utf-8"))
            nb.setdefault("metadata", {})["kernelspec"] = {
                "name": "python", "display_name": "Python (Pyodide)", "language": "python"}
            (dest / f.name).write_text(json.dumps(nb, indent=1) + "\n", "utf-8")
        elif f.is_file():
            shutil.copy2(f, dest / f.name)


def site_config(offline: bool) -> dict:
    """``jupyter-lite.json`` for the build: ``jupyterlite/jupyter-lite.json`` + the mode."""
    cfg = json.loads((repo_root() / "jupyterlite" / "jupyter-lite.json").read_text("utf-8"))
    data = cfg.setdefault("jupyter-config-data", {})
    data["exposeAppInBrowser"] = "true"  # a string, as JupyterLite reads it
    kernel = data.setdefault("litePluginSettings", {}).setdefault(
        "@jupyterlite/pyodide-kernel-extension:kernel", {})
    if offline:
        kernel["disablePyPIFallback"] = True
    return cfg


def lite_build_config(extensions: list[Path]) -> dict:
    """``jupyter_lite_config.json``: only ``extensions`` (wheels or folders) as labextensions.

    ``ignore_sys_prefix`` is limited to the federated-extensions addon: the Pyodide and
    piplite addons still find the kernel's own files in the environment.
    """
    return {"LiteBuildConfig": {"ignore_sys_prefix": ["federated_extensions"],
                                "federated_extensions": [str(p) for p in extensions]}}


def build_site(output: Path, *, offline: bool = False, sourcemaps: bool = False,
               log: object = None) -> LiteBuild:
    """Build the static site into ``output`` (replaced); see the module docstring."""
    say = log if callable(log) else (lambda _msg: None)
    t0 = time.perf_counter()
    root = repo_root()
    lite = root / "jupyterlite"
    cache = cache_dir()
    output = Path(output).resolve()
    with tempfile.TemporaryDirectory(prefix="llmos-lite-") as tmp:
        stage = Path(tmp) / "lite"
        stage.mkdir()
        (stage / "jupyter-lite.json").write_text(json.dumps(site_config(offline), indent=2),
                                                 "utf-8")
        shutil.copy2(lite / "overrides.json", stage / "overrides.json")
        files = stage / "files"
        _copy_notebooks(lite / "files", files)
        _copy_notebooks(root / "notebooks", files / "notebooks")
        shutil.copytree(root / "skills", files / "skills")
        # The example actor systems: the deterministic ones run in the Pyodide kernel
        # (files/agents-ping-pong.ipynb awaits ping-pong).
        shutil.copytree(root / "agents", files / "agents")

        say("building the llmos-jupyter wheel")
        pypi = stage / "pypi"
        pypi.mkdir()
        ours = _our_wheel(root, Path(tmp) / "ours")
        reqs = _requirements(lite / "requirements-lite.txt")
        reqs += [f"{n}=={importlib.metadata.version(n)}" for n in PINNED_TO_INSTALLED]
        if offline:
            reqs += _requirements(lite / "requirements-offline.txt")
        say(f"fetching {len(reqs)} pure wheels (cache {cache})")
        pure = _wheel_for(reqs, _pip_download(reqs, cache / "wheels"))
        extra = [_pure_pyyaml("6.0.3", cache)] if offline else []
        for w in [ours, *pure, *extra]:
            shutil.copy2(w, pypi / w.name)
        with_ext = [w for w in [ours, *pure] if _norm(w.name.split("-")[0]) in EXTENSION_WHEELS]
        (stage / "jupyter_lite_config.json").write_text(json.dumps(lite_build_config(
            [pypi / w.name for w in with_ext] + [_kernel_extension()]), indent=2), "utf-8")

        cmd = [sys.executable, "-m", "jupyter", "lite", "build", "--lite-dir", str(stage),
               "--output-dir", str(output)]
        if not sourcemaps:
            cmd.append("--no-sourcemaps")
        if offline:
            say(f"assembling offline Pyodide {PYODIDE_VERSION}")
            cmd += ["--pyodide", str(_offline_pyodide(cache, PYODIDE_VERSION, Path(tmp)))]
        if output.exists():
            shutil.rmtree(output)
        say("jupyter lite build")
        _run(cmd, cwd=stage)
        wheels = tuple(sorted(p.name for p in pypi.glob("*.whl")))
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    return LiteBuild(output, offline, time.perf_counter() - t0, size, wheels)


def main(args: object, out: object, err: object) -> int:
    """``llmos lite build [--offline] [--output DIR] [--sourcemaps]``."""
    from rich.markup import escape

    try:
        result = build_site(args.output, offline=args.offline,  # type: ignore[attr-defined]
                            sourcemaps=args.sourcemaps,  # type: ignore[attr-defined]
                            log=lambda m: err.print(f"[dim]· {escape(m)}[/]"))  # type: ignore[attr-defined]
    except (RuntimeError, FileNotFoundError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)  # type: ignore[attr-defined]
        return 1
    mode = "offline" if result.offline else "online (Pyodide from its CDN)"
    out.print(f"site: {result.output} · {mode} · {result.size_bytes / 1e6:.1f} MB "  # type: ignore[attr-defined]
              f"· {len(result.wheels)} piplite wheels · built in {result.seconds:.1f} s",
              highlight=False)
    out.print(f"serve: python -m http.server --bind 127.0.0.1 --directory {result.output} 8000",  # type: ignore[attr-defined]
              highlight=False)
    return 0
