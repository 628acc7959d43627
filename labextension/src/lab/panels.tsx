/** The skill library sidebar and the run history panel (React inside Lumino widgets). */
import { Drag } from '@lumino/dragdrop';
import { MimeData } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';
import React, { useMemo, useState, useSyncExternalStore } from 'react';
import { createRoot, type Root } from 'react-dom/client';

import { isControl } from '../control';
import { ControlIcon } from '../ControlIcon';
import type { Port } from '../types';
import { safeUrl } from '../logic';
import {
  filterSkills,
  formatCompared,
  formatDuration,
  groupByCategory,
  paramsSummary,
  portLabel,
  visibleRows,
  type Comparison,
  type LibrarySkill,
  type RunInfo,
  type RunSummary,
} from './logic';
import { StatsSection } from './statsView';
import { JUPYTER_CELL_MIME } from './tokens';

/** A value with subscribers, for React's useSyncExternalStore. */
export class Store<T> {
  constructor(private value: T) {}
  private subs = new Set<() => void>();
  get = () => this.value;
  set(v: T) {
    this.value = v;
    for (const s of [...this.subs]) s();
  }
  subscribe = (cb: () => void) => {
    this.subs.add(cb);
    return () => { this.subs.delete(cb); };
  };
}

export interface Loadable<T> { loading: boolean; error?: string; data: T }

/** A Lumino widget that renders one React element into its node. */
export class ReactHost extends Widget {
  /** `onShow` runs each time the widget becomes visible (load lazily, refresh). */
  constructor(private element: React.ReactElement, private onShow: () => void = () => {}) {
    super();
  }
  private root: Root | null = null;
  protected onAfterAttach(): void {
    if (!this.root) {
      this.root = createRoot(this.node);
      this.root.render(this.element);
    }
    if (this.isVisible) this.onShow();
  }
  protected onAfterShow(): void {
    this.onShow();
  }
  dispose(): void {
    this.root?.unmount();
    this.root = null;
    super.dispose();
  }
}

// -- The skill library --------------------------------------------------------------

export interface SkillLibraryProps {
  store: Store<Loadable<LibrarySkill[]>>;
  onRefresh: () => void;
  /** The cell a drop into a notebook inserts (null: not draggable, e.g. a standard skill). */
  cellFor: (skill: LibrarySkill) => { source: string } | null;
  /** After a drop into a notebook (e.g. add `%load_ext llmos_jupyter` when missing). */
  onDropped: (skill: LibrarySkill, source: string) => void;
  onInsert: (skill: LibrarySkill) => void;
}

function Ports({ title, ports }: { title: string; ports: Port[] }) {
  if (!ports.length) return null;
  return (
    <div className="llmos-Skill-ports">
      <span className="llmos-Skill-portsTitle">{title}</span>
      {ports.map((p) => (
        <span key={p.name} className="llmos-Skill-port" data-port={p.name}
          title={p.description ?? ''}>{portLabel(p)}{p.required === false || p.default !== undefined ? '' : ' *'}</span>
      ))}
    </div>
  );
}

function startDrag(e: React.MouseEvent, skill: LibrarySkill, props: SkillLibraryProps) {
  const cell = props.cellFor(skill);
  if (!cell || e.button !== 0) return;
  const x0 = e.clientX;
  const y0 = e.clientY;
  const target = e.currentTarget as HTMLElement;
  const move = (ev: MouseEvent) => {
    if (Math.abs(ev.clientX - x0) + Math.abs(ev.clientY - y0) < 5) return;
    cleanup();
    const mime = new MimeData();
    mime.setData(JUPYTER_CELL_MIME, [{ cell_type: 'code', source: cell.source, metadata: {} }]);
    mime.setData('text/plain', cell.source);
    mime.setData('application/x-llmos-skill', skill.id);
    const image = target.cloneNode(true) as HTMLElement;
    image.classList.add('llmos-Skill-dragImage');
    const drag = new Drag({ mimeData: mime, dragImage: image, proposedAction: 'copy',
      supportedActions: 'copy', source: props });
    void drag.start(ev.clientX, ev.clientY).then((action) => {
      if (action === 'copy') props.onDropped(skill, cell.source);
    });
  };
  const cleanup = () => {
    document.removeEventListener('mousemove', move, true);
    document.removeEventListener('mouseup', cleanup, true);
  };
  document.addEventListener('mousemove', move, true);
  document.addEventListener('mouseup', cleanup, true);
}

