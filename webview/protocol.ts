// The one typed message protocol shared by the extension host (extension/) and the dashboard panel
// (webview/dashboard/). The panel posts `ready` when its script has loaded; the host then replays
// everything it keeps (a hidden or reloaded webview receives nothing before that), then streams.
import type { RunEvent, RunTableRow, SweepView } from '../runtime/api';

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed';

export type HostToPanel =
  /** Sent first after every `ready`: clears the panel and lists the runs it will show. */
  | { type: 'reset'; runs: Array<{ runId: string; name: string; status: RunStatus }> }
  /** A batch of a run's events, in order: the replay of metrics.jsonl or the live tail. */
  | { type: 'events'; runId: string; events: RunEvent[] }
  | { type: 'run-status'; runId: string; status: RunStatus }
  /** The run was renamed (the runs table's Rename): legends, cards and the summary take the new name. */
  | { type: 'run-name'; runId: string; name: string };

export type PanelToHost =
  | { type: 'ready' }
  | { type: 'stop-run'; runId: string }
  | { type: 'reveal-run-folder'; runId: string }
  /** A chart exported by the user: the host asks where to save it. `data` is a PNG data URL or CSV text. */
  | { type: 'save-export'; fileName: string; format: 'png' | 'csv'; data: string };

export const PROTOCOL_VERSION = 1;

// The runs panel (webview/runs/): the runs table, or one sweep's trials with its charts.

export type RunsHostToPanel =
  /** Every run (the table is rebuilt from it: the host sends it again when runs change). */
  | { type: 'runs'; rows: RunTableRow[] }
  /** Sweep mode: the sweep's trials. */
  | { type: 'sweep'; sweep: SweepView };

export type RunsPanelToHost =
  | { type: 'ready' }
  | { type: 'compare'; runIds: string[] }
  | { type: 'open-dashboard'; runId: string }
  /** The host asks for the new name / tags (an input box), then writes meta.json and resends the rows. */
  | { type: 'rename'; runId: string }
  | { type: 'edit-tags'; runId: string }
  | { type: 'open-sweep'; sweepId: string }
  | { type: 'open-best-config'; sweepId: string };
