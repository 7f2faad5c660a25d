// The what-if panel (bundled to dist/webview/what-if.js): the simulator's time and dollars against
// workers, one line per memory size, on log-scaled axes. The host posts `{ type: 'what-if', data }`
// after the panel says `ready`.
import { CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip } from 'chart.js';
import type { WhatIfData } from '../../runtime/api';
import { hostApi } from '../shared/vscode-api';
import { readTheme } from '../dashboard/theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, CategoryScale, Tooltip, Legend);

const charts: Chart[] = [];

function draw(data: WhatIfData): void {
  const theme = readTheme();
  document.getElementById('title')!.textContent = data.title;
  document.getElementById('basis')!.textContent = `Model ${data.basis}. Time is the train stage; dollars include the parameter server's host.`;
  for (const c of charts.splice(0)) c.destroy();
  for (const [id, key, title] of [['what-if-seconds', 'seconds', 'Seconds'], ['what-if-usd', 'usd', 'Dollars']] as const) {
    const canvas = document.getElementById(id) as HTMLCanvasElement;
    canvas.dataset.series = String(data.series.length);
    charts.push(
      new Chart(canvas, {
        type: 'line',
        data: {
          datasets: data.series.map((s, i) => ({
            label: `${s.memoryMB} MB`,
            data: s.points.map((p) => ({ x: p.workers, y: p[key] })),
            borderColor: theme.series[i % theme.series.length],
            backgroundColor: theme.series[i % theme.series.length],
            pointRadius: 2,
          })),
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          scales: {
            x: { type: 'logarithmic', title: { display: true, text: 'Workers', color: theme.foreground }, ticks: { color: theme.foreground } },
            y: { type: 'logarithmic', title: { display: true, text: title, color: theme.foreground }, ticks: { color: theme.foreground } },
          },
          plugins: { legend: { labels: { color: theme.foreground } } },
        },
      }),
    );
  }
}

window.addEventListener('message', (event: MessageEvent<{ type: string; data?: WhatIfData }>) => {
  if (event.data?.type === 'what-if' && event.data.data) draw(event.data.data);
});
hostApi().postMessage({ type: 'ready' });
