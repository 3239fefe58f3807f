"""`GET /`: a page to look at tags, self-contained (inline CSS and JS; no CDN, no build step).

    postag serve --port 8000      # then open http://127.0.0.1:8000/

A text box and a button: the page posts the text to the same ``POST /v1/tag`` API (with
``probs`` and ``top_k`` 3) and draws each sentence on its own numbered row, each word
with its UPOS below it (a colour per tag; the legend lists the model's tags), its XPOS,
FEATS, probability and next best tags on hover or focus (a ``title`` and the line under
the result). Words whose UPOS probability is under the threshold (0.9 unless changed)
are marked. "Copy as CoNLL-U" copies the result as `postag tag --format conllu` writes it:
``# sent_id``, ``# text``, the model's columns (``_`` where it has none), ``SpaceAfter=No``
and ``TokenRange`` in MISC (on the range line of a multiword token); the text is shown
under "CoNLL-U" too.

Every text put into the page (the words, the tags, the error messages) goes in as
``textContent`` or an attribute, never as markup; the Content-Security-Policy
(:data:`HEADERS`) allows only this page's own script and style (by their hashes) and
requests to its own origin, so hostile text cannot run anything. The page is a Python
string (no package data to ship); it needs no CPU-bound work to serve.
"""

from __future__ import annotations

import base64
import hashlib

STYLE = r"""
:root { color-scheme: light; --ink: #1d232b; --muted: #5c6773; --line: #d8dee6; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
  color: var(--ink); background: #f6f8fa; }
header { display: flex; align-items: baseline; gap: 12px; padding: 14px 24px;
  background: #24303d; color: #fff; }
header h1 { margin: 0; font-size: 20px; letter-spacing: .5px; }
header #model { color: #b8c4d0; font-size: 13px; }
main { max-width: 1040px; margin: 0 auto; padding: 18px 24px 40px; }
label.box { display: block; font-weight: 600; margin-bottom: 6px; }
textarea { width: 100%; font: inherit; padding: 10px; border: 1px solid var(--line);
  border-radius: 6px; background: #fff; resize: vertical; }
.controls { display: flex; flex-wrap: wrap; align-items: center; gap: 12px; margin: 10px 0 16px; }
button { font: inherit; padding: 6px 16px; border-radius: 6px; border: 1px solid #2f6fb0;
  background: #2f6fb0; color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: #2f6fb0; }
button:disabled { opacity: .5; cursor: default; }
.controls input { width: 5em; font: inherit; }
#status { color: var(--muted); }
.error { padding: 10px 12px; border: 1px solid #e0a0a0; background: #fff0f0; color: #8a1f1f;
  border-radius: 6px; margin-bottom: 14px; white-space: pre-wrap; }
#result { background: #fff; border: 1px solid var(--line); border-radius: 6px; }
#result:empty { display: none; }
.sentence { display: flex; gap: 12px; padding: 12px 14px; }
.sentence + .sentence { border-top: 2px dashed var(--line); }
.num { flex: none; width: 26px; height: 26px; border-radius: 50%; background: #24303d;
  color: #fff; font-size: 12px; display: flex; align-items: center; justify-content: center;
  margin-top: 2px; }
.tokens { display: flex; flex-wrap: wrap; gap: 10px 8px; align-items: flex-start; }
.tok { display: inline-flex; flex-direction: column; align-items: center; padding: 2px 3px;
  border-radius: 5px; border: 2px solid transparent; cursor: help; }
.tok.joined { margin-right: -6px; }
.tok:hover, .tok:focus { border-color: #9fb3c8; outline: none; background: #f3f6f9; }
.word { font-size: 16px; white-space: pre; }
.tag { font: 600 11px/1.6 ui-monospace, "SFMono-Regular", Menlo, monospace; padding: 0 6px;
  border-radius: 4px; background: var(--c, #ddd); color: #1d232b; }
.tok.low { border: 2px dashed #d1242f; background: #fff5f5; }
.tok.low .tag::after { content: " ?"; color: #d1242f; }
#detail { min-height: 1.6em; margin: 8px 2px; color: var(--muted); font-size: 13px; }
details { margin-top: 12px; }
details textarea { font: 12px/1.4 ui-monospace, Menlo, monospace; height: 14em; }
#legend { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 18px; align-items: center; }
#legend .caption { color: var(--muted); font-size: 13px; margin-right: 4px; }
.hint { color: var(--muted); font-size: 13px; }
"""

