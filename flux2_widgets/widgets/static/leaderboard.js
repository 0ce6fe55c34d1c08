// The projector's leaderboard: per question, each variant's win rate with its 95% interval,
// votes and voters, and the verdict in plain words. Large type by default.

function h(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

const counted = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);

function render({ model, el }) {
  const root = h("div", "f2w-board");
  el.appendChild(root);

  function draw() {
    root.replaceChildren();
    root.classList.toggle("mod-large", model.get("large"));
    root.appendChild(h("div", "f2w-board-title", model.get("title")));
    root.appendChild(h("div", "f2w-board-summary", model.get("summary") || "reading the votes…"));
    for (const board of model.get("boards") || []) {
      const section = h("div", "f2w-board-section");
      section.appendChild(h("div", "f2w-board-question", board.question));
      const table = h("div", "f2w-board-rows");
      for (const row of board.rows) {
        const line = h("div", "f2w-board-row");
        line.dataset.variant = row.variant;
        line.appendChild(h("div", "f2w-board-rank", `${row.rank}.`));
        line.appendChild(h("div", "f2w-board-variant", row.variant));
        const bar = h("div", "f2w-board-bar");
        const fill = h("div", "f2w-board-fill");
        fill.style.width = row.win_rate === null ? "0" : `${row.win_rate * 100}%`;
        const ci = h("div", "f2w-board-ci");
        if (row.votes) {
          ci.style.left = `${row.ci_low * 100}%`;
          ci.style.width = `${Math.max(0.5, (row.ci_high - row.ci_low) * 100)}%`;
        }
        bar.append(fill, ci);
        line.appendChild(bar);
        line.appendChild(h("div", "f2w-board-rate",
          row.votes ? `${pct(row.win_rate)} (${pct(row.ci_low)}–${pct(row.ci_high)})` : "no votes"));
        line.appendChild(h("div", "f2w-board-votes",
          `${row.wins} won · ${row.losses} lost · ${row.ties} tied`));
        table.appendChild(line);
      }
      section.appendChild(table);
      section.appendChild(h("div", "f2w-board-counts", `${counted(board.votes, "vote")} from ${counted(board.voters, "voter")}`));
      section.appendChild(h("div", board.decided ? "f2w-board-verdict mod-decided" : "f2w-board-verdict",
        board.verdict));
      root.appendChild(section);
    }
  }

  for (const name of ["boards", "summary", "title", "large"]) model.on(`change:${name}`, draw);
  draw();
}

export default { render };
