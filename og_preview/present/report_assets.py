"""The report page's own CSS and JavaScript, inlined verbatim (their hashes go in the CSP).

Nothing here depends on data: the page's script reads the cards it finds in the
DOM, and the cards carry no scripts, no event handlers and no style attributes.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = """
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--fg:#1d2330;--muted:#5d6677;
--line:#dde1e8;--accent:#2f6fde;--ph1:#dfe6f3;--ph2:#eef1f6;--ok:#16794a;--ok-bg:#e3f5ec;
--warn:#9a5b00;--warn-bg:#fff1d6;--bad:#b42318;--bad-bg:#fde8e6;--chip:#eceff4;--on-accent:#fff}
@media (prefers-color-scheme:dark){:root{--bg:#111318;--card:#1b1e26;--fg:#e6e8ee;
--muted:#9aa3b5;--line:#2c313c;--accent:#7aa7ff;--ph1:#252b38;--ph2:#1e232d;--ok:#6fd6a0;
--ok-bg:#143326;--warn:#f2c46d;--warn-bg:#3a2c10;--bad:#ff8f86;--bad-bg:#3d1715;--chip:#262b35;
--on-accent:#0b1220}}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);line-height:1.4;
font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:inherit}
header{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);
padding:14px clamp(12px,3vw,32px) 10px}
h1{font-size:20px;margin:0 0 2px}
.sub{margin:0;color:var(--muted);font-size:13px;overflow-wrap:anywhere}
.totals{display:flex;flex-wrap:wrap;gap:6px;margin:10px 0 0;padding:0;list-style:none;
font-size:13px}
.totals li{background:var(--chip);border-radius:999px;padding:2px 10px;color:var(--muted)}
.totals b{color:var(--fg)}
.totals .t-kind b{color:var(--bad)}
.tools{display:flex;flex-wrap:wrap;align-items:center;gap:8px;margin-top:10px}
.tools button{font:inherit;font-size:14px;border:1px solid var(--line);background:var(--card);
color:var(--fg);border-radius:8px;padding:5px 12px;cursor:pointer}
.tools button[aria-pressed=true]{background:var(--accent);border-color:var(--accent);
color:var(--on-accent)}
.tools button span{opacity:.75;margin-left:4px}
.tools input{font:inherit;font-size:14px;flex:1 1 220px;max-width:420px;padding:6px 10px;
border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--fg)}
#shown{color:var(--muted);font-size:13px;margin-left:auto}
main{display:grid;gap:16px;padding:16px clamp(12px,3vw,32px) 40px;
grid-template-columns:repeat(auto-fill,minmax(min(100%,300px),1fr));align-items:start}
.empty{grid-column:1/-1;text-align:center;color:var(--muted);padding:48px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;overflow:hidden;
display:flex;flex-direction:column;min-width:0;content-visibility:auto;
contain-intrinsic-size:auto 360px;box-shadow:0 1px 2px rgba(0,0,0,.05)}
.media{display:block;position:relative;aspect-ratio:1.91/1;
background:linear-gradient(135deg,var(--ph1),var(--ph2));overflow:hidden;text-decoration:none}
.media img{position:absolute;inset:0;width:100%;height:100%;object-fit:cover}
.ph{position:absolute;inset:0;display:flex;align-items:center;justify-content:center;
font-size:44px;font-weight:700;color:var(--muted);opacity:.45;text-transform:uppercase}
img.broken{display:none}
.body{padding:10px 14px 12px;display:flex;flex-direction:column;gap:6px;min-width:0}
.site{display:flex;align-items:center;gap:6px;font-size:12.5px;color:var(--muted);min-width:0}
.site img{width:16px;height:16px;flex:none;border-radius:3px}
.site span{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.site .dom{flex:none;max-width:60%}
h2{font-size:16px;line-height:1.3;margin:0;overflow-wrap:anywhere}
h2 a{text-decoration:none}
h2 a:hover{text-decoration:underline}
.untitled{color:var(--muted);font-style:italic}
.desc{margin:0;color:var(--muted);font-size:14px;display:-webkit-box;-webkit-box-orient:vertical;
-webkit-line-clamp:3;line-clamp:3;overflow:hidden;overflow-wrap:anywhere}
.meta{display:flex;flex-wrap:wrap;gap:4px 10px;font-size:12.5px;color:var(--muted)}
.meta .type{background:var(--chip);border-radius:4px;padding:0 6px}
.url{font-size:12px;color:var(--muted);white-space:nowrap;overflow:hidden;text-overflow:ellipsis;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.badges{display:flex;flex-wrap:wrap;gap:4px;margin:2px 0 0;padding:0;list-style:none}
.badges li{font-size:11.5px;border-radius:4px;padding:1px 6px;background:var(--warn-bg);
color:var(--warn)}
.badges .miss{background:var(--bad-bg);color:var(--bad)}
.badges .ready{background:var(--ok-bg);color:var(--ok)}
.badges .note{background:var(--chip);color:var(--muted)}
.card.error{border-left:4px solid var(--bad)}
.card.pending{border-left:4px solid var(--muted)}
.kind{display:flex;flex-wrap:wrap;align-items:baseline;gap:8px}
.kind b{color:var(--bad);font-size:14px;font-family:ui-monospace,SFMono-Regular,Menlo,monospace}
.kind span{font-size:12.5px;color:var(--muted)}
.msg{margin:0;font-size:13.5px;overflow-wrap:anywhere;display:-webkit-box;
-webkit-box-orient:vertical;-webkit-line-clamp:3;line-clamp:3;overflow:hidden}
footer{color:var(--muted);font-size:12px;text-align:center;padding:0 0 24px}
@media (max-width:520px){header{position:static}h1{font-size:18px}main{gap:12px}}
"""

# Plain ES2015, no dependencies. Filters set `hidden` on the cards (no DOM rebuilt);
# the URL hash (#filter=errors&q=text) makes a filtered view shareable.
SCRIPT = """
(function () {
  "use strict";
  document.addEventListener("error", function (event) {
    var el = event.target;
    if (el && el.tagName === "IMG") { el.classList.add("broken"); }
  }, true);
  var FILTERS = ["all", "processed", "errors", "issues"];
  function init() {
    var cards = Array.prototype.slice.call(document.querySelectorAll("main > article"));
    var kinds = cards.map(function (c) { return c.getAttribute("data-status"); });
    var issues = cards.map(function (c) { return c.getAttribute("data-issues") !== "0"; });
    var texts = null;
    var buttons = Array.prototype.slice.call(document.querySelectorAll("button[data-filter]"));
    var box = document.getElementById("q");
    var shown = document.getElementById("shown");
    var state = {filter: "all", q: ""};
    var timer = 0;
    function keep(i) {
      var f = state.filter;
      if (f === "processed" && kinds[i] !== "processed") { return false; }
      if (f === "errors" && kinds[i] !== "error") { return false; }
      if (f === "issues" && !(kinds[i] === "processed" && issues[i])) { return false; }
      return !state.q || texts[i].indexOf(state.q) !== -1;
    }
    function apply() {
      if (state.q && texts === null) {
        texts = cards.map(function (c) { return c.textContent.toLowerCase(); });
      }
      var n = 0;
      for (var i = 0; i < cards.length; i++) {
        var visible = keep(i);
        if (cards[i].hidden === visible) { cards[i].hidden = !visible; }
        if (visible) { n++; }
      }
      buttons.forEach(function (b) {
        b.setAttribute("aria-pressed", String(b.getAttribute("data-filter") === state.filter));
      });
      shown.textContent = n === cards.length ? cards.length + " cards"
        : "showing " + n + " of " + cards.length;
      document.body.setAttribute("data-filter", state.filter);
    }
    function readHash() {
      var params = new URLSearchParams(location.hash.slice(1));
      var f = params.get("filter");
      state.filter = FILTERS.indexOf(f) !== -1 ? f : "all";
      box.value = params.get("q") || "";
      state.q = box.value.trim().toLowerCase();
    }
    function writeHash() {
      var params = new URLSearchParams();
      if (state.filter !== "all") { params.set("filter", state.filter); }
      if (box.value.trim()) { params.set("q", box.value.trim()); }
      var hash = params.toString();
      try {
        history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
      } catch (e) { /* some file: URLs refuse; the view still works */ }
    }
    buttons.forEach(function (b) {
      b.addEventListener("click", function () {
        state.filter = b.getAttribute("data-filter");
        apply();
        writeHash();
      });
    });
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        state.q = box.value.trim().toLowerCase();
        apply();
        writeHash();
      }, cards.length > 2000 ? 200 : 60);
    });
    window.addEventListener("hashchange", function () { readHash(); apply(); });
    readHash();
    apply();
    document.documentElement.setAttribute("data-ready", "1");
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
"""


def csp_hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline `<script>`/`<style>` text."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


CSP = "; ".join(
    [
        "default-src 'none'",
        "img-src http: https:",
        f"style-src {csp_hash(STYLE)}",
        f"script-src {csp_hash(SCRIPT)}",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
