// The share link's copy button: the clipboard where the browser allows it, else the text selected for Ctrl+C.
(function () {
  "use strict";
  const button = document.getElementById("share-copy"), field = document.getElementById("share-url");
  if (!button || !field) return;
  button.addEventListener("click", async () => {
    field.select();
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = button.dataset.copied;
    } catch (e) {
      document.execCommand && document.execCommand("copy");
    }
  });
})();
