/** Which kernel a notebook runs on (the llmos kernel needs no `%load_ext` cell). */
import type { NotebookPanel } from '@jupyterlab/notebook';

/** The notebook's kernel: the running one's name, else its kernelspec, else the preferred one. */
export function kernelNameOf(panel: NotebookPanel): string | null {
  const spec = panel.content.model?.getMetadata('kernelspec') as { name?: unknown } | undefined;
  return panel.sessionContext.session?.kernel?.name
    ?? (typeof spec?.name === 'string' ? spec.name : undefined)
    ?? panel.sessionContext.kernelPreference.name ?? null;
}
