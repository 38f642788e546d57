/**
 * The ring page as HTML (a string; no template engine, no script): Cortex's columns, a Forget
 * button per member posting the CSRF token, and a link to show or hide the tokens. Every value
 * from the ring is escaped: instance IDs and addresses are written by other processes.
 */
import type { RingStatus } from './status.js';

export interface RingPageRenderOptions {
  title: string;
  csrfToken: string;
  showTokens: boolean;
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function renderRingPage(status: RingStatus, opts: RingPageRenderOptions): string {
  const e = escapeHtml;
  const rows = status.instances
    .map(
      (r) => `<tr class="${r.state === 'UNHEALTHY' ? 'unhealthy' : ''}">
<td>${e(r.id)}</td><td>${e(r.zone)}</td><td>${e(r.state)}</td><td>${e(r.address)}</td>
<td>${e(r.registeredAt ?? '')}</td><td>${e(r.lastHeartbeat)} (${r.heartbeatAgeSeconds} s ago)</td>
<td class="num">${r.tokenCount}</td><td class="num">${r.ownershipPercent.toFixed(2)}%</td>
<td><button type="submit" name="forget" value="${e(r.id)}">Forget</button></td>
</tr>`,
    )
    .join('\n');
  const tokens = opts.showTokens
    ? status.instances
        .map((r) => `<h2>Instance: ${e(r.id)}</h2>\n<p class="tokens">${(r.tokens ?? []).join(' ')}</p>`)
        .join('\n')
    : '';
  const toggle = opts.showTokens
    ? '<a href="?tokens=false">Hide tokens</a>'
    : '<a href="?tokens=true">Show tokens</a>';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${e(opts.title)}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; }
tbody tr:nth-child(odd) { background: #eee; }
tr.unhealthy td { color: #a00; }
td.num { text-align: right; }
p.tokens { font-family: monospace; word-break: break-all; }
</style>
</head>
<body>
<h1>${e(opts.title)}</h1>
<p>Ring key: <code>${e(status.key)}</code>. Current time: ${e(status.now)}. Heartbeat timeout: ${status.heartbeatTimeoutSeconds} s.</p>
<form method="POST" action="">
<input type="hidden" name="csrf_token" value="${e(opts.csrfToken)}">
<table>
<thead><tr><th>Instance ID</th><th>Zone</th><th>State</th><th>Address</th><th>Registered at</th><th>Last heartbeat</th><th>Tokens</th><th>Ownership</th><th>Actions</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</form>
<p>${toggle}</p>
${tokens}
</body>
</html>
`;
}
