/**
 * "New workflow from template": the launcher's items, one per template shipped in
 * `llmos_jupyter/templates/*.workflow.json`, making what `llmos new NAME --template T`
 * makes.
 *
 * The templates are package data of the Python package, so the library kernel makes the
 * files with the CLI's own code (`TEMPLATE_READER`, run with `LibraryKernel.run`; in
 * JupyterLite the Pyodide kernel has the same package) and the front-end writes them
 * through the Contents API in the file browser's folder, so no server extension is
 * needed. A template that runs sub-workflows (`map`, `loop`, `subworkflow`) brings them
 * along; a file of that name already there is kept. Pure parts: test/templates.test.ts.
 */

/**
 * One launcher item. `TEMPLATES` are shown from the start (the launcher is built before
 * any kernel runs); templates the package adds later appear once the library kernel has
 * listed them (`TEMPLATE_LIST_CODE`).
 */
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
 * Python run in the library kernel: every template `llmos new` offers now (its
 * `TEMPLATES`, so templates added to the package appear without a new front-end), with
 * the template's own `name` and `description` as label and caption, printed as
 * `{"templates": [{"name", "label", "caption"}]}`. A template that cannot be read is
 * listed by its name alone (creating it then says why).
 */
export const TEMPLATE_LIST_CODE = `
import json as _json
from llmos_jupyter._commands.new import TEMPLATES as _llmos_templates, template_files as _llmos_tf

def _llmos_template_infos():
    out = []
    for t in _llmos_templates:
        try:
            wf = _json.loads(_llmos_tf(t)[t + ".workflow.json"])
        except (OSError, ValueError, KeyError):
            wf = {}
        wf = wf if isinstance(wf, dict) else {}
        out.append({"name": t, "label": str(wf.get("name") or t),
                    "caption": str(wf.get("description") or "")[:300]})
    return out

print(_json.dumps({"templates": _llmos_template_infos()}))
`;

/** Template names the front-end accepts (file stems of `llmos_jupyter/templates`). */
const TEMPLATE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;

/** The templates in a `TEMPLATE_LIST_CODE` reply, checked (labels and captions are text). */
export function readTemplateList(reply: unknown): TemplateInfo[] {
  const list = (reply as { templates?: unknown } | null)?.templates;
  if (!Array.isArray(list)) return [];
  const out: TemplateInfo[] = [];
  for (const t of list.slice(0, 100)) {
    const r = (t ?? {}) as Record<string, unknown>;
    if (typeof r.name !== 'string' || !TEMPLATE_NAME.test(r.name)) continue;
    const str = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : '');
    out.push({ name: r.name, label: str(r.label, 80) || r.name, caption: str(r.caption, 300) });
  }
  return out;
}

/**
 * Python run in the library kernel: the files `llmos new STEM --template NAME` writes
 * (`llmos_jupyter._commands.new.new_workflow_files`: the main workflow with its id and
 * name set from STEM, and the sub-workflows it runs), printed as
 * `{"main": file name, "files": {relative path: text}}`. STEM and NAME are JSON string
 * literals substituted for `__STEM__` and `__NAME__`, decoded by `json.loads`: never code.
 */
export const TEMPLATE_READER = `
import json as _json
from llmos_jupyter._commands.new import new_workflow_files as _llmos_new_workflow_files
_llmos_files = _llmos_new_workflow_files(_json.loads(__STEM__), _json.loads(__NAME__))
print(_json.dumps({"main": next(iter(_llmos_files)), "files": _llmos_files}))
`;

/** The Python source that makes template `name`'s files for a workflow `stem`. */
export function templateReaderCode(name: string, stem: string): string {
  return TEMPLATE_READER.replace('__STEM__', JSON.stringify(JSON.stringify(stem)))
    .replace('__NAME__', JSON.stringify(JSON.stringify(name)));
}

/** What the library kernel sent, checked: the main file's name and every file's text. */
export function readTemplateReply(reply: unknown, template: string): { main: string; files: Record<string, string> } {
  const r = (reply ?? {}) as { main?: unknown; files?: unknown };
  const files = r.files && typeof r.files === 'object' && !Array.isArray(r.files)
    ? Object.fromEntries(Object.entries(r.files as Record<string, unknown>)
      .filter(([rel, text]) => typeof text === 'string' && safeRelative(rel))) as Record<string, string>
    : {};
  if (typeof r.main !== 'string' || !(r.main in files)) {
    throw new Error(`template ${template}: the library kernel sent no workflow`);
  }
  return { main: r.main, files };
}

/** A relative path inside the folder: no `..`, no leading `/`, no empty part. */
export function safeRelative(rel: string): boolean {
  return rel.length > 0 && !rel.startsWith('/') && !rel.includes('\\')
    && rel.split('/').every((part) => part !== '' && part !== '.' && part !== '..');
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