SCRIPT = r"""
"use strict";
const UPOS_COLORS = {
  NOUN: "#9ed0f0", PROPN: "#b4c8ff", VERB: "#ffb3b3", AUX: "#ffd0d0", ADJ: "#bfeeb0",
  ADV: "#f6ef9e", PRON: "#d2c4ff", DET: "#d5dbe1", ADP: "#ffd3a0", CCONJ: "#ebc6f5",
  SCONJ: "#f5c4e4", PART: "#c9e6de", NUM: "#a6ecd9", PUNCT: "#eceff2", SYM: "#e6e1d3",
  INTJ: "#ffc9d4", X: "#e0e0e0",
};
const $ = (id) => document.getElementById(id);
const state = { text: "", sentences: [], runs: 0 };

function tagColor(tag) {
  if (Object.hasOwn(UPOS_COLORS, tag)) return UPOS_COLORS[tag];
  let h = 0;
  for (const ch of tag) h = (h * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${h} 70% 85%)`;
}

function el(name, cls, text) {
  const e = document.createElement(name);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function say(text) { $("status").textContent = text; }

function showError(text) {
  $("error").textContent = text || "";
  $("error").hidden = !text;
}

function threshold() {
  const t = parseFloat($("threshold").value);
  return Number.isFinite(t) ? t : 0;
}

const fmt = (p) => (typeof p === "number" ? p.toFixed(4) : "?");

function describe(s, i) {
  const lines = [`${s.words[i]}`, `UPOS: ${s.tags[i]}`];
  if (s.xpos) lines.push(`XPOS: ${s.xpos[i]}`);
  if (s.feats) lines.push(`FEATS: ${s.feats[i]}`);
  if (s.probs) lines.push(`P(UPOS): ${fmt(s.probs[i])}`);
  if (s.top_k && s.top_k[i].length > 1) {
    const rest = s.top_k[i].slice(1).map(([t, p]) => `${t} ${fmt(p)}`);
    lines.push(`next: ${rest.join(", ")}`);
  }
  return lines;
}

function joined(s, i) {
  return Boolean(s.start) && i + 1 < s.words.length && s.end[i] === s.start[i + 1];
}

function render() {
  const out = $("result");
  const limit = threshold();
  let low = 0;
  let tokens = 0;
  const rows = state.sentences.map((s, n) => {
    const row = el("div", "sentence");
    row.dataset.sentence = String(n + 1);
    row.append(el("span", "num", String(n + 1)));
    const words = el("div", "tokens");
    s.words.forEach((w, i) => {
      const tok = el("span", "tok");
      const unsure = Boolean(s.probs) && s.probs[i] < limit;
      tok.tabIndex = 0;
      tok.dataset.upos = s.tags[i];
      if (s.xpos) tok.dataset.xpos = s.xpos[i];
      if (s.feats) tok.dataset.feats = s.feats[i];
      if (s.probs) tok.dataset.prob = String(s.probs[i]);
      if (unsure) { tok.classList.add("low"); low += 1; }
      if (joined(s, i)) tok.classList.add("joined");
      const lines = describe(s, i);
      if (unsure) lines.push(`low confidence (under ${limit})`);
      tok.title = lines.join("\n");
      const tag = el("span", "tag", s.tags[i]);
      tag.style.setProperty("--c", tagColor(s.tags[i]));
      tok.append(el("span", "word", w), tag);
      words.append(tok);
      tokens += 1;
    });
    row.append(words);
    return row;
  });
  out.replaceChildren(...rows);
  $("conllu").value = conllu();
  $("copy").disabled = state.sentences.length === 0;
  const n = state.sentences.length;
  say(`${n} sentence${n === 1 ? "" : "s"}, ${tokens} token${tokens === 1 ? "" : "s"}` +
      (low ? `, ${low} under ${limit}` : ""));
  out.dataset.run = String(state.runs);
}

function conllu() {
  const chars = Array.from(state.text);  // the API's offsets count code points
  return state.sentences.map((s, n) => {
    const lines = [`# sent_id = ${n + 1}`];
    if (s.start && s.end && s.words.length) {
      const raw = chars.slice(s.start[0], s.end[s.end.length - 1]).join("");
      lines.push(`# text = ${raw.replace(/(?<![ \t])[ \t]*\n/g, " ")}`);
    }
    const col = (list, i) => (list ? list[i] : "_");
    const place = (i) => {  // where word i (or the token ending with it) stands
      const misc = [];
      if (joined(s, i)) misc.push("SpaceAfter=No");
      if (s.start && s.end) misc.push(`TokenRange=${s.start[i]}:${s.end[i]}`);
      return misc;
    };
    // multiword tokens: a range line carries the placement, its words none
    const ranges = new Map((s.multiword || []).map(([a, b, form]) => [a, [b, form]]));
    let inside = -1;
    s.words.forEach((w, i) => {
      if (ranges.has(i)) {
        const [last, form] = ranges.get(i);
        inside = last;
        const blank = ["_", "_", "_", "_", "_", "_", "_"];
        const range = [`${i + 1}-${last + 1}`, form, ...blank, place(last).join("|") || "_"];
        lines.push(range.join("\t"));
      }
      const misc = i <= inside ? [] : place(i);
      const cols = [i + 1, w, "_", s.tags[i], col(s.xpos, i), col(s.feats, i), "_", "_", "_"];
      lines.push([...cols, misc.join("|") || "_"].join("\t"));
    });
    return `${lines.join("\n")}\n\n`;
  }).join("");
}

async function tag(event) {
  event.preventDefault();
  const text = $("text").value;
  $("tag").disabled = true;
  showError("");
  say("tagging…");
  try {
    const r = await fetch("v1/tag", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text, probs: true, top_k: 3 }),
    });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok || !body || !Array.isArray(body.sentences)) {
      const why = body && body.error ? `${body.error.code}: ${body.error.message}` : r.statusText;
      throw new Error(`${r.status} ${why}`);
    }
    state.text = text;
    state.sentences = body.sentences;
  } catch (e) {
    state.text = "";
    state.sentences = [];
    showError(String(e && e.message ? e.message : e));
  } finally {
    state.runs += 1;
    $("tag").disabled = false;
  }
  render();
}

async function copy() {
  const text = $("conllu").value;
  try {
    await navigator.clipboard.writeText(text);
    say("CoNLL-U copied to the clipboard");
  } catch (e) {
    $("conllu-box").open = true;
    $("conllu").focus();
    $("conllu").select();
    const done = document.execCommand && document.execCommand("copy");
    say(done ? "CoNLL-U copied to the clipboard" : "select the CoNLL-U below and copy it");
  }
}

function legend(tags) {
  const box = $("legend");
  box.replaceChildren(el("span", "caption", "UPOS"));
  for (const t of tags) {
    const chip = el("span", "tag", t);
    chip.style.setProperty("--c", tagColor(t));
    box.append(chip);
  }
}

function detail(event) {
  const tok = event.target.closest(".tok");
  if (tok) $("detail").textContent = tok.title.split("\n").join("  ·  ");
}

$("form").addEventListener("submit", tag);
$("copy").addEventListener("click", copy);
$("threshold").addEventListener("input", () => { if (state.runs) render(); });
$("text").addEventListener("keydown", (e) => {
  if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("form").requestSubmit();
});
$("result").addEventListener("mouseover", detail);
$("result").addEventListener("focusin", detail);
fetch("v1/info")
  .then((r) => (r.ok ? r.json() : null))
  .then((info) => {
    if (!info) return;
    $("model").textContent = `${info.name} ${info.version}`;
    if (Array.isArray(info.tags)) legend(info.tags);
  })
  .catch(() => {});
"""

