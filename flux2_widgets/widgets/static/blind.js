// Blind A/B panel: two unlabelled images; vote with buttons or keys, then the reveal.
// Keys: ArrowLeft = left wins, ArrowRight = right wins, "t" or ArrowDown = tie.

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

const KEYS = { ArrowLeft: "left", ArrowRight: "right", ArrowDown: "tie", t: "tie", T: "tie" };

function render({ model, el }) {
  const root = h("div", "f2w-blind");
  root.tabIndex = 0;
  el.appendChild(root);
  const head = h("div", "f2w-blind-head");
  const pairs = h("div", "f2w-blind-pair");
  const buttons = h("div", "f2w-blind-buttons");
  const hint = h("div", "f2w-blind-hint");
  const note = h("div", "f2w-blind-note");
  root.append(head, pairs, buttons, hint, note);
  const names = { left: "◀ Left wins", tie: "Tie (t)", right: "Right wins ▶" };
  const voteButtons = {};
  for (const key of ["left", "tie", "right"]) {
    const b = h("button", `f2w-blind-btn f2w-blind-btn--${key}`, names[key]);
    b.addEventListener("click", () => vote(key));
    buttons.appendChild(b);
    voteButtons[key] = b;
  }

  function vote(choice) {
    if (!model.get("ready") || model.get("revealed")) return;
    model.send({ type: "vote", choice });
    root.classList.add("mod-sent");
  }

  function draw() {
    const sides = model.get("sides") || [];
    const revealed = model.get("revealed");
    const ready = model.get("ready");
    const choice = model.get("choice");
    root.classList.toggle("mod-revealed", revealed);
    if (revealed) root.classList.remove("mod-sent");
    head.textContent = revealed ? "Revealed" : "Blind test: which is better?";
    pairs.replaceChildren(...["left", "right"].map((pos, i) => {
      const side = sides[i] || {};
      const card = h("div", `f2w-blind-card f2w-blind-card--${pos}`);
      if (revealed && (choice === pos)) card.classList.add("mod-winner");
      const place = h("div", "f2w-blind-place", pos === "left" ? "Left" : "Right");
      const frame = h("div", "f2w-blind-frame");
      frame.style.aspectRatio = String(model.get("aspect") || 1);
      if (side.preview) {
        const img = h("img", "f2w-blind-img");
        img.src = side.preview;
        img.alt = `${pos} image`;
        img.draggable = false;
        frame.appendChild(img);
      } else {
        frame.appendChild(h("div", "f2w-blind-wait", side.status ? `${side.status}…` : "…"));
      }
      card.append(place, frame);
      if (revealed) {
        const label = h("div", "f2w-blind-label", side.label || "");
        card.appendChild(label);
        if (side.prompt) card.appendChild(h("div", "f2w-blind-prompt", side.prompt));
        if (side.caption) card.appendChild(h("div", "f2w-blind-caption", side.caption));
      }
      card.addEventListener("click", () => root.focus({ preventScroll: true }));
      return card;
    }));
    for (const b of Object.values(voteButtons)) b.disabled = !ready || revealed;
    hint.textContent = model.get("message") || (revealed ? "" : ready
      ? "Click the images, then press ← or → for the better one, t or ↓ for a tie."
      : "Waiting for both images…");
    note.textContent = revealed ? "" : (model.get("note") || "");
  }

  root.addEventListener("keydown", (ev) => {
    const choice = KEYS[ev.key];
    if (!choice) return;
    // Handled here: JupyterLab must not also move between cells.
    ev.preventDefault();
    ev.stopPropagation();
    vote(choice);
  });
  for (const name of ["sides", "ready", "revealed", "choice", "message", "note"]) model.on(`change:${name}`, draw);
  draw();
}

export default { render };
