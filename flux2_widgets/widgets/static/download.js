// One click, one file: ask the kernel for the bytes (a binary buffer, not a synced string),
// then hand them to the browser as a named download.
function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "f2w-download-btn jupyter-button widget-button";
  el.appendChild(button);

  function draw() {
    const busy = model.get("busy");
    button.textContent = busy ? "⬇ preparing…" : "⬇ Download";
    button.disabled = busy || !model.get("ready");
    button.title = model.get("ready")
      ? `save ${model.get("filename")} (full size) from this browser`
      : "available once the image has arrived";
  }

  button.addEventListener("click", () => {
    if (button.disabled) return;
    model.send({ type: "download" });
  });

  model.on("msg:custom", (content, buffers) => {
    if (!content || content.type !== "file" || !buffers || !buffers.length) return;
    const data = buffers[0];
    const blob = new Blob([data.buffer ? data.buffer : data], { type: content.mime || "application/octet-stream" });
    const url = URL.createObjectURL(blob);
    const link = document.createElement("a");
    link.href = url;
    link.download = content.filename || "image";
    link.style.display = "none";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  });

  model.on("change:busy", draw);
  model.on("change:ready", draw);
  model.on("change:filename", draw);
  draw();
}

export default { render };
