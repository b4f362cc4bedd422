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
    const chosen = voiceSelect.value;
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
  fillVoices(); updateCount();

  function csrf() { return form.querySelector("input[name=csrfmiddlewaretoken]").value; }
  function fieldErrors(body) {
    if (body.detail) return body.detail;
    return Object.values(body).flat().join(" ");
  }

  let timer = null, clock = null, started = 0;
  function busy(on) { $("submit").disabled = on; $("submit").setAttribute("aria-busy", on ? "true" : "false"); }
  function tick() { $("elapsed").textContent = seconds((Date.now() - started) / 1000, 1); }
  function stop() { clearTimeout(timer); clearInterval(clock); busy(false); }
  function showError(message) {
    stop();
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
    $("stage").textContent = T.stages[g.stage] || g.stage_label;
    $("progress").value = g.progress;
    $("queue").textContent = g.queue_position == null ? "" : fmt(T.queue_position, g.queue_position + 1);
    if (g.status === "done") return done(g);
    if (g.status === "failed" || g.status === "cancelled") return showError(g.error || T.failed);
    timer = setTimeout(() => poll(url), POLL_MS);
  }
  function done(g) {
    stop(); tick();
    const video = $("video");
    video.src = g.video.url;
    video.poster = `/generations/${g.id}/poster.jpg`;
    $("download").href = g.video.url + "?download=1";
    $("download").setAttribute("download", `avatar-${g.id}.mp4`);
    $("detail-link").href = `/generations/${g.id}/`;
    for (const old of video.querySelectorAll("track")) old.remove();
    if (g.video.captions) {  // the API's own URL: session auth serves it to the page like the video
      const track = document.createElement("track");
      Object.assign(track, { kind: "subtitles", srclang: g.language, label: T.subtitles, src: g.video.captions.vtt,
                             default: g.subtitles !== "burn" });
      video.append(track);
    }
    const dl = $("timings"); dl.innerHTML = "";
    for (const [key, label] of T.timings) {
      const v = g.timings[key];
      const div = document.createElement("div");
      const dt = document.createElement("dt"); dt.textContent = label;
      const dd = document.createElement("dd"); dd.textContent = v == null ? "—" : seconds(v, 2);
      div.append(dt, dd); dl.append(div);
    }
    $("player").hidden = false;
    video.play().catch(() => {});  // browsers may refuse sound without a gesture: the controls are there
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    stop();
    $("text-error").textContent = ""; text.removeAttribute("aria-invalid");
    $("job-error").hidden = true; $("player").hidden = true;
    $("audio-error").textContent = ""; $("rate-error").textContent = "";
    const avatar = form.querySelector("input[name=avatar]:checked");
    const audioFile = $("id_audio").files[0];
    const fields = { text: text.value, language: language(), voice: voiceSelect.value, subtitles: $("id_subtitles").value,
                   motion: $("id_motion").value };
    const rate = parseFloat($("id_rate").value.replace(",", "."));
    fields.rate = Number.isFinite(rate) ? rate : $("id_rate").value;  // nonsense goes as typed: the API says why
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
      else {
        $("text-error").textContent = fieldErrors(g);
        if (g.text) { text.setAttribute("aria-invalid", "true"); text.focus(); }
      }
      return;
    }
    started = Date.now();
    $("result").hidden = false;
    $("stage").textContent = T.stages.queued; $("progress").value = 0; $("queue").textContent = "";
    tick(); clock = setInterval(tick, 100);
    poll(r.headers.get("Location") || `/api/v1/generations/${g.id}/`);
  });
})();
