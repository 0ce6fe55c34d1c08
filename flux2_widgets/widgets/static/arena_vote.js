// One voter's panel: two unlabelled images, the question, Left / Tie / Right / Skip.
// Keys: ArrowLeft = left, ArrowRight = right, "t" or ArrowDown = tie, "s" = skip.
// The voter's id lives in this browser (localStorage), so a reload is the same voter.

const KEY = "flux2-arena-voter";
const KEYS = { ArrowLeft: "left", ArrowRight: "right", ArrowDown: "tie", t: "tie", T: "tie", s: "skip", S: "skip" };

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function voterId() {
  try {
    let id = window.localStorage.getItem(KEY);
    if (!id) {
      id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
        : `v-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
      window.localStorage.setItem(KEY, id);
    }
    return id;
  } catch (err) {  // storage refused (private mode): an id for this page only
    return `v-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }
}

function render({ model, el }) {
  const root = h("div", "f2w-arena");
  root.tabIndex = 0;
  el.appendChild(root);
  const head = h("div", "f2w-arena-head");
  const title = h("div", "f2w-arena-title");
  const progress = h("div", "f2w-arena-progress");
  head.append(title, progress);
  const question = h("div", "f2w-arena-question");
  const caseText = h("div", "f2w-arena-case");
  const pair = h("div", "f2w-arena-pair");
  const cards = {};
  for (const side of ["left", "right"]) {
    const card = h("button", `f2w-arena-card f2w-arena-card--${side}`);
    card.type = "button";
    const img = h("img", "f2w-arena-img");
    img.alt = `${side} image`;
    const label = h("div", "f2w-arena-side", side === "left" ? "◀ Left" : "Right ▶");
    card.append(img, label);
    card.addEventListener("click", () => vote(side));
    pair.appendChild(card);
    cards[side] = { card, img };
  }
  const buttons = h("div", "f2w-arena-buttons");
  const labels = { left: "◀ Left", tie: "Tie (t)", right: "Right ▶", skip: "Skip (s)" };
  const voteButtons = {};
  for (const key of ["left", "tie", "right", "skip"]) {
    const b = h("button", `f2w-arena-btn f2w-arena-btn--${key}`, labels[key]);
    b.type = "button";
    b.addEventListener("click", () => vote(key));
    buttons.appendChild(b);
    voteButtons[key] = b;
  }
  const message = h("div", "f2w-arena-message");
  const hint = h("div", "f2w-arena-hint", "Keys: ← left · → right · t tie · s skip");
  root.append(head, question, caseText, pair, buttons, message, hint);

  let sent = false;
  function vote(choice) {
    if (model.get("state") !== "voting" || sent) return;
    sent = true;
    root.classList.add("mod-sent");
    model.send({ type: "vote", choice });
  }

  function draw() {
    const state = model.get("state");
    title.textContent = model.get("title");
    progress.textContent = model.get("progress");
    question.textContent = model.get("question");
    caseText.textContent = model.get("case") ? `“${model.get("case")}”` : "";
    message.textContent = model.get("message");
    root.classList.toggle("mod-large", model.get("large"));
    root.dataset.state = state;
    for (const side of ["left", "right"]) {
      const src = model.get(side);
      cards[side].img.src = src || "";
      cards[side].card.disabled = state !== "voting" || !src;
    }
    for (const b of Object.values(voteButtons)) b.disabled = state !== "voting";
    if (state === "voting") {
      sent = false;
      root.classList.remove("mod-sent");
    }
    pair.style.display = state === "voting" || state === "loading" ? "" : "none";
    buttons.style.display = state === "done" || state === "empty" ? "none" : "";
  }

  root.addEventListener("keydown", (event) => {
    const choice = KEYS[event.key];
    if (!choice || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    event.stopPropagation();  // JupyterLab's own shortcuts must not see these keys
    vote(choice);
  });
  root.addEventListener("pointerdown", () => root.focus({ preventScroll: true }));

  for (const name of ["state", "title", "progress", "question", "case", "left", "right", "message", "large"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
  if (model.get("ask_voter") && !model.get("voter")) {
    model.send({ type: "hello", voter: voterId() });
  }
  setTimeout(() => root.focus({ preventScroll: true }), 0);
}

export default { render };
