// The page's only styling: system fonts, readable contrast, one column on a phone.
export const PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #ffffff; --muted: #4d5560; --line: #d0d7de;
  --code: #f3f4f6; --link: #0b5cad; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e8eb; --bg: #14171a; --muted: #aab2bc;
  --line: #3a4048; --code: #22272e; --link: #6cb6ff; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 70rem; padding: 1rem; font: 16px/1.5 system-ui, sans-serif;
  color: var(--fg); background: var(--bg); }
a { color: var(--link); }
h1 small { font-weight: normal; color: var(--muted); font-size: 60%; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2.5rem; }
article { border-top: 1px solid var(--line); padding-top: .5rem; margin-top: 1.5rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .9em; }
code { background: var(--code); padding: 0 .2em; border-radius: 3px; }
pre { background: var(--code); padding: .75rem; overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
table.events td table { margin: 0; }
.optional, .facts { color: var(--muted); font-size: .85em; }
.facts { display: block; }
.columns { columns: 2 22rem; }
details { margin: .25rem 0; }
summary { cursor: pointer; }
`;
