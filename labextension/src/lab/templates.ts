/**
 * "New workflow from template": the launcher's items, one per template shipped in
 * `llmos_jupyter/templates/*.workflow.json` (what `llmos new NAME --template T` writes).
 *
 * The templates are package data of the Python package, so the library kernel reads them
 * (`TEMPLATE_READER`, run with `LibraryKernel.run`; in JupyterLite the Pyodide kernel has
 * the same package) and the front-end writes them through the Contents API, beside the
 * file browser's folder, so this works without a server extension. A template that runs
 * a sub-workflow (`map`, `loop`, `subworkflow`: `data.params.workflow`, a path relative to
 * the workflow file) brings those files along, written next to it unless they exist.
 * Pure parts (no JupyterLab): unit-tested in test/templates.test.ts.
 */

/** One launcher item. The list is fixed (the launcher is built before any kernel runs). */
export interface TemplateInfo {
  /** The template's file stem in `llmos_jupyter/templates/`. */
  name: string;
  label: string;
  caption: string;
}

export const TEMPLATES: readonly TemplateInfo[] = [
  { name: 'blank', label: 'Blank workflow', caption: 'An empty workflow to build on the canvas' },
  { name: 'h2-curve', label: 'H₂ dissociation curve',
    caption: 'VQE energies of H₂ over bond lengths (a map node) against the exact curve' },
  { name: 'http-to-sql', label: 'HTTP → SQL',
    caption: 'Fetch JSON over HTTP, query it, render a template and store rows in SQLite' },
  { name: 'branching', label: 'Branching',
    caption: 'A condition node: one branch runs, the other is skipped as not taken' },
];

/**
 * Python run in the library kernel: prints `{"files": {relative path: text}}` for the
 * template `name` (a JSON string literal is substituted for `__NAME__`, decoded by
 * `json.loads`: never code) and, transitively, the sub-workflows it names, only files
 * under the templates folder ending in `.workflow.json`.
 */
export const TEMPLATE_READER = `
import json as _json, posixpath as _pp
from importlib import resources as _res

def _llmos_template_files(name):
    root = _res.files("llmos_jupyter") / "templates"
    if not isinstance(name, str) or not name or "/" in name or "\\\\" in name or name.startswith("."):
        raise ValueError(f"not a template name: {name!r}")
    files, todo = {}, [name + ".workflow.json"]
    while todo:
        rel = todo.pop()
        if rel in files:
            continue
        node = root.joinpath(*rel.split("/"))
        if not node.is_file():
            if not files:
                known = sorted(p.name[:-len(".workflow.json")] for p in root.iterdir()
                               if p.name.endswith(".workflow.json")) if root.is_dir() else []
                raise FileNotFoundError(f"no template {name!r} (templates: {', '.join(known) or 'none'})")
            continue
        text = node.read_text(encoding="utf-8")
        files[rel] = text
        try:
            wf = _json.loads(text)
        except ValueError:
            continue
        for n in (wf.get("nodes") or []) if isinstance(wf, dict) else []:
            params = ((n.get("data") or {}).get("params") or {}) if isinstance(n, dict) else {}
            sub = params.get("workflow") if isinstance(params, dict) else None
            if not isinstance(sub, str) or not sub.endswith(".workflow.json") or sub.startswith("/"):
                continue
            path = _pp.normpath(_pp.join(_pp.dirname(rel), sub))
            if not path.startswith("../") and path != "..":
                todo.append(path)
    return files

print(_json.dumps({"files": _llmos_template_files(_json.loads(__NAME__))}))
`;

/** The Python source that reads template `name` (see `TEMPLATE_READER`). */
export function templateReaderCode(name: string): string {
  return TEMPLATE_READER.replace('__NAME__', JSON.stringify(JSON.stringify(name)));
}

/**
 * A template's text as a new workflow: its `id` and `name` become `id` (the new file's
 * stem, like "New Workflow" and `llmos new NAME`); everything else is kept as it is.
 *
 * Raises: Error naming the template when the text is not a JSON object with nodes.
 */
export function instantiateTemplate(text: string, id: string, template = 'template'): string {
  let wf: unknown;
  try {
    wf = JSON.parse(text);
  } catch (e) {
    throw new Error(`template ${template}: not JSON (${e instanceof Error ? e.message : e})`);
  }
  if (!wf || typeof wf !== 'object' || Array.isArray(wf)) throw new Error(`template ${template}: not a JSON object`);
  const body = wf as Record<string, unknown>;
  if (body.nodes !== undefined && !Array.isArray(body.nodes)) throw new Error(`template ${template}: "nodes" is not a list`);
  const { id: _id, name: _name, ...rest } = body;
  return JSON.stringify({ id, name: id, ...rest, nodes: body.nodes ?? [], edges: body.edges ?? [] }, null, 2) + '\n';
}

/** The first of `stem.workflow.json`, `stem-2.workflow.json`, … not in `taken` (file names). */
export function freeWorkflowName(stem: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const name = (i: number) => `${stem}${i > 1 ? `-${i}` : ''}.workflow.json`;
  let i = 1;
  while (used.has(name(i))) i++;
  return name(i);
}

/** `dir/rel` for a Contents API path (`dir` may be '' for the root). */
export function joinPath(dir: string, rel: string): string {
  return dir ? `${dir.replace(/\/+$/, '')}/${rel}` : rel;
}
