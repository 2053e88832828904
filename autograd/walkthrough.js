// The step-by-step page of autograd.walkthrough. Python writes this function
// into the page, followed by the page's id: ("wt-1a2b3c").
//
// The page holds its steps as JSON. Each step sets a few fields of a few
// nodes (a value in the forward pass, a gradient in the backward pass). The
// state at step k is recomputed from scratch every time: all nodes blank,
// then steps 0..k applied in order. So stepping back undoes exactly.
(function (pageId) {
  "use strict";
  // By its id; or, should a notebook run the script before the page is in the document,
  // as the page around this script.
  const page = document.getElementById(pageId) || document.currentScript.closest(".wt");
  const data = JSON.parse(page.querySelector(".wt-data").textContent);
  const slider = page.querySelector(".wt-slider");
  const last = data.steps.length - 1;
  const BLANK = { value: "", boxValue: "data", grad: "", boxGrad: "grad", contributions: "",
                  fill: "#ffffff", ink: "black" };

  // Graphviz writes each node's and edge's name in the <title> of its SVG group.
  const boxes = {};
  for (const g of page.querySelectorAll(".wt-picture g.node")) {
    boxes[g.querySelector("title").textContent] = g;
  }
  const edges = {};  // "n0->op2#1": the second edge from n0 to op2 (x * x has two)
  for (const g of page.querySelectorAll(".wt-picture g.edge")) {
    const title = g.querySelector("title").textContent;
    let k = 0;
    while (edges[title + "#" + k]) k += 1;
    edges[title + "#" + k] = g;
  }
  const rows = {};
  for (const row of page.querySelectorAll("tr[data-node]")) rows[row.dataset.node] = row;

  function stateAt(k) {
    const state = data.nodes.map(() => Object.assign({}, BLANK));
    for (let s = 0; s <= k; s += 1) {
      for (const [i, change] of data.steps[s].set) Object.assign(state[i], change);
    }
    return state;
  }

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  let current = 0;
  function show(k) {
    current = Math.max(0, Math.min(last, k));
    const step = data.steps[current];
    const state = stateAt(current);
    data.nodes.forEach((node, i) => {
      const s = state[i];
      const box = boxes[node.id];
      const texts = box.querySelectorAll("text");  // ... name, "data x", "grad g"
      setText(texts[texts.length - 2], s.boxValue);
      setText(texts[texts.length - 1], s.boxGrad);
      box.querySelector("polygon, path").setAttribute("fill", s.fill);
      for (const t of texts) t.setAttribute("fill", s.ink);
      const pending = s.value === "";
      box.classList.toggle("wt-pending", pending);
      if (node.op) boxes[node.op].classList.toggle("wt-pending", pending);
      const cells = rows[node.id].cells;
      setText(cells[2], s.value);
      setText(cells[3], s.grad);
      setText(cells[4], s.contributions);
    });
    for (const g of page.querySelectorAll(".wt-on")) g.classList.remove("wt-on");
    for (const name of step.focus) {
      boxes[name].classList.add("wt-on");
      if (rows[name]) rows[name].classList.add("wt-on");
    }
    for (const key of step.edges) edges[key].classList.add("wt-on");
    page.dataset.phase = step.phase;
    setText(page.querySelector(".wt-title"), step.title);
    setText(page.querySelector(".wt-lines"), step.lines.join("\n"));
    setText(page.querySelector(".wt-counter"), "step " + current + " of " + last);
    slider.value = String(current);
  }

  // Play: one step every 0.8 s until the end; any other control pauses.
  const playButton = page.querySelector('[data-go="play"]');
  let timer = null;
  function pause() {
    if (timer !== null) clearInterval(timer);
    timer = null;
    playButton.textContent = "▶ play";
  }
  function play() {
    if (current === last) show(0);
    playButton.textContent = "❚❚ pause";
    timer = setInterval(() => (current < last ? show(current + 1) : pause()), 800);
  }

  const moves = {
    first: () => 0, previous: () => current - 1, next: () => current + 1, last: () => last,
  };
  for (const button of page.querySelectorAll(".wt-controls button")) {
    button.addEventListener("click", () => {
      const go = button.dataset.go;
      if (go === "play") {
        if (timer === null) play(); else pause();
        return;
      }
      pause();
      show(moves[go]());
    });
  }
  slider.addEventListener("input", () => { pause(); show(Number(slider.value)); });

  const keys = { ArrowRight: "next", ArrowDown: "next", ArrowLeft: "previous", ArrowUp: "previous",
                 Home: "first", End: "last" };
  page.addEventListener("keydown", (event) => {
    if (event.target === slider || !(event.key in keys)) return;  // the slider moves itself
    event.preventDefault();
    pause();
    show(moves[keys[event.key]]());
  });
  page.addEventListener("click", (event) => {
    if (event.target === page || page.querySelector(".wt-picture").contains(event.target)) page.focus();
  });

  show(0);
  if (page.dataset.standalone === "1") page.focus();
})
