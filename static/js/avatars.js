// My avatars: follow the ones being prepared, and reload the page once each is ready or failed.
(function () {
  const POLL_MS = 1500;
  const items = Array.from(document.querySelectorAll(".own-avatars [data-status=preparing]"));
  if (!items.length) return;
  async function poll(item) {
    try {
      const r = await fetch(item.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (r.ok) {
        const a = await r.json();
        if (a.status !== "preparing") return window.location.reload();
        item.querySelector("progress").value = a.progress;
        item.querySelector("[data-role=status]").textContent = a.status_label + " " + a.progress + "%";
      }
    } catch (e) { /* a network hiccup: keep following */ }
    setTimeout(() => poll(item), POLL_MS);
  }
  items.forEach(poll);
})();
