// Reads VS Code's theme from the --vscode-* CSS variables the webview host sets, because a canvas
// cannot use var(--...) itself, and calls back when the theme changes.

export interface Theme {
  kind: 'light' | 'dark' | 'high-contrast' | 'high-contrast-light';
  background: string;
  foreground: string;
  muted: string;
  grid: string;
  fontFamily: string;
  fontSize: number;
  /** One colour per run, in order (cycled). */
  series: string[];
}

// Fallbacks (VS Code's Dark Modern values) for a page without the host's variables.
const FALLBACK = {
  background: '#1f1f1f',
  foreground: '#cccccc',
  muted: '#9d9d9d',
  grid: 'rgba(204, 204, 204, 0.2)',
  series: ['#3794ff', '#f14c4c', '#89d185', '#cca700', '#b180d7', '#d18616'],
};

function cssVar(style: CSSStyleDeclaration, name: string): string {
  return style.getPropertyValue(name).trim();
}

function themeKind(body: HTMLElement): Theme['kind'] {
  const kind = body.getAttribute('data-vscode-theme-kind');
  if (kind === 'vscode-high-contrast-light' || body.classList.contains('vscode-high-contrast-light')) return 'high-contrast-light';
  if (kind === 'vscode-high-contrast' || body.classList.contains('vscode-high-contrast')) return 'high-contrast';
  if (kind === 'vscode-light' || body.classList.contains('vscode-light')) return 'light';
  return 'dark';
}

/** Makes a colour translucent for grid lines; only #rgb/#rrggbb can be adjusted, others pass through. */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color.trim());
  if (!m) return color;
  let hex = m[1];
  if (hex.length === 3) hex = hex.split('').map((c) => c + c).join('');
  const n = parseInt(hex, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function readTheme(): Theme {
  const style = getComputedStyle(document.body);
  const foreground = cssVar(style, '--vscode-editor-foreground') || cssVar(style, '--vscode-foreground') || FALLBACK.foreground;
  const chartFg = cssVar(style, '--vscode-charts-foreground') || foreground;
  const lines = cssVar(style, '--vscode-charts-lines');
  const names = ['blue', 'red', 'green', 'yellow', 'purple', 'orange'];
  const series = names.map((n, i) => cssVar(style, `--vscode-charts-${n}`) || FALLBACK.series[i]);
  const size = parseFloat(cssVar(style, '--vscode-font-size'));
  return {
    kind: themeKind(document.body),
    background: cssVar(style, '--vscode-editor-background') || FALLBACK.background,
    foreground: chartFg,
    muted: cssVar(style, '--vscode-descriptionForeground') || FALLBACK.muted,
    // charts-lines is already translucent in VS Code's themes; a plain foreground is faded here.
    grid: lines ? withAlpha(lines, 0.35) : withAlpha(chartFg, 0.2),
    fontFamily: cssVar(style, '--vscode-font-family') || 'system-ui, sans-serif',
    fontSize: Number.isFinite(size) && size > 0 ? size : 13,
    series,
  };
}

/**
 * Calls `onChange` when VS Code switches theme: it changes the body's class and data attribute and
 * rewrites the variables in <html style>. Several mutations in one switch are coalesced into one call.
 */
export function watchTheme(onChange: () => void): MutationObserver {
  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      onChange();
    });
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  return observer;
}
