// One place of an exploration grid: the take shown (status, elapsed, preview, prompt, money),
// a dot per take, ◀ ▶ to flip, Retry / Resume by the run's rule, and Details (the full tile).
// Everything drawn comes from the model; the elapsed time ticks here while a take runs, so a
// running grid sends nothing just to count seconds.

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function seconds(value) {
  return value < 100 ? `${value.toFixed(1)} s` : `${Math.round(value)} s`;
}

const WAITING = { queued: "queued", submitting: "sending", pending: "pending", processing: "processing",
                  downloading: "downloading", stopped: "stopped waiting", failed: "failed" };

function render({ model, el }) {
  const card = h("div", "f2w-card");
  const head = h("div", "f2w-card-head");
  const chip = h("span", "f2w-chip");
  const elapsed = h("span", "f2w-card-elapsed");
  const title = h("span", "f2w-card-title");
  head.append(chip, elapsed, title);
  const frame = h("div", "f2w-card-frame");
  const caption = h("div", "f2w-card-caption");
  const meta = h("div", "f2w-card-meta");
  const metaChip = h("span", "f2w-chip");
  const cost = h("span", "f2w-chip f2w-chip--accent f2w-card-cost");
  meta.append(metaChip, cost);
  const error = h("div", "f2w-card-error");
  const foot = h("div", "f2w-card-foot");
  const flipper = h("div", "f2w-card-takes");
  const prev = h("button", "f2w-card-btn f2w-card-prev", "◀");
  const takeLabel = h("span", "f2w-card-take");
  const dots = h("span", "f2w-card-dots");
  const next = h("button", "f2w-card-btn f2w-card-next", "▶");
  prev.title = "previous take";
  next.title = "next take";
  flipper.append(prev, takeLabel, dots, next);
  const retry = h("button", "f2w-card-btn f2w-card-retry", "Retry");
  const details = h("button", "f2w-card-btn f2w-card-details", "Details");
  details.title = "the full card of this take: Open, Save, Download, Request";
  foot.append(flipper, retry, details);
  card.append(head, frame, caption, meta, error, foot);
  el.appendChild(card);

  prev.addEventListener("click", () => model.send({ type: "flip", step: -1 }));
  next.addEventListener("click", () => model.send({ type: "flip", step: 1 }));
  retry.addEventListener("click", () => { retry.disabled = true; model.send({ type: "retry" }); });
  details.addEventListener("click", () => model.send({ type: "details" }));

  let url = null;
  let drawnImage = null;
  let timer = null;
  let since = 0;
  let base = 0;

  function tick() {
    elapsed.textContent = seconds(base + (performance.now() - since) / 1000);
  }

  function drawImage() {
    const image = model.get("image");
    if (image === drawnImage) return;
    drawnImage = image;
    if (url) URL.revokeObjectURL(url);
    url = null;
    const bytes = image && (image.byteLength || 0);
    frame.replaceChildren();
    if (bytes) {
      url = URL.createObjectURL(new Blob([image], { type: "image/jpeg" }));
      const img = h("img", "f2w-card-img");
      img.src = url;
      img.alt = model.get("caption").slice(0, 80);
      img.draggable = false;
      frame.appendChild(img);
    }
  }

  function draw() {
    const takes = model.get("takes") || [];
    const index = Math.min(model.get("take") || 0, Math.max(0, takes.length - 1));
    const take = takes[index] || { status: "queued", chip: "queued", elapsed: 0, cost: "", error: "" };
    card.className = `f2w-card f2w-card--${take.status}` + (takes.length > 1 ? " f2w-card--stack" : "");
    chip.className = `f2w-chip f2w-st-${take.status}`;
    chip.textContent = take.chip;
    title.textContent = model.get("title");
    caption.textContent = model.get("caption");
    caption.title = model.get("caption");
    metaChip.textContent = model.get("meta");
    cost.textContent = take.cost || "";
    cost.dataset.money = take.money || "";
    error.textContent = take.error || "";
    error.hidden = !take.error;
    // the shape of the image to come while one may come; a short frame once none will
    const still = ["stopped", "failed", "completed"].includes(take.status);
    frame.style.aspectRatio = still ? "" : String(model.get("aspect") || 1);
    frame.classList.toggle("mod-still", still);
    drawImage();
    if (!(drawnImage && (drawnImage.byteLength || 0))) {
      const wait = h("div", "f2w-card-wait" + (take.active ? " mod-running" : ""), WAITING[take.status] || take.status);
      frame.replaceChildren(wait);
    }
    clearInterval(timer);
    timer = null;
    base = take.elapsed || 0;
    since = performance.now();
    if (take.active) {
      timer = setInterval(tick, 500);
      tick();
    } else {
      elapsed.textContent = take.status === "queued" ? "" : seconds(base);
    }
    flipper.hidden = takes.length < 2;
    takeLabel.textContent = `take ${index + 1}/${takes.length}`;
    dots.replaceChildren(...takes.map((t, i) => {
      const dot = h("span", `f2w-card-dot f2w-card-dot--${t.status}` + (i === index ? " mod-shown" : ""));
      dot.title = `take ${i + 1}: ${t.status}`;
      return dot;
    }));
    retry.hidden = !take.step;
    retry.disabled = false;
    retry.textContent = take.step === "resume" ? "Resume" : "Retry";
    retry.title = take.step === "resume" ? "keep waiting for the same task: nothing new is sent or charged"
      : take.step === "resend" ? "send it again with the same Idempotency-Key: charged once"
      : "send this request again as a new task";
  }

  for (const name of ["takes", "take", "image", "title", "caption", "meta", "aspect"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
  return () => {
    clearInterval(timer);
    if (url) URL.revokeObjectURL(url);
  };
}

export default { render };
