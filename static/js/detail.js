// Follow a request: its stage and progress, its stream as soon as there is one (stream.js), then the finished
// MP4 in the stream's place. Without a stream shown the page reloads once the request finishes, as before.
(function () {
  const box = document.getElementById("detail");
  const $ = (id) => document.getElementById(id);
  let streamer = null;
  function watch(g) {
    streamer = window.AvatarStream.start($("video"), {
      playlist: g.stream, captions: g.stream.replace(/index\.m3u8$/, "captions.vtt"), language: g.language,
      label: box.dataset.subtitles, showCaptions: g.subtitles !== "burn",
      onAttach: () => { $("player").hidden = false; },
    });
  }
  function finished(g) {
    if (!streamer || !streamer.attached) return location.reload();
    $("cancel").hidden = true;
    if (g.status !== "done") {  // the stream ended where the request stopped; say why beside it
      streamer.stop();
      $("live").hidden = true;
      $("job-error").textContent = `${g.stage_label}: ${g.error}`; $("job-error").hidden = false;
      return;
    }
    const captions = g.video.captions ? g.video.captions.vtt : "";
    $("live").hidden = true;  // it is made, though the stream may still be playing
    streamer.finish($("player").dataset.video, $("player").dataset.poster, captions, () => {
      $("finished").hidden = false;
    });
  }
  async function poll() {
    const r = await fetch(box.dataset.api, { credentials: "same-origin" });
    if (!r.ok) return;
    const g = await r.json();
    document.getElementById("stage").textContent = g.stage_label;
    document.getElementById("progress").value = g.progress;
    if (g.stream && !streamer) watch(g);
    if (["done", "failed", "cancelled"].includes(g.status)) finished(g);
    else setTimeout(poll, 700);
  }
  poll();
})();
