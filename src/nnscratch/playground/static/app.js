// nnscratch playground: the page draws what the Python process trains. No libraries.
"use strict";

const FEATURES = ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"];
const FEATURE_LABELS = {"x1": "x\u2081", "x2": "x\u2082", "x1^2": "x\u2081\u00b2", "x2^2": "x\u2082\u00b2",
  "x1*x2": "x\u2081x\u2082", "sin(x1)": "sin x\u2081", "sin(x2)": "sin x\u2082"};
const CLASSIFICATION = ["circle", "xor", "gauss", "spiral", "moons", "blobs"];
const REGRESSION = ["plane", "multigauss"];
const NEG = [245, 147, 34], POS = [8, 119, 189], WHITE = [255, 255, 255];
const PALETTE = [NEG, POS, [44, 160, 44], [148, 103, 189], [214, 39, 40], [140, 86, 75],
  [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]];
const MAX_LAYERS = 8, MAX_WIDTH = 64;

// Thumbnails of the data sets, drawn from a formula (value in [-1, 1] over [-1, 1]^2).
const THUMBS = {
  circle: (x, y) => (Math.hypot(x, y) < 0.5 ? 1 : -1),
  xor: (x, y) => (x * y >= 0 ? 1 : -1),
  gauss: (x, y) => (x + y > 0 ? 1 : -1),
  spiral: (x, y) => { const r = Math.hypot(x, y), a = Math.atan2(y, x); return Math.sin(a + r * 9) > 0 ? 1 : -1; },
  moons: (x, y) => (y > 0.45 * Math.sin(x * 3) ? 1 : -1),
  blobs: (x, y) => (x < -0.2 ? -1 : y > 0 ? 1 : 0.01),
  plane: (x, y) => (x + y) / 2,
  multigauss: (x, y) => Math.max(-1, Math.min(1, 2 * Math.sin(x * 4) * Math.sin(y * 3))),
};

let frame = null;          // the last good frame from the server
let playing = false;
let member = null;         // null: the members' mean; else the member shown alone
let view = "boundary";     // or "disagreement"
let drawing = false;
let looping = false;
const $ = (id) => document.getElementById(id);

// --- talking to the server -------------------------------------------------------------

async function call(method, path, body, raw) {
  const options = {method};
  if (body !== undefined) {
    options.body = raw ? body : JSON.stringify(body);
    options.headers = {"Content-Type": raw ? "text/csv" : "application/json"};
  }
  const response = await fetch(path, options);
  const value = await response.json();
  if (!response.ok) throw new Error(value.error || response.statusText);
  return value;
}

function showError(message) {
  const box = $("error");
  box.textContent = message || "";
  box.hidden = !message;
}

async function act(method, path, body, raw) {
  try {
    const f = await call(method, path, body, raw);
    showError("");
    render(f);
    return true;
  } catch (error) {
    showError(error.message);
    if (frame) syncControls(frame.settings);  // back to the last good state
    return false;
  }
}

function configure(changes) {
  return act("POST", "api/configure", Object.assign({}, changes, {member: null}));
}

// --- the play loop: one epoch, one frame ------------------------------------------------

