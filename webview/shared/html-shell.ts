// The HTML shell every Cirrus webview panel is served in (dashboard, runs table and sweep, what-if): one
// content security policy, the stylesheets, the `#app` body, and the one bundled script carrying the
// render's nonce. Pure (no vscode import): the extension host calls it with its webview's values and the
// browser tests with theirs, so the policy lives here only.

/** What every panel's render needs from the host. */
export interface PanelHtmlOptions {
  /** webview.cspSource: the origin local resources are served from. */
  cspSource: string;
  /** A fresh random value per render; only the script carrying it runs. */
  nonce: string;
  scriptUri: string;
  /** The shared stylesheet (media/dashboard.css). */
  styleUri: string;
}

/** Escapes a value for a double-quoted HTML attribute. */
export function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Nothing but the panel's own origin (styles, images, fonts) and the one script with the nonce. */
export function panelCsp(cspSource: string, nonce: string): string {
  return [
    "default-src 'none'",
    `img-src ${cspSource} data:`,
    `style-src ${cspSource}`,
    `script-src 'nonce-${nonce}'`,
    `font-src ${cspSource}`,
  ].join('; ');
}

/**
 * A whole panel page. `stylesheets`: more after the shared one, each `{ href, id? }`; `body`: the
 * markup inside <body> before the script (trusted: written by the caller, values escaped with attr).
 */
export function renderPanelHtml(o: PanelHtmlOptions & { title: string; body: string; stylesheets?: Array<{ href: string; id?: string }> }): string {
  const links = [{ href: o.styleUri }, ...(o.stylesheets ?? [])]
    .map((s) => `  <link rel="stylesheet"${s.id ? ` id="${attr(s.id)}"` : ''} href="${attr(s.href)}">`)
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${attr(panelCsp(o.cspSource, o.nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
${links}
  <title>${attr(o.title)}</title>
</head>
<body>
${o.body.replace(/\s+$/, '')}
  <script nonce="${attr(o.nonce)}" src="${attr(o.scriptUri)}"></script>
</body>
</html>
`;
}
