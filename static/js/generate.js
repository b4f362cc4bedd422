// Generate page: submit through the API, follow the job live, show the player when done.
(function () {
  const form = document.getElementById("generate-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);
  const voices = JSON.parse($("voices-data").textContent);
  const T = JSON.parse($("i18n-data").textContent);  // the page's words, in the interface language
  const fmt = (template, n) => template.replace("%(n)s", n);
  const seconds = (v, digits) => fmt(T.seconds, v.toFixed(digits).replace(".", T.decimal));
  const POLL_MS = 500;
  const text = $("id_text"), count = $("count"), voiceSelect = $("id_voice");

  function language() { return form.querySelector("input[name=language]:checked").value; }
  function fillVoices() {
    const chosen = voiceSelect.value || voiceSelect.dataset.initial;  // "again with changes" names the voice
    voiceSelect.innerHTML = "";
    for (const v of voices[language()] || []) voiceSelect.add(new Option(v.name, v.id, false, v.id === chosen));
  }
  function updateCount() { count.textContent = text.value.length; }

  // the voice's sample: made once per voice on the server; "not ready" (503) while the worker makes it
  const play = $("voice-play"), player = $("voice-audio"), sampleStatus = $("voice-sample-status");
  async function playSample() {
    if (!voiceSelect.value) return;
    sampleStatus.textContent = T.sample_loading;
    play.disabled = true;
    try {
      const url = `/api/v1/voices/${encodeURIComponent(voiceSelect.value)}/sample`;
      // asked first to tell "not ready" from a failure (an <audio> error says neither); the answer is
      // cached, so the player's own request is served from the browser cache (the CSP allows no blob:)
      const r = await fetch(url, { credentials: "same-origin" });
      if (!r.ok) {
        sampleStatus.textContent = r.status === 503 ? T.sample_not_ready : T.sample_failed;
        return;
      }
      await r.arrayBuffer();
      if (!player.src.endsWith(url)) player.src = url;
      sampleStatus.textContent = "";
      await player.play();
    } catch (e) {
      sampleStatus.textContent = T.sample_failed;
    } finally {
      play.disabled = false;
    }
  }
  play.addEventListener("click", playSample);
  voiceSelect.addEventListener("change", () => { player.pause(); sampleStatus.textContent = ""; });
  form.querySelectorAll("input[name=language]").forEach((r) => r.addEventListener("change", fillVoices));
  text.addEventListener("input", updateCount);

  // A control that cannot matter is disabled, with the reason under it.
  const motionSelect = $("id_motion"), audioInput = $("id_audio");
  function relevance() {
    const avatar = form.querySelector("input[name=avatar]:checked");
    const video = Boolean(avatar && avatar.dataset.kind === "video");
    motionSelect.disabled = video; $("motion-reason").hidden = !video;
    const recording = Boolean(audioInput.files && audioInput.files.length);
    voiceSelect.disabled = recording; $("voice-reason").hidden = !recording;
    $("voice-play").disabled = recording; $("id_rate").disabled = recording;  // a recording has its own voice and pace
  }
  form.querySelectorAll("input[name=avatar]").forEach((r) => r.addEventListener("change", relevance));
  audioInput.addEventListener("change", relevance);
  fillVoices(); updateCount(); relevance();

  // «Recent» follows the videos made on this page.
  function recentItem(g) {
    let li = $("recent-list").querySelector(`li[data-id="${g.id}"]`);
    if (!li) {
      li = document.createElement("li"); li.dataset.id = g.id;
      const a = document.createElement("a"); a.href = `/generations/${g.id}/`; a.textContent = `#${g.id}`;
      const status = document.createElement("span"); status.className = "status";
      li.append(a, ` · ${T.languages[g.language] || g.language} · `, status);
      if (g.text) li.append(` · ${g.text.length > 60 ? g.text.slice(0, 59) + "…" : g.text}`);
      $("recent-list").prepend(li);
      $("recent").hidden = false;
    }
    li.querySelector(".status").textContent = T.statuses[g.status] || g.status;
  }

  function csrf() { return form.querySelector("input[name=csrfmiddlewaretoken]").value; }
  function fieldErrors(body) {
    if (body.detail) return body.detail;
    return Object.values(body).flat().join(" ");
  }

  // the format's background control: blur, a colour, one of the user's pictures, or a new one uploaded first
  const bgSelect = $("id_background");
  function showBackground() {
    const v = bgSelect.value;
    $("background-colour-row").hidden = v !== "colour";
    $("background-file-row").hidden = v !== "upload";
    $("delete-background").hidden = !v.startsWith("image:");
  }
  bgSelect.addEventListener("change", showBackground);
  showBackground();
  async function uploadBackground() {
    const file = $("id_background_file").files[0];
    if (!file) throw new Error(T.choose_picture);
    const body = new FormData();
    body.append("file", file);
    const r = await fetch("/api/v1/backgrounds/", { method: "POST", credentials: "same-origin", body,
                                                     headers: { "X-CSRFToken": csrf(), Accept: "application/json" } });
    const g = await r.json();
    if (r.status !== 201) throw new Error(fieldErrors(g));
    const option = new Option(fmt(T.my_picture, g.id) + ` (${g.width}×${g.height})`, `image:${g.id}`, true, true);
    bgSelect.add(option, bgSelect.options[bgSelect.options.length - 1]);
    showBackground();
    return g.id;
  }
  $("delete-background").addEventListener("click", async () => {
    const id = bgSelect.value.split(":")[1];
    const r = await fetch(`/api/v1/backgrounds/${id}/`, { method: "DELETE", credentials: "same-origin",
                                                          headers: { "X-CSRFToken": csrf() } });
    if (r.status === 204 || r.status === 404) { bgSelect.selectedOptions[0].remove(); bgSelect.value = "blur"; }
    showBackground();
  });
  async function formatFields() {
    const fields = { frame: $("id_frame").value };
    if ($("id_resolution").value) fields.resolution = Number($("id_resolution").value);
    let v = bgSelect.value;
    if (v === "upload") v = `image:${await uploadBackground()}`;
    if (v === "colour") fields.background = $("id_background_colour").value;
    else if (v.startsWith("image:")) fields.background_image = Number(v.split(":")[1]);
    else fields.background = v;
    return fields;
  }

  let timer = null, clock = null, started = 0, current = null, streamer = null;
  function busy(on) {
    $("submit").disabled = on; $("submit").setAttribute("aria-busy", on ? "true" : "false");
    $("cancel-row").hidden = !on;
  }
  function tick() { $("elapsed").textContent = seconds((Date.now() - started) / 1000, 1); }
  function stop() { clearTimeout(timer); clearInterval(clock); busy(false); }
  function showError(message) {
    stop();
    if (streamer) streamer.stop();  // what was streamed stays watchable: its playlist ended with the request
    $("job-error").textContent = message; $("job-error").hidden = false;
  }
  async function poll(url) {
    let g;
    try {
      const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!r.ok) return showError(r.status >= 500 ? T.server_error : fieldErrors(await r.json()));
      g = await r.json();
    } catch (e) {  // a hiccup of the network: keep following the job
      timer = setTimeout(() => poll(url), POLL_MS * 4);
      return;
    }
    if (current !== g.id) return;  // a job this page stopped following
    recentItem(g);
    $("stage").textContent = T.stages[g.stage] || g.stage_label;
    $("progress").value = g.progress;
    $("queue").textContent = g.queue_position == null ? "" : fmt(T.queue_position, g.queue_position + 1);
    if (g.stream && !streamer) watch(g);
    if (g.status === "done") return done(g);
    if (g.status === "failed" || g.status === "cancelled") return showError(g.error || T.failed);
    timer = setTimeout(() => poll(url), POLL_MS);
  }
  function watch(g) {  // play the request while it is made (stream.js), from its first segment on
    streamer = window.AvatarStream.start($("video"), {
      playlist: g.stream, captions: g.stream.replace(/index\.m3u8$/, "captions.vtt"), language: g.language,
      label: T.subtitles, showCaptions: g.subtitles !== "burn",
      onAttach: () => {  // it starts playing: bring it into view first, so no sound plays out of sight
        $("player").hidden = false; $("live").hidden = false;
        $("result").scrollIntoView({ block: "start" });  // at once, not smooth: play() follows right after
      },
    });
  }
  function done(g) {
    stop(); tick();
    const poster = `/generations/${g.id}/poster.jpg`, captions = g.video.captions ? g.video.captions.vtt : "";
    $("download").href = g.video.url + "?download=1";
    $("download").setAttribute("download", `avatar-${g.id}.mp4`);
    $("detail-link").href = `/generations/${g.id}/`;
    $("live").hidden = true;  // it is made: a stream still playing plays on, and the MP4 takes over at its end
    const live = streamer && streamer.finish(g.video.url, poster, captions);
    if (!live) {
      if (streamer) streamer.stop();
      const video = $("video");
      video.src = g.video.url;
      video.poster = poster;
      for (const t of video.textTracks) t.mode = "disabled";
      for (const old of video.querySelectorAll("track")) old.remove();
      if (captions) {  // the API's own URL: session auth serves it to the page like the video
        const track = document.createElement("track");
        Object.assign(track, { kind: "subtitles", srclang: g.language, label: T.subtitles, src: captions,
                               default: g.subtitles !== "burn" });
        video.append(track);
      }
    }
    const notes = $("notes"); notes.innerHTML = "";
    for (const note of g.notes || []) { const li = document.createElement("li"); li.textContent = note; notes.append(li); }
    const dl = $("timings"); dl.innerHTML = "";
    for (const [key, label] of T.timings) {
      if (key === "tts" && g.has_audio) continue;  // a recording is never synthesised
      const v = g.timings[key];
      const div = document.createElement("div");
      const dt = document.createElement("dt"); dt.textContent = label;
      const dd = document.createElement("dd"); dd.textContent = v == null ? "—" : seconds(v, 2);
      div.append(dt, dd); dl.append(div);
    }
    $("player").hidden = false; $("finished").hidden = false;
    // no sound out of sight: the player comes into view and, unless it was already streaming, waits for the user's play
    $("result").scrollIntoView({ behavior: "smooth", block: "start" });
    $("video").focus({ preventScroll: true });
  }

  $("cancel").addEventListener("click", async () => {
    if (current == null) return;
    const id = current;
    let r;
    try {
      r = await fetch(`/api/v1/generations/${id}/cancel/`, { method: "POST", credentials: "same-origin",
                      headers: { "X-CSRFToken": csrf(), Accept: "application/json" } });
    } catch (e) { return showError(T.offline); }
    if (r.ok) { const g = await r.json(); recentItem(g); current = null; return showError(T.statuses.cancelled); }
    if (r.status !== 409) showError(T.server_error);  // 409: it finished meanwhile; the poll shows how
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    stop();
    $("text-error").textContent = ""; text.removeAttribute("aria-invalid");
    $("job-error").hidden = true; $("player").hidden = true; $("live").hidden = true;
    if (streamer) { streamer.destroy(); streamer = null; }
    $("finished").hidden = true;  // the last request's links and timings, until this one is done
    $("audio-error").textContent = ""; $("background-error").textContent = ""; $("rate-error").textContent = "";
    let format;
    try {
      format = await formatFields();
    } catch (e) {
      $("background-error").textContent = e.message; $("format").open = true;
      return;
    }
    const avatar = form.querySelector("input[name=avatar]:checked");
    const audioFile = $("id_audio").files[0];
    const fields = { text: text.value, language: language(), voice: voiceSelect.value, subtitles: $("id_subtitles").value,
                   motion: $("id_motion").value, ...format };
    const rate = parseFloat($("id_rate").value.replace(",", "."));
    if (!$("id_rate").disabled) fields.rate = Number.isFinite(rate) ? rate : $("id_rate").value;  // nonsense goes as typed: the API says why
    if (avatar) fields.avatar = Number(avatar.value);  // JSON wants a number; FormData sends its text
    let body, headers = { "X-CSRFToken": csrf(), Accept: "application/json" };
    if (audioFile) {  // multipart only when there is a recording to send
      body = new FormData();
      for (const [k, v] of Object.entries(fields)) body.append(k, v);
      body.append("audio", audioFile);
    } else {
      body = JSON.stringify(fields);
      headers["Content-Type"] = "application/json";
    }
    busy(true);
    let r, g;
    try {
      r = await fetch("/api/v1/generations/", { method: "POST", credentials: "same-origin", headers, body });
      g = await r.json();
    } catch (e) {
      busy(false);
      $("text-error").textContent = r && r.status >= 500 ? T.server_error : T.offline;
      return;
    }
    if (r.status !== 202) {
      busy(false);
      $("result").hidden = true;
      if (g.audio) $("audio-error").textContent = [].concat(g.audio).join(" ");
      else if (g.rate && Object.keys(g).length === 1) $("rate-error").textContent = [].concat(g.rate).join(" ");
      else if (g.frame || g.resolution || g.background || g.background_image) {
        $("background-error").textContent = fieldErrors(g); $("format").open = true;
      }
      else {
        $("text-error").textContent = fieldErrors(g);
        if (g.text) { text.setAttribute("aria-invalid", "true"); text.focus(); }
      }
      return;
    }
    started = Date.now();
    current = g.id; recentItem(g);
    $("result").hidden = false;
    $("result").scrollIntoView({ behavior: "smooth", block: "nearest" });
    $("stage").textContent = T.stages.queued; $("progress").value = 0; $("queue").textContent = "";
    tick(); clock = setInterval(tick, 100);
    poll(r.headers.get("Location") || `/api/v1/generations/${g.id}/`);
  });
})();