export function SkillLibrary(props: SkillLibraryProps) {
  const state = useSyncExternalStore(props.store.subscribe, props.store.get);
  const [query, setQuery] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const shown = useMemo(() => filterSkills(state.data, query), [state.data, query]);
  const groups = useMemo(() => groupByCategory(shown), [shown]);
  return (
    <div className="llmos-SkillLibrary">
      <div className="llmos-SkillLibrary-header">
        <span className="llmos-SkillLibrary-title">Skills</span>
        <button className="llmos-SkillLibrary-refresh" title="Reload the library" aria-label="Reload the library"
          onClick={props.onRefresh}>⟳</button>
      </div>
      <input className="llmos-SkillLibrary-search jp-mod-styled" type="search" placeholder="Search skills…"
        aria-label="Search skills" value={query} onChange={(e) => setQuery(e.target.value)} />
      {state.loading && <div className="llmos-SkillLibrary-note" data-state="loading">Loading the library…</div>}
      {state.error && <div className="llmos-SkillLibrary-note" data-state="error">{state.error}</div>}
      {!state.loading && !state.error && !shown.length && (
        <div className="llmos-SkillLibrary-note" data-state="empty">No skill matches.</div>)}
      <div className="llmos-SkillLibrary-list" data-count={shown.length}>
        {groups.map(([cat, skills]) => (
          <div key={cat} className="llmos-SkillLibrary-category" data-category={cat}>
            <div className="llmos-SkillLibrary-categoryTitle">{cat} <span>{skills.length}</span></div>
            {skills.map((s) => {
              const draggable = !!props.cellFor(s);
              const expanded = open === s.id;
              return (
                <div key={s.id} className={`llmos-Skill${isControl(s) ? ' llmos-mod-control' : ''}`}
                  data-skill-id={s.id} data-volume={s.volume ?? ''} data-control={isControl(s) ? 'true' : undefined}
                  data-overrides={(s.overrides ?? []).join(' ')} data-executable={String(!!s.executable)}
                  title={draggable ? 'Drag into a notebook to add a %%skill cell' : 'A standard (non-executable) skill'}
                  onMouseDown={(e) => startDrag(e, s, props)}>
                  <div className="llmos-Skill-head" onClick={() => setOpen(expanded ? null : s.id)}>
                    {isControl(s) && <ControlIcon skill={s.id} className="llmos-Skill-controlIcon" />}
                    <span className="llmos-Skill-name">{s.name || s.id}</span>
                    {s.trusted === false && (
                      <span className="llmos-Skill-untrusted" data-untrusted="true"
                        title="Untrusted: not a system skill, not yours, not signed (llmos trust). It runs isolated; read it before running.">
                        untrusted</span>)}
                    <span className={`llmos-Skill-volume llmos-mod-${s.volume ?? 'none'}`}>{s.volume}</span>
                    {!!s.overrides?.length && (
                      <span className="llmos-Skill-overrides" title={`overrides the ${s.overrides.join(', ')} skill`}>
                        overrides {s.overrides.join(', ')}</span>)}
                  </div>
                  <div className="llmos-Skill-id">{s.id}{s.executable ? '' : ' · standard'}</div>
                  <div className={`llmos-Skill-description${expanded ? ' llmos-mod-expanded' : ''}`}>{s.description}</div>
                  <Ports title="in" ports={s.inputs} />
                  <Ports title="out" ports={s.outputs} />
                  {draggable && (
                    <button className="llmos-Skill-insert" data-action="insert"
                      title="Insert a %%skill cell below the active cell"
                      onMouseDown={(e) => e.stopPropagation()}
                      onClick={() => props.onInsert(s)}>+ cell</button>)}
                </div>
              );
            })}
          </div>
        ))}
      </div>
    </div>
  );
}

