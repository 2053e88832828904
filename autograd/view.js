// The pan and zoom view of autograd.viz.view_html. Python writes this function
// into the page, followed by the view's id: ("ag-1a2b3c").
//
// The picture starts at its natural size (the size Graphviz drew its text at)
// and the view scrolls to move around it. Zoom: the buttons, Ctrl + mouse
// wheel (a touchpad's pinch sends the same), or two fingers on a touch
// screen. Other scripts (the walkthrough) call view.agShow(elements) to bring
// some of the picture into view.
(function (viewId) {
  "use strict";
  const view = document.getElementById(viewId) || document.currentScript.closest(".ag-view");
  const port = view.querySelector(".ag-port");
  const svg = port.querySelector("svg");
  const level = view.querySelector(".ag-zoom-level");
  // Graphviz gives the size in points (1 pt = 4/3 CSS px).
  const px = (length) => parseFloat(length) * (String(length).endsWith("pt") ? 4 / 3 : 1);
  const width = px(svg.getAttribute("width"));
  const height = px(svg.getAttribute("height"));
  const MIN = 0.01, MAX = 8;
  let zoom = 1;

  // Zoom to z, keeping the point (x, y) of the port (CSS px from its top left corner) where it is.
  function setZoom(z, x, y) {
    z = Math.min(MAX, Math.max(MIN, z));
    if (x === undefined) { x = port.clientWidth / 2; y = port.clientHeight / 2; }
    const px0 = (port.scrollLeft + x) / zoom, py0 = (port.scrollTop + y) / zoom;
    zoom = z;
    svg.style.width = width * z + "px";
    svg.style.height = height * z + "px";
    port.scrollLeft = px0 * z - x;
    port.scrollTop = py0 * z - y;
    level.textContent = Math.round(z * 100) + "%";
    view.dataset.zoom = String(z);
  }
  // The zoom that shows the whole picture (never larger than natural size).
  function fitZoom() {
    return Math.min(1, port.clientWidth / width, Math.max(port.clientHeight, 200) / height);
  }
  const actions = {
    in: () => setZoom(zoom * 1.25), out: () => setZoom(zoom / 1.25),
    one: () => setZoom(1), fit: () => setZoom(fitZoom()),
  };
  for (const button of view.querySelectorAll(".ag-zoom button")) {
    button.addEventListener("click", () => actions[button.dataset.zoom]());
  }
  port.addEventListener("wheel", (event) => {
    if (!event.ctrlKey && !event.metaKey) return;  // a plain wheel scrolls
    event.preventDefault();
    const r = port.getBoundingClientRect();
    setZoom(zoom * Math.exp(-event.deltaY / 300), event.clientX - r.left, event.clientY - r.top);
  }, { passive: false });
  let pinch = null;
  const spread = (t) => Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY);
  port.addEventListener("touchstart", (event) => {
    if (event.touches.length === 2) pinch = { spread: spread(event.touches), zoom: zoom };
  }, { passive: true });
  port.addEventListener("touchmove", (event) => {
    if (pinch === null || event.touches.length !== 2) return;
    event.preventDefault();
    setZoom(pinch.zoom * spread(event.touches) / pinch.spread);
  }, { passive: false });
  port.addEventListener("touchend", (event) => { if (event.touches.length < 2) pinch = null; });

  // Scroll the port (and only the port) so that the elements are in view; nothing moves if they are.
  view.agShow = function (elements) {
    if (elements.length === 0) return;
    const p = port.getBoundingClientRect();
    let left = Infinity, top = Infinity, right = -Infinity, bottom = -Infinity;
    for (const e of elements) {
      const r = e.getBoundingClientRect();
      left = Math.min(left, r.left); top = Math.min(top, r.top);
      right = Math.max(right, r.right); bottom = Math.max(bottom, r.bottom);
    }
    const margin = 12;
    const inside = left >= p.left + margin && right <= p.left + port.clientWidth - margin &&
                   top >= p.top + margin && bottom <= p.top + port.clientHeight - margin;
    if (inside) return;
    // Centre the elements; if they are wider (taller) than the port, show their start.
    const dx = right - left <= port.clientWidth ? (left + right) / 2 - (p.left + port.clientWidth / 2)
                                                : left - p.left - margin;
    const dy = bottom - top <= port.clientHeight ? (top + bottom) / 2 - (p.top + port.clientHeight / 2)
                                                 : top - p.top - margin;
    port.scrollLeft += dx;
    port.scrollTop += dy;
  };
  view.agZoom = setZoom;
  setZoom(1);
  view.classList.add("ag-scripted");
})