async function loop() {
  // The next epoch trains on the server while this frame is drawn here; after a pause the
  // epoch already asked for is still drawn, so the counter matches the server.
  let next = call("POST", "api/step", {epochs: 1, member});
  for (;;) {
    let f;
    try {
      f = await next;
    } catch (error) {
      showError(error.message);
      setPlaying(false);
      return;
    }
    const more = playing;
    if (more) next = call("POST", "api/step", {epochs: 1, member});
    showError("");
    render(f);
    if (!more) return;
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

function setPlaying(on) {
  playing = on;
  $("play").innerHTML = on ? "<b>II</b>" : "&#x25B6;";
  $("play").classList.toggle("playing", on);
  $("play").title = on ? "Pause" : "Play";
  if (on && !looping) {
    looping = true;
    loop().finally(() => { looping = false; });
  }
}

// --- colours -----------------------------------------------------------------------------

function mix(a, b, t) { return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t]; }

function diverging(v) {  // v in [0, 1], 0.5 white
  const t = v * 2 - 1;
  return t < 0 ? mix(WHITE, NEG, -t) : mix(WHITE, POS, t);
}

function decode(b64) {
  const s = atob(b64), out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const offscreen = {};  // one scratch canvas per map size

function paint(canvas, n, colorAt) {
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(n, n), data = image.data;
  for (let i = 0, o = 0; i < n * n; i++, o += 4) {
    const c = colorAt(i);
    data[o] = c[0]; data[o + 1] = c[1]; data[o + 2] = c[2]; data[o + 3] = 255;
  }
  if (canvas.width === n && canvas.height === n) {  // the browser scales it with CSS
    ctx.putImageData(image, 0, 0);
    return;
  }
  const off = offscreen[n] || (offscreen[n] = document.createElement("canvas"));
  off.width = off.height = n;
  off.getContext("2d").putImageData(image, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
}

// --- the output plot -----------------------------------------------------------------

function boundaryColor(f) {
  if (view === "disagreement") {
    const d = decode(f.disagreement);
    return (i) => mix(WHITE, [106, 27, 154], d[i] / 255);
  }
  return mapColor(f.output.map(decode), $("discretize").checked);
}

function mapColor(maps, discrete) {
  if (maps.length <= 2) {  // one value (class 1's probability, or a regression), 0.5 white
    const v = maps[maps.length - 1];
    return (i) => {
      let x = v[i] / 255;
      if (discrete) x = x > 0.5 ? 1 : 0;
      return mix(WHITE, diverging(x), 0.75);
    };
  }
  const K = maps.length;
  return (i) => {
    let best = 0;
    for (let k = 1; k < K; k++) if (maps[k][i] > maps[best][i]) best = k;
    const confidence = discrete ? 1 : Math.max(0, (maps[best][i] / 255 - 1 / K) / (1 - 1 / K));
    return mix(WHITE, PALETTE[best % PALETTE.length], 0.75 * confidence);
  };
}

function pointColor(f, label) {
  if (f.task === "regression") {
    const r = f.value_range;
    return diverging(Math.max(0, Math.min(1, (label - r[0]) / (r[1] - r[0]))));
  }
  return PALETTE[label % PALETTE.length];
}

function toCanvas(f, x1, x2, size) {
  const e = f.extent;
  return [(x1 - e[0]) / (e[1] - e[0]) * size, (e[3] - x2) / (e[3] - e[2]) * size];
}

function drawBoundary(f) {
  const canvas = $("boundary");
  paint(canvas, f.grid, boundaryColor(f));
  const ctx = canvas.getContext("2d");
  const sets = [[f.train, "#ffffff"]];
  if ($("show-test").checked) sets.push([f.test, "#000000"]);
  for (const [points, stroke] of sets) {
    for (const [x1, x2, label] of points) {
      const [u, v] = toCanvas(f, x1, x2, canvas.width);
      const c = pointColor(f, label);
      ctx.beginPath();
      ctx.arc(u, v, 4.5, 0, 2 * Math.PI);
      ctx.fillStyle = `rgb(${c[0]},${c[1]},${c[2]})`;
      ctx.fill();
      ctx.lineWidth = 1.2;
      ctx.strokeStyle = stroke;
      ctx.stroke();
    }
  }
  drawAxes(ctx, f, canvas.width);
}

function drawAxes(ctx, f, size) {
  ctx.fillStyle = "#1d2433";
  ctx.font = "13px system-ui, sans-serif";
  const e = f.extent;
  ctx.fillText(e[0].toFixed(1), 4, size - 6);
  ctx.fillText(e[1].toFixed(1), size - 30, size - 6);
  ctx.fillText(e[3].toFixed(1), 4, 14);
  ctx.fillText("x\u2081 \u2192", size / 2 - 10, size - 6);
}

// --- curves and the members' spread ----------------------------------------------------

function drawCurves(f) {
  const canvas = $("curves"), ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, pad = 28;
  ctx.clearRect(0, 0, W, H);
  const tr = f.curves.train_loss, te = f.curves.test_loss;
  const finite = (x) => (x === null ? NaN : x);
  let top = 0;
  for (const row of tr.concat(te)) if (row[2] !== null && row[2] > top) top = row[2];
  top = top || 1;
  const n = Math.max(tr.length - 1, 1);
  const X = (i) => pad + (i / n) * (W - pad - 6), Y = (v) => H - 16 - (finite(v) / top) * (H - 26);
  ctx.strokeStyle = "#c5ccd6";
  ctx.beginPath(); ctx.moveTo(pad, 6); ctx.lineTo(pad, H - 16); ctx.lineTo(W - 6, H - 16); ctx.stroke();
  ctx.fillStyle = "#5b6576"; ctx.font = "12px system-ui, sans-serif";
  ctx.fillText(top.toPrecision(2), 2, 12); ctx.fillText("0", 14, H - 16);
  ctx.fillText(`epoch ${f.epoch}`, W - 70, H - 3);
  for (const [rows, color] of [[tr, "#8a94a6"], [te, "#1d2433"]]) {
    if (f.population > 1) {  // the band: min to max of the members
      ctx.fillStyle = color + "33";
      ctx.beginPath();
      rows.forEach((r, i) => ctx.lineTo(X(i), Y(r[2])));
      for (let i = rows.length - 1; i >= 0; i--) ctx.lineTo(X(i), Y(rows[i][1]));
      ctx.fill();
    }
    ctx.strokeStyle = color; ctx.lineWidth = 2;
    ctx.beginPath();
    rows.forEach((r, i) => (i ? ctx.lineTo(X(i), Y(r[0])) : ctx.moveTo(X(i), Y(r[0]))));
    ctx.stroke();
  }
}

function fmt(x, digits = 3) { return x === null || x === undefined ? "\u2013" : x.toFixed(digits); }

function drawStats(f) {
  const last = (k) => f.curves[k][f.curves[k].length - 1];
  const tl = last("train_loss"), vl = last("test_loss"), ts = last("test_score"), rs = last("train_score");
  const score = f.task === "classification" ? "accuracy" : "R\u00b2";
  const pct = (x) => (f.task === "classification" && x !== null ? (100 * x).toFixed(1) + "%" : fmt(x));
  const who = member === null ? (f.population > 1 ? `mean of ${f.population} members` : "one network") : `member ${member}`;
  let html = `Test loss <b>${fmt(vl[0])}</b> &nbsp; Training loss <b>${fmt(tl[0])}</b><br>` +
    `Test ${score} <b>${pct(ts[0])}</b>`;
  if (f.population > 1) html += ` &nbsp;(min <b>${pct(ts[1])}</b>, max <b>${pct(ts[2])}</b>)`;
  html += `<br><small>Training ${score} ${pct(rs[0])} \u00b7 showing ${who}</small>`;
  $("stats").innerHTML = html;
}

function drawMembers(f) {
  const box = $("members");
  if (f.population < 2) { box.innerHTML = ""; return; }
  const scores = f.curves.test_score[f.curves.test_score.length - 1][3];
  const what = f.task === "classification" ? "accuracy" : "R\u00b2";
  const show = (x) => (x === null ? "\u2013" : f.task === "classification" ? `${Math.round(100 * x)}%` : x.toFixed(2));
  if (box.children.length !== f.population + 1) {
    box.innerHTML = "";
    const add = (value) => {
      const b = document.createElement("button");
      b.dataset.member = value === null ? "mean" : value;
      if (value !== null) b.appendChild(document.createElement("canvas"));
      b.appendChild(document.createElement("span")).textContent = value === null ? "mean" : "";
      b.onclick = () => { member = value; refresh(); };
      box.appendChild(b);
    };
    add(null);
    for (let p = 0; p < f.population; p++) add(p);
  }
  box.children[0].title = "The mean of every member's output";
  box.children[0].className = member === null ? "on" : "";
  scores.forEach((score, p) => {
    const b = box.children[p + 1], maps = f.members[p].map(decode);
    const c = b.querySelector("canvas"), n = Math.round(Math.sqrt(maps[0].length));
    if (c.width !== n) c.width = c.height = n;
    paint(c, n, mapColor(maps, false));
    b.querySelector("span").textContent = show(score);
    b.title = `member ${p}: test ${what} ${fmt(score)}; click to show it alone`;
    b.className = p === member ? "on" : "";
  });
}

async function refresh() {
  const query = member === null ? "" : `?member=${member}`;
  await act("GET", "api/frame" + query);
}

// --- the network diagram ---------------------------------------------------------------

function nodeCanvas(b64, n) {
  const c = document.createElement("canvas");
  c.width = c.height = n;
  paintNode(c, b64, n);
  return c;
}

function paintNode(c, b64, n) {
  const v = decode(b64);
  paint(c, n, (i) => diverging(v[i] / 255));
}

// The diagram is built when its shape changes; each frame then repaints its maps and
// restyles its links in place, so that playing stays smooth.
let diagram = {key: null, canvases: [], links: []};

function drawNetwork(f) {
  const key = [f.settings.features, f.settings.hidden, f.settings.activation, f.network.layers.length,
    f.network.layers[f.network.layers.length - 1].length, f.task].join("|");
  if (key !== diagram.key || !diagram.links.length) {
    buildNetwork(f);
    diagram.key = key;
    return;
  }
  f.network.layers.forEach((maps, l) => maps.forEach((b64, j) => paintNode(diagram.canvases[l][j], b64, f.network.size)));
  styleLinks(diagram.links, f.network.weights);
}

function buildNetwork(f) {
  const s = f.settings, net = f.network;
  const hidden = s.hidden === "" ? [] : s.hidden.split(",").map(Number);
  const chosen = s.features.split(",");
  const columns = $("columns");
  columns.innerHTML = "";
  const nodes = [], canvases = [];
  // inputs: every feature, the chosen ones lit (click to toggle)
  const inputs = column("Features");
  inputs.classList.add("inputs");
  let k = 0;
  const inputNodes = [], inputCanvases = [];
  for (const name of FEATURES) {
    const on = chosen.includes(name);
    const node = document.createElement("div");
    node.className = "node input" + (on ? "" : " off");
    node.title = on ? `${name}: click to leave it out` : `${name}: click to use it`;
    node.dataset.feature = name;
    const label = document.createElement("span");
    label.className = "name"; label.textContent = FEATURE_LABELS[name];
    node.appendChild(label);
    if (on) {
      const c = nodeCanvas(net.layers[0][k++], net.size);
      node.appendChild(c);
      inputNodes.push(node);
      inputCanvases.push(c);
    }
    node.onclick = () => toggleFeature(name);
    inputs.appendChild(node);
  }
  nodes.push(inputNodes);
  canvases.push(inputCanvases);
  hidden.forEach((width, l) => {
    const col = column(`${width} neuron${width === 1 ? "" : "s"}`, l);
    const layer = [], layerCanvases = [];
    for (let j = 0; j < width; j++) {
      const node = document.createElement("div");
      node.className = "node";
      node.title = `layer ${l + 1}, neuron ${j + 1}`;
      const c = nodeCanvas(net.layers[l + 1][j], net.size);
      node.appendChild(c);
      col.appendChild(node);
      layer.push(node);
      layerCanvases.push(c);
    }
    nodes.push(layer);
    canvases.push(layerCanvases);
  });
  const out = column("Output");
  const outs = [], outCanvases = [];
  net.layers[net.layers.length - 1].forEach((b64, j) => {
    const node = document.createElement("div");
    node.className = "node";
    node.title = f.task === "classification" ? `logit of class ${f.classes[j]}` : "predicted value";
    const c = nodeCanvas(b64, net.size);
    node.appendChild(c);
    out.appendChild(node);
    outs.push(node);
    outCanvases.push(c);
  });
  nodes.push(outs);
  canvases.push(outCanvases);
  diagram = {key: null, canvases, links: []};
  $("layer-count").textContent = `${hidden.length} hidden layer${hidden.length === 1 ? "" : "s"}`;
  requestAnimationFrame(() => { diagram.links = drawLinks(nodes); styleLinks(diagram.links, net.weights); });
}

function column(title, layer) {
  const col = document.createElement("div");
  col.className = "column";
  const t = document.createElement("div");
  t.className = "title";
  t.textContent = title;
  col.appendChild(t);
  if (layer !== undefined) {
    const controls = document.createElement("div");
    controls.className = "neuron-controls";
    for (const [text, delta] of [["\u2212", -1], ["+", 1]]) {
      const b = document.createElement("button");
      b.textContent = text;
      b.title = delta > 0 ? "Add a neuron" : "Remove a neuron";
      b.className = delta > 0 ? "add-neuron" : "remove-neuron";
      b.onclick = () => changeWidth(layer, delta);
      controls.appendChild(b);
    }
    col.insertBefore(controls, t);
    col.insertBefore(activationSelect(layer), t.nextSibling);
  }
  $("columns").appendChild(col);
  return col;
}

function drawLinks(nodes) {
  // one path per weight, links[l][i][j], placed once; styleLinks colours them per frame
  const svg = $("links"), box = $("diagram").getBoundingClientRect();
  svg.setAttribute("width", box.width);
  svg.setAttribute("height", box.height);
  svg.innerHTML = "";
  const ns = "http://www.w3.org/2000/svg", links = [];
  for (let l = 0; l + 1 < nodes.length; l++) {
    const layer = [];
    const right = nodes[l + 1].map((b) => b.getBoundingClientRect());
    nodes[l].forEach((a) => {
      const ra = a.getBoundingClientRect(), row = [];
      right.forEach((rb) => {
        const x1 = ra.right - box.left, y1 = ra.top + ra.height / 2 - box.top;
        const x2 = rb.left - box.left, y2 = rb.top + rb.height / 2 - box.top;
        const path = document.createElementNS(ns, "path");
        path.setAttribute("d", `M${x1},${y1} C${(x1 + x2) / 2},${y1} ${(x1 + x2) / 2},${y2} ${x2},${y2}`);
        path.setAttribute("fill", "none");
        path.setAttribute("opacity", "0.75");
        svg.appendChild(path);
        row.push(path);
      });
      layer.push(row);
    });
    links.push(layer);
  }
  return links;
}

function styleLinks(links, weights) {
  links.forEach((layer, l) => {
    const W = weights[l];
    let top = 1e-9;
    for (const row of W) for (const w of row) top = Math.max(top, Math.abs(w));
    layer.forEach((row, i) => row.forEach((path, j) => {
      const w = W[i][j];
      path.setAttribute("stroke", w >= 0 ? "#0877bd" : "#f59322");
      path.setAttribute("stroke-width", (0.4 + 5 * Math.abs(w) / top).toFixed(2));
    }));
  });
}

// one activation per hidden layer: the header's select sets them all, these one each
function activationsOf() {
  const names = frame.settings.activation.split(",");
  return names.length === 1 ? hiddenOf().map(() => names[0]) : names;
}

function activationSelect(layer) {
  const select = document.createElement("select");
  select.className = "layer-activation";
  select.title = `Activation of hidden layer ${layer + 1}`;
  for (const o of $("activation").options) if (!o.value.includes(",")) select.add(new Option(o.value, o.value));
  select.value = activationsOf()[layer];
  select.onchange = () => {
    const names = activationsOf();
    names[layer] = select.value;
    configure({activation: names.join(",")});
  };
  return select;
}

function hiddenOf() {
  const h = frame.settings.hidden;
  return h === "" ? [] : h.split(",").map(Number);
}

function changeWidth(layer, delta) {
  const h = hiddenOf();
  h[layer] = Math.max(1, Math.min(MAX_WIDTH, h[layer] + delta));
  configure({hidden: h.join(",")});
}

function toggleFeature(name) {
  const chosen = frame.settings.features.split(",");
  const next = chosen.includes(name) ? chosen.filter((x) => x !== name) : chosen.concat([name]);
  configure({features: next.join(",")});
}

// --- controls ----------------------------------------------------------------------------

function buildDatasets(task) {
  const box = $("datasets");
  box.innerHTML = "";
  for (const name of task === "regression" ? REGRESSION : CLASSIFICATION) {
    const b = document.createElement("button");
    b.id = `dataset-${name}`;
    b.dataset.dataset = name;
    b.title = name;
    const c = document.createElement("canvas");
    c.width = c.height = 40;
    const fn = THUMBS[name];
    paint(c, 40, (i) => diverging((fn((i % 40) / 20 - 1, 1 - Math.floor(i / 40) / 20) + 1) / 2));
    b.appendChild(c);
    b.appendChild(document.createTextNode(name));
    b.onclick = () => configure({dataset: name});
    box.appendChild(b);
  }
}

function syncControls(s) {
  for (const o of [...$("activation").options]) if (o.value.includes(",") && o.value !== s.activation) o.remove();
  for (const el of document.querySelectorAll("[data-setting]")) {
    const value = String(s[el.dataset.setting]);
    if (el.tagName === "SELECT" && ![...el.options].some((o) => o.value === value)) {
      el.add(new Option(value.includes(",") ? "per layer" : value, value));
    }
    el.value = value;
    const shown = $(`${el.id}-value`);
    if (shown) shown.textContent = el.id === "train_ratio" ? `${Math.round(100 * s.train_ratio)}%` : value;
  }
  const task = REGRESSION.includes(s.dataset) ? "regression" : CLASSIFICATION.includes(s.dataset) ? "classification" : null;
  if (task && $("datasets").dataset.task !== task) {
    $("datasets").dataset.task = task;
    buildDatasets(task);
  }
  $("problem-classification").classList.toggle("on", task === "classification");
  $("problem-regression").classList.toggle("on", task === "regression");
  for (const b of document.querySelectorAll(".datasets button")) b.classList.toggle("on", b.dataset.dataset === s.dataset);
}

function syncDrawLabels(f) {
  const select = $("draw-label");
  const options = f.task === "classification" ? f.classes.map((c, k) => [k, `class ${c}`]) : [[1, "value +1"], [0, "value 0"], [-1, "value \u22121"]];
  const key = JSON.stringify(options);
  if (select.dataset.key === key) return;
  select.dataset.key = key;
  select.innerHTML = "";
  for (const [v, text] of options) select.add(new Option(text, v));
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

function render(f) {
  frame = f;
  if (member !== null && (f.member === null || member >= f.population)) member = f.member;
  $("epoch").textContent = String(f.epoch).padStart(3, "0");
  syncControls(f.settings);
  syncDrawLabels(f);
  drawBoundary(f);
  drawStats(f);
  drawMembers(f);
  drawCurves(f);
  drawNetwork(f);
  setText("equations", f.equations.join("\n"));
  setText("snippet", f.snippet);
  $("export").href = "api/export" + (member === null ? "" : `?member=${member}`);
  const hash = "#" + new URLSearchParams(f.settings).toString();
  if (location.hash !== hash) history.replaceState(null, "", hash);
}

function wire() {
  for (const el of document.querySelectorAll("[data-setting]")) {
    const name = el.dataset.setting;
    el.addEventListener("change", () => configure({[name]: el.value}));
    if (el.type === "range") {
      el.addEventListener("input", () => {
        $(`${el.id}-value`).textContent = name === "train_ratio" ? `${Math.round(100 * el.value)}%` : el.value;
      });
    }
  }
  $("play").onclick = () => setPlaying(!playing);
  $("step").onclick = () => { setPlaying(false); act("POST", "api/step", {epochs: 1, member}); };
  $("reset").onclick = () => act("POST", "api/reset", {});
  $("add-layer").onclick = () => {
    const h = hiddenOf();
    if (h.length < MAX_LAYERS) configure({hidden: h.concat([h.length ? h[h.length - 1] : 4]).join(",")});
  };
  $("remove-layer").onclick = () => configure({hidden: hiddenOf().slice(0, -1).join(",")});
  $("problem-classification").onclick = () => configure({dataset: "circle"});
  $("problem-regression").onclick = () => configure({dataset: "plane"});
  $("view-boundary").onclick = () => setView("boundary");
  $("view-disagreement").onclick = () => setView("disagreement");
  $("show-test").onchange = () => drawBoundary(frame);
  $("discretize").onchange = () => drawBoundary(frame);
  $("draw").onclick = () => {
    drawing = !drawing;
    $("draw").classList.toggle("on", drawing);
    $("boundary").classList.toggle("drawing", drawing);
  };
  $("boundary").onclick = (event) => {
    if (!drawing || !frame) return;
    const r = event.target.getBoundingClientRect(), e = frame.extent;
    const x1 = e[0] + ((event.clientX - r.left) / r.width) * (e[1] - e[0]);
    const x2 = e[3] - ((event.clientY - r.top) / r.height) * (e[3] - e[2]);
    act("POST", "api/point", {x1, x2, label: Number($("draw-label").value), member});
  };
  $("csv-file").onchange = async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const text = await file.text();
    await act("POST", `api/upload?name=${encodeURIComponent(file.name)}`, text, true);
    event.target.value = "";
  };
  window.addEventListener("resize", () => frame && buildNetwork(frame));
  document.addEventListener("keydown", (event) => {  // space: play/pause, "s": step, "r": reset
    if (["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName)) return;
    if (event.key === " ") { event.preventDefault(); setPlaying(!playing); }
    else if (event.key === "s") $("step").click();
    else if (event.key === "r") $("reset").click();
  });
}

function setView(v) {
  view = v;
  $("view-boundary").classList.toggle("on", v === "boundary");
  $("view-disagreement").classList.toggle("on", v === "disagreement");
  drawBoundary(frame);
}

async function start() {
  wire();
  const hash = new URLSearchParams(location.hash.slice(1));
  const settings = Object.fromEntries(hash.entries());
  // a link: its settings over the defaults, whatever the server ran before
  if (!Object.keys(settings).length || !(await configure(Object.assign(settings, {defaults: true})))) {
    await refresh();
  }
}

start();
