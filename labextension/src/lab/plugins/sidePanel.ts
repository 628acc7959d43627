/** Adding a sidebar panel the same way for every plugin that has one. */
import type { ILayoutRestorer, JupyterFrontEnd } from '@jupyterlab/application';
import type { LabIcon } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';

/** A sidebar panel: its id (also the layout restorer's key), icon, caption and place. */
export function addSidePanel(app: JupyterFrontEnd, restorer: ILayoutRestorer | null, widget: Widget,
  o: { id: string; icon: LabIcon; caption: string; area: 'left' | 'right'; rank: number }) {
  widget.id = o.id;
  widget.title.icon = o.icon;
  widget.title.caption = o.caption;
  app.shell.add(widget, o.area, { rank: o.rank });
  restorer?.add(widget, o.id);
}
