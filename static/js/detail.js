// Reload the page once the request finishes; meanwhile show its stage and progress.
(function () {
  const box = document.getElementById("detail");
  async function poll() {
    const r = await fetch(box.dataset.api, { credentials: "same-origin" });
    if (!r.ok) return;
    const g = await r.json();
    document.getElementById("stage").textContent = g.stage_label;
    document.getElementById("progress").value = g.progress;
    if (["done", "failed", "cancelled"].includes(g.status)) location.reload();
    else setTimeout(poll, 700);
  }
  poll();
})();
