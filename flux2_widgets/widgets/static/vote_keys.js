// Keyboard votes for a two-sided comparison view: the same keys as the blind panel.
// ArrowLeft = the left side wins, ArrowRight = the right side, "t" or ArrowDown = a tie.
// The keys work while focus is inside the comparison (click it first); typing in a text
// box (the vote's note) is left alone. The vote itself happens in Python, where the
// buttons vote: this only says which key was pressed.

const KEYS = { ArrowLeft: "left", ArrowRight: "right", ArrowDown: "tie", t: "tie", T: "tie" };

function typing(target) {
  if (!target || !target.closest) return false;
  return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
}

function render({ model, el }) {
  const hint = document.createElement("span");
  hint.className = "f2w-keys-hint";
  el.appendChild(hint);
  let root = null;
  let frame = 0;

  function draw() {
    hint.textContent = model.get("hint") || "";
  }

  function onKey(ev) {
    if (ev.altKey || ev.ctrlKey || ev.metaKey || typing(ev.target)) return;
    const choice = KEYS[ev.key];
    if (!choice || !model.get("enabled")) return;
    // Handled here: JupyterLab must not also move between cells.
    ev.preventDefault();
    ev.stopPropagation();
    model.send({ type: "vote", choice });
    hint.classList.remove("mod-sent");
    void hint.offsetWidth;
    hint.classList.add("mod-sent");
  }

  function onClick(ev) {
    // A click on the images (not a button or a text box) gives the view the focus the keys need.
    if (typing(ev.target) || (ev.target.closest && ev.target.closest("button, a"))) return;
    root.focus({ preventScroll: true });
  }

  function attach() {
    // The element is placed in the page after render: find the comparison around it then.
    if (!el.isConnected) {
      frame = requestAnimationFrame(attach);
      return;
    }
    root = el.closest(".f2w-cmp") || el.parentElement || el;
    if (!root.hasAttribute("tabindex")) root.tabIndex = 0;
    root.classList.add("f2w-cmp--keys");
    root.addEventListener("keydown", onKey);
    root.addEventListener("click", onClick);
  }

  model.on("change:hint", draw);
  draw();
  attach();
  return () => {
    cancelAnimationFrame(frame);
    if (root) {
      root.removeEventListener("keydown", onKey);
      root.removeEventListener("click", onClick);
    }
  };
}

export default { render };