// -- The run history ----------------------------------------------------------------

export interface RunHistoryProps {
  store: Store<Loadable<RunInfo[]>>;
  /** The statistics report of a workflow's runs (`llmos stats --json`'s object), parsed JSON. */
  onStats?: (workflow: string) => Promise<unknown>;
  /** The workflow whose statistics to show first (the open workflow document's). */
  preferredWorkflow?: () => string | null;
  onRefresh: () => void;
  onOpen: (run: RunInfo) => void;
  /** Run the traced workflow again with the same parameters and overrides. */
  onRerun: (run: RunInfo) => Promise<void>;
  /** Show two runs side by side (`a` the older one). */
  onCompare: (a: RunInfo, b: RunInfo) => void;
}

export function RunHistory({ store, onRefresh, onOpen, onRerun, onCompare, onStats, preferredWorkflow }: RunHistoryProps) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const [picked, setPicked] = useState<string[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const byPath = useMemo(() => new Map(state.data.map((r) => [r.path, r])), [state.data]);
  const chosen = picked.filter((p) => byPath.has(p));
  const toggle = (path: string) => setPicked((cur) => cur.includes(path)
    ? cur.filter((p) => p !== path) : [...cur, path].slice(-2));  // keep the last two picked
  const compare = () => {
    if (chosen.length !== 2) return;
    // Older run on the left: the list is newest first.
    const [x, y] = chosen.map((p) => byPath.get(p)!);
    const older = state.data.indexOf(x) > state.data.indexOf(y) ? [x, y] : [y, x];
    onCompare(older[0], older[1]);
  };
  return (
    <div className="llmos-RunHistory">
      <div className="llmos-SkillLibrary-header">
        <span className="llmos-SkillLibrary-title">Runs</span>
        <button className="llmos-RunHistory-compare" data-action="compare" disabled={chosen.length !== 2}
          title={chosen.length === 2 ? 'Compare the two picked runs side by side' : 'Pick two runs to compare'}
          aria-label="Compare the two picked runs" onClick={compare}>Compare {chosen.length}/2</button>
        <button className="llmos-RunHistory-refresh" data-action="refresh-runs" title="Reload the runs"
          aria-label="Reload the runs" onClick={onRefresh}>⟳</button>
      </div>
      {state.loading && <div className="llmos-SkillLibrary-note" data-state="loading">Loading…</div>}
      {state.error && <div className="llmos-SkillLibrary-note" data-state="error">{state.error}</div>}
      {!state.loading && !state.error && !state.data.length && (
        <div className="llmos-SkillLibrary-note" data-state="empty">No runs yet.</div>)}
      {onStats && !state.error && <StatsSection runs={state.data} onStats={onStats} preferred={preferredWorkflow} />}
      <div className="llmos-RunHistory-list" data-count={state.data.length}>
        {state.data.map((r) => (
          <div key={r.path} className="llmos-Run" data-run-id={r.run_id ?? ''} data-status={r.status ?? ''}
            data-picked={String(chosen.includes(r.path))}
            role="button" tabIndex={0} title={`Open ${r.path}`}
            onClick={() => onOpen(r)} onKeyDown={(e) => { if (e.key === 'Enter') onOpen(r); }}>
            <div className="llmos-Run-head">
              <input type="checkbox" className="llmos-Run-pick" data-action="pick" checked={chosen.includes(r.path)}
                aria-label={`Pick run ${r.run_id} to compare`} title="Pick to compare"
                onClick={(e) => e.stopPropagation()} onChange={() => toggle(r.path)} />
              <span className={`llmos-Run-status llmos-mod-${r.status ?? 'unknown'}`}>{r.status}</span>
              <span className="llmos-Run-name">{r.workflow ?? r.name}</span>
              <span className="llmos-Run-duration">{formatDuration(r.duration_ms)}</span>
              <button className="llmos-Run-rerun" data-action="rerun" disabled={busy !== null}
                title="Run again with the same parameters" aria-label={`Re-run ${r.run_id}`}
                onClick={(e) => {
                  e.stopPropagation();
                  setBusy(r.path);
                  void onRerun(r).finally(() => setBusy(null));
                }}>{busy === r.path ? '…' : '↻'}</button>
            </div>
            <div className="llmos-Run-when">{(r.started_at ?? '').replace('T', ' ').slice(0, 19)} · {r.run_id}</div>
            {paramsSummary(r) && <div className="llmos-Run-params">{paramsSummary(r)}</div>}
          </div>
        ))}
      </div>
    </div>
  );
}

