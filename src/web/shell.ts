/**
 * The UI's one HTML document and its stylesheet. The page has no inline script or style, so the
 * Content-Security-Policy can forbid both: whatever a block's labels hold, nothing runs.
 */

export const SHELL_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>strata</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="static/app.css">
<link rel="stylesheet" href="static/vendor/uPlot.min.css">
<script src="static/vendor/uPlot.iife.min.js" defer></script>
<script type="module" src="static/app.js"></script>
</head>
<body>
<nav id="nav"></nav>
<main id="main"><p class="muted">Loading…</p></main>
</body>
</html>
`;

export const SHELL_CSS = `
:root { --fg: #1d232b; --muted: #6a7380; --line: #d9dee5; --accent: #2f6fbd; --bad: #c0392b; --warn: #c27c0e; --ok: #2e8b57; --bg2: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); }
nav { display: flex; gap: 4px; align-items: center; padding: 6px 12px; background: #1d232b; }
nav a, nav span { color: #d8dee6; text-decoration: none; padding: 4px 8px; border-radius: 4px; }
nav a.active, nav a:hover { background: #39424e; color: #fff; }
nav .brand { font-weight: 600; color: #fff; margin-right: 12px; }
nav .version { margin-left: auto; color: #8b95a3; font-size: 12px; }
main { padding: 12px 16px; }
h1 { font-size: 18px; margin: 4px 0 10px; }
h2 { font-size: 15px; margin: 16px 0 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { background: var(--bg2); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.error { color: var(--bad); }
.warn { color: var(--warn); }
.ok { color: var(--ok); }
.badge { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 12px; background: var(--bg2); border: 1px solid var(--line); }
.badge.bad { color: #fff; background: var(--bad); border-color: var(--bad); }
.badge.warn { color: #fff; background: var(--warn); border-color: var(--warn); }
.badge.ok { color: #fff; background: var(--ok); border-color: var(--ok); }
.toolbar { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 10px; }
.toolbar label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
input, select, button { font: inherit; padding: 3px 6px; }
button { cursor: pointer; }
pre.json { background: var(--bg2); padding: 8px; overflow: auto; }
`;
