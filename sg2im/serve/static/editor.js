// The sg2im scene-graph editor: build a graph, see its layout and image, drag the layout. Plain JS, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const SIZE = 384;                        // side of the layout and image views, in CSS pixels
const state = { objects: [], relationships: [], boxes: null, seed: 0, selected: null };
const history = { past: [], future: [] };
const view = { vocab: null, last: null, requestId: 0, timer: null, requests: 0, edits: 0, pending: false,
               dragging: false };
window.sg2im = { state, view };          // for scripts and tests

function colour(i) { return `hsl(${(i * 137.5) % 360}, 70%, 42%)`; }

function snapshot() { return JSON.stringify({ objects: state.objects, relationships: state.relationships,
                                             boxes: state.boxes, seed: state.seed }); }
function restore(text) { Object.assign(state, JSON.parse(text), { selected: null }); }

// One edit: remembered for undo, then drawn and sent to the model.
function change(apply) {
  history.past.push(snapshot());
  history.future = [];
  apply();
  refresh();
}
function undo() { if (history.past.length) { history.future.push(snapshot()); restore(history.past.pop()); refresh(); } }
function redo() { if (history.future.length) { history.past.push(snapshot()); restore(history.future.pop()); refresh(); } }

// ------------------------------------------------------------------ names: completion and refusal
function distance(a, b) {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}
function closest(name, names) {
  return names.map((n) => [distance(name.toLowerCase(), n.toLowerCase()), n]).sort((x, y) => x[0] - y[0])
    .slice(0, 3).map((x) => x[1]);
}
function refuse(where, name, kind, names, retry) {
  const box = $(where);
  box.textContent = `"${name}" is not ${kind === "object" ? "an" : "a"} ${kind} of this model's vocabulary. Did you mean: `;
  for (const option of closest(name, names)) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = option;
    b.onclick = () => { box.textContent = ""; retry(option); };
    box.append(b);
  }
}

// ------------------------------------------------------------------ the graph's lists
function addObject(name) {
  name = name.trim();
  if (!name) return;
  if (!view.vocab.objects.includes(name)) return refuse("object-error", name, "object", view.vocab.objects, addObject);
  if (view.vocab.max_objects && state.objects.length >= view.vocab.max_objects) {
    $("object-error").textContent = `at most ${view.vocab.max_objects} objects: the model was trained on images with no more`;
    return;
  }
  $("object-error").textContent = "";
  $("object-name").value = "";
  change(() => {
    state.objects.push(name);
    if (state.boxes) state.boxes.push([0.35, 0.35, 0.65, 0.65]);
  });
}
function removeObject(i) {
  change(() => {
    state.objects.splice(i, 1);
    if (state.boxes) state.boxes.splice(i, 1);
    state.relationships = state.relationships.filter(([s, , o]) => s !== i && o !== i)
      .map(([s, p, o]) => [s > i ? s - 1 : s, p, o > i ? o - 1 : o]);
  });
}
function renameObject(i, name) {
  if (!view.vocab.objects.includes(name)) {
    refuse("object-error", name, "object", view.vocab.objects, (n) => renameObject(i, n));
    return renderLists();
  }
  $("object-error").textContent = "";
  change(() => { state.objects[i] = name; });
}
function addRelationship(s, p, o) {
  p = p.trim();
  if (!view.vocab.predicates.includes(p))
    return refuse("rel-error", p, "predicate", view.vocab.predicates, (q) => addRelationship(s, q, o));
  if (s === o) { $("rel-error").textContent = "an object cannot be related to itself (the model never saw that)"; return; }
  $("rel-error").textContent = "";
  $("rel-predicate").value = "";
  change(() => state.relationships.push([s, p, o]));
}
function renamePredicate(k, p) {
  if (!view.vocab.predicates.includes(p)) {
    refuse("rel-error", p, "predicate", view.vocab.predicates, (q) => renamePredicate(k, q));
    return renderLists();
  }
  change(() => { state.relationships[k][1] = p; });
}

function renderLists() {
  const objects = $("objects");
  objects.replaceChildren(...state.objects.map((name, i) => {
    const li = document.createElement("li");
    li.dataset.index = i;
    li.className = state.selected === i ? "selected" : "";
    const input = Object.assign(document.createElement("input"), { value: name, className: "rename" });
    input.setAttribute("list", "object-names");
    input.style.borderColor = colour(i);
    input.onchange = () => renameObject(i, input.value.trim());
    const del = Object.assign(document.createElement("button"), { textContent: "×", className: "delete",
                                                                  title: "delete" });
    del.onclick = () => removeObject(i);
    li.append(input, del);
    return li;
  }));
  for (const id of ["rel-subject", "rel-object"])
    $(id).replaceChildren(...state.objects.map((name, i) => new Option(`${i}: ${name}`, i)));
  if (state.objects.length > 1) $("rel-object").selectedIndex = 1;
  $("relationships").replaceChildren(...state.relationships.map(([s, p, o], k) => {
    const li = document.createElement("li");
    const input = Object.assign(document.createElement("input"), { value: p, className: "rename" });
    input.setAttribute("list", "predicate-names");
    input.onchange = () => renamePredicate(k, input.value.trim());
    const del = Object.assign(document.createElement("button"), { textContent: "×", className: "delete" });
    del.onclick = () => change(() => state.relationships.splice(k, 1));
    li.append(`${state.objects[s]} `, input, ` ${state.objects[o]}`, del);
    return li;
  }));
  $("undo").disabled = !history.past.length;
  $("redo").disabled = !history.future.length;
  $("reset-layout").disabled = !state.boxes;
  $("seed").value = state.seed;
}