// -- Two runs side by side -------------------------------------------------------------

function RunHead({ label, run }: { label: string; run: RunSummary }) {
  return (
    <div className="llmos-Compare-run" data-run-id={run.run_id ?? ''}>
      <strong>{label}</strong> {run.workflow} · <span className={`llmos-Run-status llmos-mod-${run.status}`}>{run.status}</span>
      {' '}· {(run.started_at ?? '').replace('T', ' ').slice(0, 19)} · {formatDuration(run.duration_ms)} · {run.run_id}
    </div>
  );
}

/** A compared value: an image (`{"$image": data URL}`) as a picture, long text collapsed. */
export function ComparedValue({ value }: { value: unknown }) {
  const [open, setOpen] = useState(false);
  const image = value && typeof value === 'object' && '$image' in (value as Record<string, unknown>)
    ? safeUrl((value as Record<string, unknown>).$image, 'image') : undefined;
  if (image) return <img className="llmos-Compare-image" src={image} alt="output image" data-compare-image="true" />;
  const full = value === undefined || value === null ? '—'
    : typeof value === 'string' ? value : JSON.stringify(value, null, 1);
  const short = formatCompared(value);
  if (short === full || full.length <= 120) return <span className="llmos-Compare-text">{short}</span>;
  return (
    <span className="llmos-Compare-text" data-expanded={String(open)}>
      {open ? <pre className="llmos-Compare-full">{full}</pre> : short}{' '}
      <button type="button" className="llmos-Compare-expand" data-action="expand" aria-expanded={open}
        onClick={() => setOpen(!open)}>{open ? 'collapse' : `expand (${full.length} chars)`}</button>
    </span>
  );
}

/** Parameters and outputs of two runs, node by node, differences marked. */
export function RunComparison({ comparison }: { comparison: Comparison }) {
  const [onlyDiff, setOnlyDiff] = useState(false);
  const rows = visibleRows(comparison.rows, onlyDiff);
  const differing = comparison.rows.filter((r) => !r.same).length;
  return (
    <div className="llmos-Compare" data-differences={differing}>
      <RunHead label="A" run={comparison.a} />
      <RunHead label="B" run={comparison.b} />
      <label className="llmos-Compare-filter">
        <input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)}
          data-action="only-differences" /> only differences ({differing})
      </label>
      <table className="llmos-Compare-table">
        <thead><tr><th>node</th><th>kind</th><th>name</th><th>A</th><th>B</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={`${r.node}/${r.kind}/${r.name}`} data-node={r.node} data-kind={r.kind} data-name={r.name}
              data-same={String(r.same)} className={r.same ? '' : 'llmos-mod-differs'}>
              <td>{r.kind === 'status' ? r.node : ''}</td><td>{r.kind}</td><td>{r.name}</td>
              <td className="llmos-Compare-value"><ComparedValue value={r.a} /></td>
              <td className="llmos-Compare-value"><ComparedValue value={r.b} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
