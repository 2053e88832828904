// The step-by-step page of autograd.walkthrough. Python writes this function
// into the page, followed by the page's id: ("wt-1a2b3c").
//
// The page holds its steps as JSON. Each step sets a few fields of a few
// nodes (a value in the forward pass, a gradient in the backward pass) and,
// going backward, writes a contribution on an edge. Going forward the script
// applies the steps in order and keeps what each one overwrote; going back it
// puts that back. So stepping back undoes exactly, and each move costs only
// the steps it crosses (a page of 20,000 steps moves as fast as one of 20).
//
// The page may hold two pictures of the graph, left to right and top to
// bottom (CSS shows the one that suits the screen): every step is drawn in both.
(function (pageId) {
  "use strict";
  // By its id; or, should a notebook run the script before the page is in the document,
  // as the page around this script.
  const page = document.getElementById(pageId) || document.currentScript.closest(".wt");
  const data = JSON.parse(page.querySelector(".wt-data").textContent);
  const slider = page.querySelector(".wt-slider");
  const pictures = [...page.querySelectorAll(".wt-picture")];
  const views = pictures.map((picture) => picture.querySelector(".ag-view"));
  const last = data.steps.length - 1;
  const SVG = pictures[0].querySelector("svg").namespaceURI;  // (from the picture: the page names no URL)
  const BLANK = { value: "", boxValue: "data", grad: "", boxGrad: "grad", contributions: "",
                  fill: "#ffffff", ink: "black" };

  // Graphviz writes each node's and edge's name in the <title> of its SVG group: each name
  // maps to its groups, one in each picture.
  const boxes = {}, edges = {};  // edges: "n0->op2#1", the second edge from n0 to op2 (x * x has two)
  const add = (map, key, g) => { (map[key] = map[key] || []).push(g); };
  pictures.forEach((picture) => {
    for (const g of picture.querySelectorAll("g.node")) add(boxes, g.querySelector("title").textContent, g);
    const seen = {};
    for (const g of picture.querySelectorAll("g.edge")) {
      const title = g.querySelector("title").textContent;
      seen[title] = (seen[title] || 0) + 1;
      add(edges, title + "#" + (seen[title] - 1), g);
    }
  });
  // A neuron or layer drawn as one box has a last field where each step writes about its node inside.
  const fielded = new Set(data.fielded);
  const rows = [...page.querySelectorAll("tr[data-node]")];

  // The nodes each box shows, and the steps that compute a node or send it a gradient.
  const inBox = {};
  data.nodes.forEach((node, i) => { (inBox[node.id] = inBox[node.id] || []).push(i); });
  const forwardStep = [], receives = data.nodes.map(() => []);
  data.steps.forEach((step, s) => {
    for (const [i] of step.set) {
      if (step.phase === "forward") forwardStep[i] = s; else receives[i].push(s);
    }
  });

  // The table in the order of the picture on screen (else the first): along the arrows, then across.
  const shown = () => pictures.map((p, n) => n).filter((n) => pictures[n].offsetParent !== null);
  const onScreen = shown().length ? shown()[0] : 0;
  const across = (data.rankdirs[onScreen] === "TB" || data.rankdirs[onScreen] === "BT");
  const place = {};
  function where(id) {
    if (!(id in place)) {
      const b = boxes[id] ? boxes[id][onScreen].getBBox() : { x: 0, y: 0 };
      place[id] = across ? [b.y, b.x] : [b.x, b.y];
    }
    return place[id];
  }
  const sorted = rows.map((row, i) => [where(data.nodes[i].id), i, row]);
  sorted.sort((a, b) => a[0][0] - b[0][0] || a[0][1] - b[0][1] || a[1] - b[1]);
  const body = rows.length ? rows[0].parentNode : null;
  for (const [, , row] of sorted) body.appendChild(row);

  // ---- the state: every node's fields and every edge's written contribution ----
  const state = data.nodes.map(() => Object.assign({}, BLANK));
  const labels = {};  // edge key -> the contribution written on it
  const boxLines = {};  // a box drawn for a whole module -> the line written in it
  const undo = [];
  const dirtyNodes = new Set(), dirtyLabels = new Set(), dirtyBoxes = new Set();
  let current = -1;

  function apply(s) {
    const step = data.steps[s];
    const before = { set: [], label: null, box: [] };
    for (const [i, change] of step.set) {
      const old = {};
      for (const key in change) {
        const field = key === "contributionsMore" ? "contributions" : key;
        old[field] = state[i][field];
        // a contribution is written after the ones before it; every other field is replaced
        state[i][field] = key === "contributionsMore" ? state[i][field] + change[key] : change[key];
      }
      before.set.push([i, old]);
      dirtyNodes.add(i);
    }
    if (step.contribution !== undefined && step.edges.length) {
      const key = step.edges[0];
      before.label = [key, labels[key]];
      labels[key] = step.contribution;
      dirtyLabels.add(key);
    }
    for (const [id, line] of step.box || []) {
      before.box.push([id, boxLines[id]]);
      boxLines[id] = line;
      dirtyBoxes.add(id);
    }
    undo[s] = before;
  }
  function revert(s) {
    const before = undo[s];
    for (const [i, old] of before.set) { Object.assign(state[i], old); dirtyNodes.add(i); }
    if (before.label) {
      const [key, old] = before.label;
      if (old === undefined) delete labels[key]; else labels[key] = old;
      dirtyLabels.add(key);
    }
    for (let n = before.box.length - 1; n >= 0; n -= 1) {
      const [id, old] = before.box[n];
      boxLines[id] = old;
      dirtyBoxes.add(id);
    }
  }

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function drawNode(i) {
    const node = data.nodes[i], s = state[i];
    const cells = rows[i].cells;
    setText(cells[2], s.value);
    setText(cells[3], s.grad);
    setText(cells[4], s.contributions);
    if (!node.own) return;
    const end = fielded.has(node.id) ? 1 : 0;  // (a module's box ends with the field of its step line)
    for (const box of boxes[node.id]) {
      const texts = box.querySelectorAll("text");  // ... name, "data x", "grad g"
      setText(texts[texts.length - 2 - end], s.boxValue);
      setText(texts[texts.length - 1 - end], s.boxGrad);
      box.querySelector("polygon, path").setAttribute("fill", s.fill);
      for (const t of texts) t.setAttribute("fill", s.ink);
      box.classList.toggle("wt-pending", s.value === "");
    }
    if (node.op) for (const g of boxes[node.op]) g.classList.toggle("wt-pending", s.value === "");
  }

  function drawBoxLine(id) {
    for (const box of boxes[id] || []) {
      const texts = box.querySelectorAll("text");
      const text = texts[texts.length - 1];
      setText(text, boxLines[id] || "");
      text.classList.add("wt-box-line");
    }
  }

  // A contribution, written on the middle of its edge (in the picture's own coordinates).
  const written = {};  // edge key -> its text in each picture
  function drawLabel(key) {
    const text = labels[key];
    if (text === undefined) {
      if (written[key]) { for (const t of written[key]) t.remove(); delete written[key]; }
      return;
    }
    if (!written[key]) {
      written[key] = edges[key].map((edge, n) => {  // (edges[key][n] is in pictures[n])
        const path = edge.querySelector("path");
        const t = document.createElementNS(SVG, "text");
        // beside the edge, not on it, so that the arrow stays visible: above the middle of an edge
        // across the picture (left to right: an edge is short, and a text beside its end would run
        // into the next box), clear of the arrowhead; to the right of one going down, nearer the
        // input, moved away from the edge square to its direction there (a slanting edge too)
        const sideways = data.rankdirs[n] === "LR" || data.rankdirs[n] === "RL";
        const length = path.getTotalLength();
        const at = length * (sideways ? 0.5 : 0.45);
        const middle = path.getPointAtLength(at);
        if (sideways) {
          t.setAttribute("x", middle.x);
          t.setAttribute("y", middle.y - 10);
          t.setAttribute("text-anchor", "middle");
        } else {
          const a = path.getPointAtLength(Math.max(0, at - 2)), b = path.getPointAtLength(Math.min(length, at + 2));
          let nx = b.y - a.y, ny = a.x - b.x;  // square to the edge ...
          const norm = Math.hypot(nx, ny) || 1;
          nx /= norm; ny /= norm;
          if (nx < 0) { nx = -nx; ny = -ny; }  // ... on its right, where the text runs
          t.setAttribute("x", middle.x + 9 * nx);
          t.setAttribute("y", middle.y + 9 * ny + 4);  // (+4: the text's middle, not its baseline)
        }
        t.setAttribute("class", "wt-contribution");
        edge.appendChild(t);
        return t;
      });
    }
    for (const t of written[key]) setText(t, text);
  }

  // The gradient's way back: along the step's edges, against their arrows.
  function reversed(d) {
    const points = d.replace(/[MC]/g, " ").trim().split(/\s+/);
    points.reverse();
    return "M" + points[0] + "C" + points.slice(1).join(" ");
  }
  const markers = pictures.map((picture, n) => {
    const marker = document.createElementNS(SVG, "marker");
    marker.setAttribute("id", pageId + "-back" + n);
    for (const [k, v] of [["viewBox", "0 0 10 10"], ["refX", "8"], ["refY", "5"], ["markerWidth", "5"],
                          ["markerHeight", "5"], ["orient", "auto"]]) marker.setAttribute(k, v);
    const head = document.createElementNS(SVG, "path");
    head.setAttribute("d", "M0,0 L10,5 L0,10 z");
    head.setAttribute("class", "wt-flow-head");
    marker.appendChild(head);
    const defs = document.createElementNS(SVG, "defs");
    defs.appendChild(marker);
    const svg = picture.querySelector("svg");
    svg.insertBefore(defs, svg.firstChild);
    return "url(#" + marker.id + ")";
  });

  let lit = [];
  function light(elements, name) {  // a box's or an edge's groups (one per picture), or texts
    for (const element of elements || []) {
      element.classList.add(name);
      lit.push([element, name]);
    }
  }
  // Bring the step's boxes into view, in the pictures on screen (a phone turned sideways may switch).
  function follow() {
    const step = data.steps[current];
    for (const n of shown()) {
      if (views[n] && views[n].agShow) views[n].agShow(step.focus.map((name) => (boxes[name] || [])[n]).filter(Boolean));
    }
  }

  function show(k) {
    k = Math.max(0, Math.min(last, k));
    while (current < k) { current += 1; apply(current); }
    while (current > k) { revert(current); current -= 1; }
    for (const i of dirtyNodes) drawNode(i);
    for (const key of dirtyLabels) drawLabel(key);
    for (const id of dirtyBoxes) drawBoxLine(id);
    dirtyNodes.clear(); dirtyLabels.clear(); dirtyBoxes.clear();
    const step = data.steps[current];

    for (const [element, name] of lit) element.classList.remove(name);
    lit = [];
    for (const old of page.querySelectorAll(".wt-flow")) old.remove();
    for (const name of step.focus) light(boxes[name], "wt-on");
    for (const key of step.edges) light(edges[key], "wt-on");
    if (step.up !== undefined) {
      light(boxes[step.up], "wt-up");
      light(boxes[step.to], "wt-to");
      if (step.edges.length) light(written[step.edges[0]], "wt-current");
      step.edges.forEach((key, n) => {
        edges[key].forEach((edge, p) => {
          const flow = document.createElementNS(SVG, "path");
          flow.setAttribute("d", reversed(edge.querySelector("path").getAttribute("d")));
          flow.setAttribute("class", "wt-flow");
          if (n === 0) flow.setAttribute("marker-end", markers[p]);
          edge.appendChild(flow);
        });
      });
    }
    for (const [id] of step.box || []) {
      light((boxes[id] || []).map((g) => g.querySelector("text.wt-box-line")), "wt-current");
    }
    for (const [i] of step.set) light([rows[i]], "wt-on");

    page.dataset.phase = step.phase;
    const counter = "step " + current + " of " + last;
    setText(page.querySelector(".wt-title"), counter + ": " + step.title);
    setText(page.querySelector(".wt-lines"), step.lines.join("\n"));
    setText(page.querySelector(".wt-counter"), counter);
    slider.value = String(current);
    slider.setAttribute("aria-valuetext", counter + ": " + step.title);

    // Bring the step into view: its boxes in the picture, its row in the table (and nothing else scrolls).
    follow();
    if (step.set.length) {
      const row = rows[step.set[0][0]], table = page.querySelector(".wt-table");
      const top = row.offsetTop - table.querySelector("thead").offsetHeight;
      if (top < table.scrollTop || row.offsetTop + row.offsetHeight > table.scrollTop + table.clientHeight) {
        table.scrollTop = Math.max(0, top - table.clientHeight / 3);
      }
    }
  }

  // Play: one step every 0.8 s until the end; any other control pauses.
  const playButton = page.querySelector('[data-go="play"]');
  let timer = null;
  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "▶ play";
    playButton.setAttribute("aria-label", "Play");
  }
  function play() {
    if (current === last) show(0);
    playButton.textContent = "❚❚ pause";
    playButton.setAttribute("aria-label", "Pause");
    timer = setInterval(() => (current < last ? show(current + 1) : pause()), 800);
  }
  function toggle() { if (timer === null) play(); else pause(); }

  const moves = {
    first: () => 0, previous: () => current - 1, next: () => current + 1, last: () => last,
  };
  for (const button of page.querySelectorAll(".wt-controls button")) {
    button.addEventListener("click", () => {
      const go = button.dataset.go;
      if (go === "play") { toggle(); return; }
      pause();
      show(moves[go]());
    });
  }
  slider.addEventListener("input", () => { pause(); show(Number(slider.value)); });

  // Clicking a node (in the picture or the table) jumps to its step: in the forward pass the
  // step that computes it, in the backward pass the next step that sends it a gradient.
  function jumpTo(nodes) {
    pause();
    if (data.steps[current].phase === "backward") {
      const later = nodes.flatMap((i) => receives[i]).sort((a, b) => a - b);
      if (later.length) { show(later.find((s) => s > current) ?? later[0]); return; }
    }
    show(Math.min(...nodes.map((i) => forwardStep[i])));
  }
  for (const [id, groups] of Object.entries(boxes)) {
    const nodes = inBox[id] || (id.startsWith("op") ? [Number(id.slice(2))] : []);
    if (!nodes.length) continue;
    for (const g of groups) {
      g.classList.add("wt-clickable");
      g.addEventListener("click", () => jumpTo(nodes));
    }
  }
  rows.forEach((row, i) => row.addEventListener("click", () => jumpTo([i])));

  const keys = { ArrowRight: "next", ArrowDown: "next", ArrowLeft: "previous", ArrowUp: "previous",
                 Home: "first", End: "last" };
  function onKey(event) {
    const target = event.target;
    if (target === slider || (target.closest && target.closest("input, textarea, select"))) return;
    if (event.key === " " && !(target.closest && target.closest("button"))) {
      event.preventDefault();
      toggle();
      return;
    }
    if (!(event.key in keys) || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    pause();
    show(moves[keys[event.key]]());
  }
  // A saved page is the whole document: its keys work wherever the focus is. In a notebook the
  // keys belong to the notebook, so the page listens only once it has the focus (a click on it).
  if (page.dataset.standalone === "1") document.addEventListener("keydown", onKey);
  else page.addEventListener("keydown", onKey);
  page.addEventListener("click", (event) => {
    if (!event.target.closest("button, input, .wt-table")) page.focus({ preventScroll: true });
  });

  // The page grows or shrinks past the width that switches pictures (the window, or the notebook's
  // cell: the style sheet asks the page's own width): show the step in the other one.
  if (pictures.length > 1 && window.ResizeObserver) {
    let wasNarrow = null;
    new ResizeObserver(() => {
      const narrow = page.clientWidth <= 600;
      if (narrow !== wasNarrow) {
        wasNarrow = narrow;
        requestAnimationFrame(follow);
      }
    }).observe(page);
  }
  page.classList.add("wt-scripted");
  data.nodes.forEach((node, i) => dirtyNodes.add(i));  // the page was written at its last step
  data.fielded.forEach((id) => dirtyBoxes.add(id));
  show(0);
})
