/** The page's stylesheet (no third-party assets): readable at 360 px, status in words and colour. */
export const STYLE = `
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #fff; }
header { display: flex; flex-wrap: wrap; gap: .5em 1.5em; justify-content: space-between; align-items: center;
  padding: .5em 1em; border-bottom: 1px solid #d0d7de; background: #f6f8fa; }
header nav a { margin-right: 1em; font-weight: 600; }
main { max-width: 72em; margin: 0 auto; padding: 1em; }
h1 { font-size: 1.5em; margin: .3em 0 .5em; overflow-wrap: anywhere; }
h2 { font-size: 1.15em; margin: 1.5em 0 .5em; }
a { color: #0969da; }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, textarea:focus-visible {
  outline: 2px solid #0969da; outline-offset: 2px; }
button { font: inherit; padding: .25em .8em; border: 1px solid #8c959f; border-radius: 6px; background: #f6f8fa; cursor: pointer; }
button.primary { background: #1f883d; color: #fff; border-color: #1a7f37; }
button.danger { background: #fff; color: #b42318; border-color: #b42318; }
button:disabled { opacity: .55; cursor: not-allowed; }
input, select { font: inherit; padding: .2em .4em; border: 1px solid #8c959f; border-radius: 6px; max-width: 100%; }
label { margin-right: .6em; }
textarea { font: inherit; width: 100%; max-width: 36em; }
pre, code { white-space: pre-wrap; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin-top: .5em; }
th, td { text-align: left; padding: .35em .6em; border-bottom: 1px solid #d0d7de; vertical-align: top; }
.table-wrap { overflow-x: auto; }
.muted { color: #57606a; }
.error { color: #b42318; } .info { color: #0a5d36; }
.badge { display: inline-block; padding: 0 .5em; border-radius: 1em; font-size: .85em; font-weight: 600; border: 1px solid;
  white-space: nowrap; }
.s-succeeded, .b-fresh, .h-running { color: #0a5d36; background: #dafbe1; border-color: #4ac26b; }
.s-failed, .s-expired, .b-stale { color: #8c1d18; background: #ffebe9; border-color: #ff8182; }
.s-running { color: #0550ae; background: #ddf4ff; border-color: #54aeff; }
.s-queued, .b-none, .h-off { color: #6a5a00; background: #fff8c5; border-color: #d4a72c; }
.s-canceled, .h-deprovisioned { color: #424a53; background: #eaeef2; border-color: #afb8c1; }
.mini { display: inline-block; width: 7em; height: .8em; border: 1px solid #8c959f; border-radius: 3px; background: #f6f8fa;
  vertical-align: middle; overflow: hidden; }
.mini span { display: block; height: 100%; background: repeating-linear-gradient(45deg, #2f81f7, #2f81f7 6px, #539bf5 6px, #539bf5 12px); }
.mini.ended span { background: #1f6feb; }
.mini.failed span { background: #b42318; }
.pct { font-size: .85em; }
.filters { display: flex; flex-wrap: wrap; gap: .5em; align-items: end; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; margin: 0; }
.facts dt { color: #57606a; } .facts dd { margin: 0; overflow-wrap: anywhere; }
.actions[hidden] { display: none; }
.actions { display: flex; flex-wrap: wrap; gap: .5em; margin: .8em 0; }
.warning { border-left: 4px solid #d4a72c; background: #fff8c5; padding: .5em .8em; margin: .6em 0; }
.warning.danger { border-color: #b42318; background: #ffebe9; }
dialog { border: 1px solid #8c959f; border-radius: 8px; max-width: min(42em, 96vw); width: 100%; padding: 1em 1.2em; }
dialog::backdrop { background: rgba(0,0,0,.35); }
dialog h2 { margin-top: 0; }
fieldset { border: 1px solid #d0d7de; border-radius: 6px; margin: .6em 0; }
.tree ul { list-style: none; padding-left: 1.2em; margin: 0; }
.tree > ul { padding-left: 0; }
.tree button.folder { border: none; background: none; padding: 0 .2em; color: #0969da; }
.tree .loading { color: #57606a; font-style: italic; }
.row-actions button { font-size: .85em; padding: 0 .5em; }
#copy-dests .badge { white-space: normal; overflow-wrap: anywhere; }
.picked { display: flex; flex-wrap: wrap; gap: .3em; margin: .3em 0; }
.picked .badge button { border: none; background: none; padding: 0 0 0 .3em; }
lro-progress { margin: .5em 0 1em; }
@media (max-width: 600px) {
  main { padding: .6em; }
  table.responsive thead { display: none; }
  table.responsive tr { display: block; border-bottom: 1px solid #d0d7de; padding: .3em 0; }
  table.responsive td { display: block; border: none; padding: .1em .3em; }
  table.responsive td[data-label]::before { content: attr(data-label) ": "; color: #57606a; }
}
`;