// ------------------------------------------------------------------ the model's answer
function refresh() {
  renderLists();
  view.edits += 1;
  view.pending = true;                   // until the answer to the latest edit is drawn
  clearTimeout(view.timer);
  view.timer = setTimeout(generate, 60);
}
async function generate() {
  if (!state.objects.length) {
    $("graph").replaceChildren(); $("image").removeAttribute("src"); drawLayout(null);
    $("status").textContent = "add an object to begin";
    view.pending = false;
    return;
  }
  const id = ++view.requestId, edit = view.edits;
  const body = { objects: state.objects, relationships: state.relationships, seed: state.seed };
  if (state.boxes) body.boxes = state.boxes;
  view.requests += 1;
  $("status").textContent = "generating…";
  const response = await fetch("/api/generate", { method: "POST", headers: { "Content-Type": "application/json" },
                                                  body: JSON.stringify(body) });
  const answer = await response.json();
  if (id !== view.requestId) return;     // a newer edit is on its way
  if (!response.ok) {
    $("status").textContent = `refused: ${answer.error}`;
    $("status").className = "error";
    view.pending = edit !== view.edits;
    return;
  }
  view.last = answer;
  $("status").className = "";
  $("status").textContent = `generated in ${answer.ms} ms (seed ${answer.seed}, ${answer.layout_given ?
    "your layout" : "predicted layout"})`;
  $("image").src = answer.image;
  $("image").dataset.seed = answer.seed;
  drawGraph(answer.graph_svg);
  if (!view.dragging) drawLayout(answer);  // a box being dragged stays where the hand is
  document.body.dataset.generated = String(id);
  view.pending = edit !== view.edits;
}

function drawGraph(svg) {
  const graph = $("graph");
  if (!svg) { graph.textContent = "(Graphviz is not installed: no drawing)"; return; }
  graph.innerHTML = svg.slice(svg.indexOf("<svg"));
  for (const node of graph.querySelectorAll("g.node")) {
    const index = Number(node.querySelector("title").textContent);
    if (index < state.objects.length) {
      node.dataset.object = index;
      node.classList.toggle("selected", index === state.selected);
      node.onclick = () => select(index);
    }
  }
}
function select(i) {
  state.selected = state.selected === i ? null : i;
  renderLists();
  for (const el of document.querySelectorAll("[data-object]")) el.classList.toggle("selected", Number(el.dataset.object) === state.selected);
}

// ------------------------------------------------------------------ the layout: masks on a canvas, boxes to drag
function drawLayout(answer) {
  const layout = $("layout"), canvas = $("masks"), ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, SIZE, SIZE);
  for (const old of layout.querySelectorAll(".box")) old.remove();
  if (!answer) return;
  answer.boxes.forEach((box, i) => {
    // drawn with ordered corners, at least 8 px and inside the view, so that any predicted box can be grabbed
    const [a, b, c, d] = box.map((v) => Math.min(SIZE, Math.max(0, v * SIZE)));
    const x0 = Math.min(Math.min(a, c), SIZE - 8), y0 = Math.min(Math.min(b, d), SIZE - 8);
    const x1 = Math.max(a, c, x0 + 8), y1 = Math.max(b, d, y0 + 8);
    if (answer.masks) {
      const m = answer.masks[i], n = m.length, tile = document.createElement("canvas");
      tile.width = tile.height = n;
      const tctx = tile.getContext("2d"), pixels = tctx.createImageData(n, n);
      const [r, g, b] = rgb(colour(i));
      m.flat().forEach((v, k) => pixels.data.set([r, g, b, Math.round(160 * v)], 4 * k));
      tctx.putImageData(pixels, 0, 0);
      ctx.drawImage(tile, x0, y0, Math.max(x1 - x0, 1), Math.max(y1 - y0, 1));
    }
    const div = document.createElement("div");
    div.className = "box" + (i === state.selected ? " selected" : "");
    Object.assign(div.dataset, { object: i, name: state.objects[i] });
    Object.assign(div.style, { left: `${x0}px`, top: `${y0}px`, width: `${x1 - x0}px`, height: `${y1 - y0}px`,
                               borderColor: colour(i) });
    const label = Object.assign(document.createElement("span"), { className: "label", textContent: state.objects[i] });
    label.style.color = colour(i);
    const handle = Object.assign(document.createElement("div"), { className: "handle" });
    handle.style.borderColor = colour(i);
    div.append(label, handle);
    div.addEventListener("pointerdown", (e) => drag(e, div, i, e.target === handle));
    layout.append(div);
  });
}
function rgb(css) {
  const probe = document.createElement("canvas").getContext("2d");
  probe.fillStyle = css;
  probe.fillRect(0, 0, 1, 1);
  return probe.getImageData(0, 0, 1, 1).data.slice(0, 3);
}
function drag(event, div, i, resize) {
  event.preventDefault();
  view.dragging = true;
  const start = { x: event.clientX, y: event.clientY, left: div.offsetLeft, top: div.offsetTop,
                  width: div.offsetWidth, height: div.offsetHeight };
  const move = (e) => {
    const dx = e.clientX - start.x, dy = e.clientY - start.y;
    if (resize) {
      div.style.width = `${Math.max(6, start.width + dx)}px`;
      div.style.height = `${Math.max(6, start.height + dy)}px`;
    } else {
      div.style.left = `${start.left + dx}px`;
      div.style.top = `${start.top + dy}px`;
    }
  };
  const up = () => {
    window.removeEventListener("pointermove", move);
    window.removeEventListener("pointerup", up);
    view.dragging = false;
    // the layout kept from now on is the one on screen: every box as drawn (the moved one where it was left)
    const clamp = (v) => Math.round(Math.min(1.5, Math.max(-0.5, v)) * 1e4) / 1e4;
    const boxes = [...$("layout").querySelectorAll(".box")].map((b) => [b.offsetLeft / SIZE, b.offsetTop / SIZE,
      (b.offsetLeft + b.offsetWidth) / SIZE, (b.offsetTop + b.offsetHeight) / SIZE].map(clamp));
    change(() => { state.boxes = boxes; });
  };
  window.addEventListener("pointermove", move);
  window.addEventListener("pointerup", up);
}

