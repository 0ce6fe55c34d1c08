// Inspector front end: side by side / swipe / blink / difference, with one zoom and pan
// shared by every image. Previews come from widget state; full-size bytes and heatmaps
// arrive in custom messages (binary buffers) and live only in this page, as blob URLs.
//
// Zoom is kept as ``view.s``, the scale over "fit" (the CSS transform of an image laid out at
// the panel's width), and shown in the image's own pixels: 100 % is one image pixel per CSS
// pixel, of the widest image in view (of the heatmap in Difference). CSS pixels, not device
// pixels: that is how the browser shows an <img> at its natural size, how browsers and most
// image viewers count zoom, and it does not change with the screen or the browser's own zoom.
// On a HiDPI screen (devicePixelRatio 2) one image pixel at 100 % covers 2x2 device pixels; the
// label's tooltip says so. Device pixels matter only for when to fetch the full-size image.

const MAX_ZOOM = 40; // over fit
const WHEEL_STEP = 1.0015;

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function render({ model, el }) {
  const root = h("div", "f2w-insp");
  el.appendChild(root);
  const view = { s: 1, x: 0, y: 0 };
  const full = new Map(); // image index -> blob URL of the full-size image
  const asked = new Set();
  let diffUrl = null;
  let blinkShown = 0;
  let blinkTimer = null;
  let zoomReport = null;
  const blobs = [];

  // ---- skeleton --------------------------------------------------------------------
  const bar = h("div", "f2w-insp-bar");
  const title = h("span", "f2w-insp-title");
  const modes = h("div", "f2w-insp-modes");
  const modeNames = { side: "Side by side", swipe: "Swipe", blink: "Blink", diff: "Difference" };
  const modeButtons = {};
  for (const [key, label] of Object.entries(modeNames)) {
    const b = h("button", "f2w-insp-btn", label);
    b.dataset.mode = key;
    b.addEventListener("click", () => { model.set("mode", key); model.save_changes(); });
    modes.appendChild(b);
    modeButtons[key] = b;
  }
  const pairBox = h("span", "f2w-insp-pair");
  const selA = h("select", "f2w-insp-sel");
  const selB = h("select", "f2w-insp-sel");
  pairBox.append("A ", selA, " B ", selB);
  const onPair = () => {
    const a = Number(selA.value), b = Number(selB.value);
    if (a !== b) { model.set("pair", [a, b]); model.save_changes(); }
  };
  selA.addEventListener("change", onPair);
  selB.addEventListener("change", onPair);
  const zoomOut = h("button", "f2w-insp-btn f2w-insp-zoomout", "−");
  const zoomIn = h("button", "f2w-insp-btn f2w-insp-zoomin", "+");
  const fit = h("button", "f2w-insp-btn f2w-insp-fit", "Fit");
  const oneToOne = h("button", "f2w-insp-btn f2w-insp-1to1", "1:1");
  const zoomText = h("span", "f2w-insp-zoomtext", "–");
  const blinkBtn = h("button", "f2w-insp-btn f2w-insp-blinkbtn", "Flip");
  const autoBlink = h("button", "f2w-insp-btn f2w-insp-autoblink", "Auto");
  const fullBtn = h("button", "f2w-insp-btn f2w-insp-fullscreen", "Full screen");
  zoomOut.title = "zoom out"; zoomIn.title = "zoom in (or use the mouse wheel)";
  fit.title = "fit the whole image (0)";
  oneToOne.title = "100 %: one image pixel per CSS pixel (1)";
  blinkBtn.title = "show the other image (space)"; autoBlink.title = "flip every 0.7 s";
  const tools = h("div", "f2w-insp-tools");
  tools.append(pairBox, blinkBtn, autoBlink, zoomOut, zoomText, zoomIn, fit, oneToOne, fullBtn);
  bar.append(title, modes, tools);
  const stage = h("div", "f2w-insp-stage");
  const status = h("div", "f2w-insp-status");
  root.append(bar, stage, status);
  root.tabIndex = 0;

  // ---- state helpers ------------------------------------------------------------------
  const images = () => model.get("images") || [];
  const pair = () => {
    const p = model.get("pair") || [0, 1];
    return [p[0] ?? 0, p[1] ?? 1];
  };
  const srcOf = (i) => full.get(i) || (images()[i] || {}).preview || "";
  const aspect = () => {
    const first = images().find((im) => im.width && im.height);
    return first ? first.width / first.height : 1;
  };

  const diffFor = (a, b) => (diffUrl && diffUrl.pair === `${a},${b}` ? diffUrl : null);
  const shown = () => {
    const mode = model.get("mode");
    return mode === "side" ? images().map((_, i) => i) : pair();
  };

  // The width in pixels that 100 % counts: the widest image in view, or in Difference the
  // heatmap (made at the smaller image's size, so that one until the heatmap says).
  function basis() {
    const list = images();
    if (model.get("mode") === "diff") {
      const [a, b] = pair();
      const d = diffFor(a, b);
      if (d && d.width) return d.width;
      const ia = list[a] || {}, ib = list[b] || {};
      const smaller = (ia.width || 0) * (ia.height || 0) <= (ib.width || 0) * (ib.height || 0) ? ia : ib;
      return smaller.width || 0;
    }
    return Math.max(0, ...shown().map((i) => (list[i] || {}).width || 0));
  }

  // CSS pixels per image pixel of the basis image: 1 is 100 %.
  function ratio() {
    const px = basis();
    const { w } = panelSize();
    return px && w > 1 ? (view.s * w) / px : 0;
  }

  const percent = (r) => {
    const p = r * 100;
    return p >= 10 || p === 0 ? `${Math.round(p)}%` : `${p.toFixed(1)}%`;
  };

  function zoomTitle(r) {
    const list = images();
    const { w } = panelSize();
    const each = shown().filter((i) => (list[i] || {}).width).map((i) =>
      `${list[i].label || `image ${i + 1}`}: ${percent((view.s * w) / list[i].width)}`);
    const dpr = window.devicePixelRatio || 1;
    const screen = dpr === 1 ? "" : ` On this screen one CSS pixel is ${dpr} device pixels across.`;
    const heat = model.get("mode") === "diff" ? " (the heatmap's pixels)" : "";
    return `Zoom in image pixels${heat}: 100 % shows one image pixel per CSS pixel.${screen}` +
      (each.length > 1 && model.get("mode") !== "diff" ? `\n${each.join("\n")}` : "");
  }

  function apply() {
    const t = `translate(${view.x}px, ${view.y}px) scale(${view.s})`;
    for (const img of stage.querySelectorAll(".f2w-insp-img")) img.style.transform = t;
    const r = ratio();
    zoomText.textContent = r ? percent(r) : "–";
    zoomText.title = r ? zoomTitle(r) : "";
    oneToOne.classList.toggle("mod-active", r > 0 && Math.abs(r - 1) < 0.005);
    maybeFetchFull();
    clearTimeout(zoomReport);
    zoomReport = setTimeout(() => { model.set("zoom", ratio()); model.save_changes(); }, 250);
  }

  function panelSize() {
    // fractional CSS pixels: clientWidth rounds, and 1:1 must come out at 1:1
    const p = stage.querySelector(".f2w-insp-panel");
    const r = p ? p.getBoundingClientRect() : null;
    return r && r.width ? { w: r.width, h: r.height } : { w: 1, h: 1 };
  }

  // Fit is the least zoom, unless the image is smaller than its panel: then 100 % is.
  function minScale() {
    const px = basis();
    const { w } = panelSize();
    return px ? Math.min(1, px / w) : 1;
  }

  function clamp() {
    const { w, h: ph } = panelSize();
    view.s = Math.min(MAX_ZOOM, Math.max(minScale(), view.s));
    // keep the image covering the panel (no panning past its edges), or centred when smaller
    view.x = view.s <= 1 ? (w - w * view.s) / 2 : Math.min(0, Math.max(w - w * view.s, view.x));
    view.y = view.s <= 1 ? (ph - ph * view.s) / 2 : Math.min(0, Math.max(ph - ph * view.s, view.y));
  }

  function zoomAt(factor, cx, cy) {
    const s0 = view.s;
    const s1 = Math.min(MAX_ZOOM, Math.max(minScale(), s0 * factor));
    view.x = cx - (cx - view.x) * (s1 / s0);
    view.y = cy - (cy - view.y) * (s1 / s0);
    view.s = s1;
    clamp();
    apply();
  }

  const centre = () => { const { w, h: ph } = panelSize(); return [w / 2, ph / 2]; };

  function fitAll() { view.s = 1; view.x = 0; view.y = 0; clamp(); apply(); }

  function actualPixels() {
    const px = basis();
    const { w } = panelSize();
    if (px && w > 1) zoomAt(px / w / view.s, ...centre());
  }

  // The panel changed size (full screen, another mode, a resized window): keep the zoom in
  // image pixels and the point at the centre, so 100 % stays 100 %. Fit stays fit.
  let laidOut = null;
  function relayout() {
    const { w, h: ph } = panelSize();
    if (w <= 1) return;
    const last = laidOut;
    if (last && (last.w !== w || last.h !== ph) && Math.abs(view.s - 1) > 1e-9) {
      const u = (last.w / 2 - view.x) / (last.w * view.s);
      const v = (last.h / 2 - view.y) / (last.h * view.s);
      view.s = (view.s * last.w) / w;
      view.x = w / 2 - u * w * view.s;
      view.y = ph / 2 - v * ph * view.s;
    }
    laidOut = { w, h: ph };
    clamp();
    apply();
  }

  function maybeFetchFull() {
    // Ask for full size once a preview's own pixels would be stretched on screen.
    const { w } = panelSize();
    images().forEach((im, i) => {
      if (!im.width || asked.has(i) || full.has(i)) return;
      const previewWidth = im.preview_width || im.width;
      const shownWidth = w * view.s * (window.devicePixelRatio || 1);
      if (shownWidth > previewWidth * 1.05 && im.width > previewWidth) {
        asked.add(i);
        model.send({ type: "full", index: i });
        status.textContent = "loading full resolution…";
      }
    });
  }

  // ---- panels ----------------------------------------------------------------------
  function makePanel(extraClass, shape) {
    const panel = h("div", "f2w-insp-panel" + (extraClass ? " " + extraClass : ""));
    setShape(panel, shape || aspect());
    return panel;
  }

  function setShape(panel, ratio) {
    panel.style.aspectRatio = String(ratio);
    panel.style.setProperty("--f2w-aspect", String(ratio));
  }

  function makeImg(index) {
    const img = h("img", "f2w-insp-img");
    img.dataset.index = String(index);
    img.draggable = false;
    img.alt = (images()[index] || {}).label || "";
    const src = srcOf(index);
    if (src) img.src = src;
    if (full.has(index)) img.dataset.full = "1";
    return img;
  }

  function caption(index) {
    const im = images()[index] || {};
    const cap = h("div", "f2w-insp-caption");
    const label = h("b", "f2w-insp-label", im.label || "");
    cap.append(label);
    if (im.caption) cap.append(" · " + im.caption);
    return cap;
  }

  function build() {
    stopBlink();
    stage.replaceChildren();
    const mode = model.get("mode");
    const [a, b] = pair();
    for (const [key, btn] of Object.entries(modeButtons)) btn.classList.toggle("mod-active", key === mode);
    title.textContent = model.get("title") || "";
    const list = images();
    for (const sel of [selA, selB]) {
      sel.replaceChildren(...list.map((im, i) => {
        const o = h("option", "", im.label || `image ${i + 1}`);
        o.value = String(i);
        return o;
      }));
    }
    selA.value = String(a); selB.value = String(b);
    pairBox.style.display = mode !== "side" && list.length > 2 ? "" : "none";
    blinkBtn.style.display = autoBlink.style.display = mode === "blink" ? "" : "none";
    stage.dataset.mode = mode;

    if (mode === "side") {
      const grid = h("div", "f2w-insp-grid");
      grid.style.setProperty("--f2w-aspect", String(aspect()));
      grid.style.setProperty("--f2w-cols", String(Math.min(list.length, 3)));
      list.forEach((_, i) => {
        const cell = h("div", "f2w-insp-cell");
        const panel = makePanel();
        panel.appendChild(makeImg(i));
        cell.append(panel, caption(i));
        grid.appendChild(cell);
      });
      stage.appendChild(grid);
    } else if (mode === "swipe") {
      const panel = makePanel("f2w-insp-swipe");
      const under = makeImg(b);
      const topLayer = h("div", "f2w-insp-layer");
      topLayer.appendChild(makeImg(a));
      const handle = h("div", "f2w-insp-handle");
      handle.title = "drag to swipe between the two images";
      handle.appendChild(h("div", "f2w-insp-knob", "⇔"));
      panel.append(under, topLayer, handle);
      const caps = h("div", "f2w-insp-swipecaps");
      caps.append(caption(a), caption(b));
      caps.style.setProperty("--f2w-aspect", String(aspect()));
      stage.append(panel, caps);
      placeSwipe();
      handle.addEventListener("pointerdown", (ev) => {
        ev.preventDefault();
        ev.stopPropagation();
        handle.setPointerCapture(ev.pointerId);
        const move = (e) => {
          const r = panel.getBoundingClientRect();
          model.set("swipe", Math.min(1, Math.max(0, (e.clientX - r.left) / r.width)));
          placeSwipe();
        };
        const up = () => {
          handle.removeEventListener("pointermove", move);
          handle.removeEventListener("pointerup", up);
          model.save_changes();
        };
        handle.addEventListener("pointermove", move);
        handle.addEventListener("pointerup", up);
      });
    } else if (mode === "blink") {
      const panel = makePanel("f2w-insp-blink");
      const imgA = makeImg(a), imgB = makeImg(b);
      panel.append(imgB, imgA);
      const cap = h("div", "f2w-insp-blinkcap");
      stage.append(panel, cap);
      showBlink();
    } else {
      // The heatmap is computed in Python (at the smaller picture's size).
      const known = diffFor(a, b);
      const panel = makePanel("f2w-insp-diff", known ? known.width / known.height : aspect());
      const img = h("img", "f2w-insp-img f2w-insp-heat");
      img.draggable = false;
      img.alt = "difference heatmap";
      if (known) img.src = known.url;
      panel.appendChild(img);
      const text = known ? known.text : "computing the difference…";
      const cap = h("div", "f2w-insp-caption f2w-insp-difftext", text);
      const legend = h("div", "f2w-insp-legend");
      legend.append(h("span", "", "same"), h("span", "f2w-insp-ramp"), h("span", "", "most different"));
      stage.append(panel, cap, legend);
      if (!known) model.send({ type: "diff", pair: [a, b] });
    }
    for (const panel of stage.querySelectorAll(".f2w-insp-panel")) wirePanel(panel);
    relayout();
  }

  function placeSwipe() {
    const at = Math.min(1, Math.max(0, model.get("swipe")));
    const layer = stage.querySelector(".f2w-insp-layer");
    const handle = stage.querySelector(".f2w-insp-handle");
    if (!layer || !handle) return;
    layer.style.clipPath = `inset(0 ${(1 - at) * 100}% 0 0)`;
    handle.style.left = `${at * 100}%`;
  }

  function showBlink() {
    const [a, b] = pair();
    const shown = blinkShown === 0 ? a : b;
    for (const img of stage.querySelectorAll(".f2w-insp-img")) {
      img.style.visibility = Number(img.dataset.index) === shown ? "visible" : "hidden";
    }
    const cap = stage.querySelector(".f2w-insp-blinkcap");
    if (cap) cap.replaceChildren(caption(shown));
  }

  function stopBlink() {
    if (blinkTimer) clearInterval(blinkTimer);
    blinkTimer = null;
    autoBlink.classList.remove("mod-active");
  }

  // ---- pointer: wheel zoom and drag pan, shared by every panel ----------------------
  function wirePanel(panel) {
    panel.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const r = panel.getBoundingClientRect();
      zoomAt(Math.pow(WHEEL_STEP, -ev.deltaY), ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    panel.addEventListener("pointerdown", (ev) => {
      if (ev.button !== 0) return;
      ev.preventDefault();
      root.focus({ preventScroll: true });
      panel.setPointerCapture(ev.pointerId);
      let lastX = ev.clientX, lastY = ev.clientY;
      panel.classList.add("mod-dragging");
      const move = (e) => {
        view.x += e.clientX - lastX;
        view.y += e.clientY - lastY;
        lastX = e.clientX; lastY = e.clientY;
        clamp();
        apply();
      };
      const up = () => {
        panel.classList.remove("mod-dragging");
        panel.removeEventListener("pointermove", move);
        panel.removeEventListener("pointerup", up);
        panel.removeEventListener("pointercancel", up);
      };
      panel.addEventListener("pointermove", move);
      panel.addEventListener("pointerup", up);
      panel.addEventListener("pointercancel", up);
    });
    panel.addEventListener("dblclick", (ev) => {
      const r = panel.getBoundingClientRect();
      if (view.s > 1.01) fitAll();
      else zoomAt(4, ev.clientX - r.left, ev.clientY - r.top);
    });
  }

  zoomIn.addEventListener("click", () => zoomAt(1.5, ...centre()));
  zoomOut.addEventListener("click", () => zoomAt(1 / 1.5, ...centre()));
  fit.addEventListener("click", fitAll);
  oneToOne.addEventListener("click", actualPixels);
  blinkBtn.addEventListener("click", () => { blinkShown = 1 - blinkShown; showBlink(); });
  autoBlink.addEventListener("click", () => {
    if (blinkTimer) { stopBlink(); return; }
    autoBlink.classList.add("mod-active");
    blinkTimer = setInterval(() => { blinkShown = 1 - blinkShown; showBlink(); }, 700);
  });
  fullBtn.addEventListener("click", () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else if (root.requestFullscreen) root.requestFullscreen().catch(() => {});
  });
  // The label follows the browser's own event, so leaving by Escape (or by the browser's own
  // controls) puts it back too.
  const onFullscreen = () => {
    const isFull = document.fullscreenElement === root;
    root.classList.toggle("mod-fullscreen", isFull);
    fullBtn.textContent = isFull ? "Exit full screen" : "Full screen";
    fullBtn.title = isFull ? "leave full screen (Esc)" : "show the inspector on the whole screen";
    fullBtn.classList.toggle("mod-active", isFull);
    requestAnimationFrame(relayout);
  };
  fullBtn.title = "show the inspector on the whole screen";
  document.addEventListener("fullscreenchange", onFullscreen);
  root.addEventListener("keydown", (ev) => {
    const mode = model.get("mode");
    let used = true;
    if (ev.key === " " && mode === "blink") { blinkShown = 1 - blinkShown; showBlink(); }
    else if (ev.key === "+" || ev.key === "=") zoomAt(1.5, ...centre());
    else if (ev.key === "-") zoomAt(1 / 1.5, ...centre());
    else if (ev.key === "0") fitAll();
    else if (ev.key === "1") actualPixels();
    else used = false;
    if (used) { ev.preventDefault(); ev.stopPropagation(); }
  });

  // ---- Python's answers ---------------------------------------------------------------
  model.on("msg:custom", (msg, buffers) => {
    if (!msg || !buffers || !buffers.length) {
      if (msg && msg.type === "error") status.textContent = `⚠ ${msg.text}`;
      return;
    }
    const url = URL.createObjectURL(new Blob([buffers[0]], { type: msg.mime || "image/jpeg" }));
    blobs.push(url);
    if (msg.type === "full") {
      full.set(msg.index, url);
      for (const img of stage.querySelectorAll(`.f2w-insp-img[data-index="${msg.index}"]`)) {
        img.src = url;
        img.dataset.full = "1";
      }
      status.textContent = full.size === images().length ? "full resolution" : "";
    } else if (msg.type === "diff") {
      diffUrl = { pair: msg.pair.join(","), url, width: msg.width, height: msg.height,
                  text: msg.text || "" };
      const [a, b] = pair();
      const img = stage.querySelector(".f2w-insp-heat");
      if (img && diffFor(a, b)) {
        img.src = url;
        if (msg.width && msg.height) setShape(img.parentElement, msg.width / msg.height);
        const text = stage.querySelector(".f2w-insp-difftext");
        if (text) text.textContent = diffUrl.text;
        relayout();
      }
    }
  });

  const rebuild = () => build();
  model.on("change:mode", rebuild);
  model.on("change:pair", rebuild);
  model.on("change:images", rebuild);
  model.on("change:title", () => { title.textContent = model.get("title") || ""; });
  model.on("change:swipe", placeSwipe);
  const resize = new ResizeObserver(() => relayout());
  resize.observe(stage);
  build();

  return () => {
    stopBlink();
    resize.disconnect();
    document.removeEventListener("fullscreenchange", onFullscreen);
    clearTimeout(zoomReport);
    for (const url of blobs) URL.revokeObjectURL(url);
  };
}

export default { render };