BODY = """
<header><h1>postag</h1><span id="model"></span></header>
<main>
<form id="form">
  <label class="box" for="text">Text</label>
  <textarea id="text" rows="5" placeholder="Type or paste English text…"
    autofocus spellcheck="false"></textarea>
  <div class="controls">
    <button type="submit" id="tag">Tag</button>
    <label>mark words under
      <input id="threshold" type="number" min="0" max="1" step="0.05" value="0.9">
    </label>
    <button type="button" id="copy" class="secondary" disabled>Copy as CoNLL-U</button>
    <span id="status" role="status"></span>
  </div>
</form>
<div id="error" class="error" role="alert" hidden></div>
<section id="result" aria-live="polite"></section>
<div id="detail"></div>
<p class="hint">Hover or focus a word for its XPOS, features and probabilities.
  Ctrl+Enter tags.</p>
<details id="conllu-box"><summary>CoNLL-U</summary>
  <textarea id="conllu" readonly spellcheck="false"></textarea></details>
<section id="legend"></section>
</main>
"""


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


PAGE = (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    "<title>postag</title>\n"
    '<link rel="icon" href="data:,">\n'
    f"<style>{STYLE}</style>\n</head>\n<body>{BODY}<script>{SCRIPT}</script>\n</body>\n</html>\n"
).encode()

#: The page's headers: only its own script and style run (by hash), requests go to its
#: own origin, and no other site may frame it.
HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; script-src '{_sha256(SCRIPT)}'; style-src '{_sha256(STYLE)}'; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