// ------------------------------------------------------------------ files and figures
function save(name, blob) {
  const a = Object.assign(document.createElement("a"), { href: URL.createObjectURL(blob), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}
function graphJson() { return { objects: state.objects, relationships: state.relationships }; }
function load(graph) {
  if (!graph || !Array.isArray(graph.objects)) { $("status").textContent = "not a scene graph: {\"objects\": [...], \"relationships\": [...]}"; return; }
  change(() => Object.assign(state, { objects: [...graph.objects], relationships: (graph.relationships || []).map((r) => [...r]),
                                      boxes: null, selected: null }));
}

async function start() {
  view.vocab = await (await fetch("/api/vocab")).json();
  const v = view.vocab;
  $("model-info").textContent = `${v.checkpoint} · ${v.dataset || "model"} · ${v.image_size.join("×")} px · ` +
    `${v.objects.length} objects, ${v.predicates.length} predicates`;
  $("object-names").replaceChildren(...v.objects.map((n) => new Option(n)));
  $("predicate-names").replaceChildren(...v.predicates.map((n) => new Option(n)));
  const figures = await (await fetch("/api/figures")).json();
  for (const [name, graphs] of Object.entries(figures))
    graphs.forEach((g, k) => $("figures").append(new Option(`${name} #${k + 1}: ${g.objects.join(", ")}`, `${name}:${k}`)));
  $("figures").onchange = (e) => {
    if (!e.target.value) return;
    const [name, k] = e.target.value.split(":");
    load(figures[name][Number(k)]);
    e.target.value = "";
  };
  $("add-object").onsubmit = (e) => { e.preventDefault(); addObject($("object-name").value); };
  $("add-relationship").onsubmit = (e) => {
    e.preventDefault();
    addRelationship(Number($("rel-subject").value), $("rel-predicate").value, Number($("rel-object").value));
  };
  $("seed").onchange = () => change(() => { state.seed = Math.max(0, Number($("seed").value) | 0); });
  $("new-sample").onclick = () => change(() => { state.seed += 1; });
  $("reset-layout").onclick = () => change(() => { state.boxes = null; });
  $("undo").onclick = undo;
  $("redo").onclick = redo;
  $("download-graph").onclick = () => save("scene_graph.json", new Blob([JSON.stringify(graphJson(), null, 2)], { type: "application/json" }));
  $("download-image").onclick = async () => view.last && save("image.png", await (await fetch(view.last.image)).blob());
  $("download-layout").onclick = () => view.last && save("layout.json", new Blob([JSON.stringify(
    { objects: state.objects, boxes: view.last.boxes, seed: state.seed, layout: view.last.layout_given ? "edited" : "predicted" },
    null, 2)], { type: "application/json" }));
  $("load").onchange = async (e) => {
    const text = await e.target.files[0].text();
    try { const data = JSON.parse(text); load(Array.isArray(data) ? data[0] : data); }
    catch { $("status").textContent = "that file is not JSON"; }
    e.target.value = "";
  };
  document.addEventListener("keydown", (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === "z") { e.preventDefault(); e.shiftKey ? redo() : undo(); }
  });
  renderLists();
  // the forms stay disabled until the vocabulary is here: an early Enter would submit the page itself
  for (const el of document.querySelectorAll("#add-object [disabled], #add-relationship [disabled]")) el.disabled = false;
  $("status").textContent = "add an object to begin (or pick one of the paper's figures)";
}
start();
