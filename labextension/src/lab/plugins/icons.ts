/** The extension's icons (sidebar tabs, the workflow file type, launcher items). */
import { LabIcon } from '@jupyterlab/ui-components';

export const skillsIcon = new LabIcon({
  name: 'llmos:skills',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><rect x="3" y="3" width="7" height="7" rx="1.5"/><rect x="14" y="3" width="7" height="7" rx="1.5"/><rect x="8.5" y="14" width="7" height="7" rx="1.5"/><path d="M6.5 10v2h11v-2h1.6v3.6H12.8V14h-1.6v-.4H4.9V10z"/></g></svg>',
});
export const runsIcon = new LabIcon({
  name: 'llmos:runs',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><path d="M13 3a9 9 0 1 0 8.95 10h-2.02A7 7 0 1 1 13 5V3zm-1 4v6l5 3 .9-1.5-4.1-2.4V7z"/></g></svg>',
});
export const workflowIcon = new LabIcon({
  name: 'llmos:workflow',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon-brand0" fill="#2f6fde"><circle cx="5" cy="6" r="3"/><circle cx="5" cy="18" r="3"/><circle cx="19" cy="12" r="3"/><path d="M7.6 7.3l9 3.9-.8 1.8-9-3.9zM7.6 16.7l9-3.9.8 1.8-9 3.9z"/></g></svg>',
});
export const notebookGraphIcon = new LabIcon({
  name: 'llmos:notebook-graph',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24"><g class="jp-icon3" fill="#616161"><rect x="2" y="4" width="7" height="5" rx="1"/><rect x="15" y="4" width="7" height="5" rx="1"/><rect x="8.5" y="15" width="7" height="5" rx="1"/><path d="M9 6h6v1.4H9zM5 9h1.4v4.5H11V15H5zM17.6 9H19v6h-6v-1.5h4.6z"/></g></svg>',
});
