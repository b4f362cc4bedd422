// Watch a request while it is made: its HLS stream (the API's `stream`) plays as soon as the first segment
// exists; once the request is done and the stream has played out (or is paused), the finished MP4 takes the
// element's place at the same frame, so nothing visibly jumps. hls.js (static/vendor/hls.js) where the browser
// has Media Source Extensions, else native HLS (Safari, iOS).
window.AvatarStream = (function () {
  const PLAYLIST_POLL_MS = 250;
  // Start with two 1 s segments listed: the second second is then in hand while the first plays, which
  // absorbs the encoder's start-up (its look-ahead holds the second segment back) on a busy worker.
  const START_SEGMENTS = 2;
  const HLS_CONFIG = {
    startPosition: 0,  // an EVENT playlist is live to hls.js: play it from its start, not near its edge
    enableWorker: false,  // no worker from a blob: URL, so the CSP needs no worker-src
    // hls.js's defaults never skip ahead to the live edge (liveMaxLatencyDurationCount: Infinity) and never
    // speed up to reach it (maxLiveSyncPlaybackRate: 1): the viewer sees every second
  };

  function mse() { return window.Hls && window.Hls.isSupported(); }
  function wait(ms) { return new Promise((ok) => setTimeout(ok, ms)); }

  // true once the playlist lists START_SEGMENTS segments (or all there will be); false when there is no stream
  async function firstSegment(url, state) {
    while (!state.stopped) {
      try {
        const r = await fetch(url, { credentials: "same-origin", cache: "no-store" });
        if (r.status === 404 || r.status === 410) return false;
        const text = r.ok ? await r.text() : "";
        const listed = text.split("#EXTINF").length - 1;
        if (listed >= START_SEGMENTS || (listed && text.includes("#EXT-X-ENDLIST"))) return true;
      } catch (e) { /* the network hiccupped: look again */ }
      await wait(PLAYLIST_POLL_MS);
    }
    return false;
  }

  function addTrack(video, src, o) {
    for (const t of video.textTracks) t.mode = "disabled";  // an earlier request's cues must not linger
    for (const old of video.querySelectorAll("track")) old.remove();
    if (!src) return;
    const track = document.createElement("track");
    Object.assign(track, { kind: "subtitles", srclang: o.language || "", label: o.label || "", src, default: !!o.showCaptions });
    video.append(track);
  }

  // start(video, {playlist, captions, language, label, showCaptions, onAttach, onPlaying}) -> a controller
  function start(video, o) {
    const state = { stopped: false, attached: false, hls: null, video };
    (async () => {
      if (!(await firstSegment(o.playlist, state)) || state.stopped) return;
      state.attached = true;
      addTrack(video, o.captions, o);
      if (o.onAttach) o.onAttach(video);
      if (mse()) {
        const hls = state.hls = new window.Hls(HLS_CONFIG);
        hls.on(window.Hls.Events.ERROR, (_event, data) => {
          if (!data.fatal) return;
          console.warn("stream:", data.type, data.details);
          if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
          else hls.startLoad();
        });
        hls.loadSource(o.playlist);
        hls.attachMedia(video);
      } else {
        video.src = o.playlist;
      }
      if (o.onPlaying) video.addEventListener("playing", o.onPlaying, { once: true });
      video.play().catch(() => {});  // without a gesture a browser may refuse sound: the controls are there
    })();

    function swap(mp4, poster, captions, done) {
      const old = state.video, at = old.ended ? old.duration : old.currentTime;
      const next = old.cloneNode(false);  // same id, classes and controls
      next.removeAttribute("src");
      next.preload = "auto";
      if (poster) next.poster = poster;
      addTrack(next, captions, o);
      next.addEventListener("loadedmetadata", () => { next.currentTime = Math.min(at, next.duration); }, { once: true });
      next.addEventListener("seeked", () => {  // the frame shown is the one the stream showed: replace it now
        old.replaceWith(next);
        if (state.hls) state.hls.destroy();
        old.removeAttribute("src"); old.load();
        state.video = next;
        if (done) done(next);
      }, { once: true });
      next.src = mp4;
    }

    return {
      get attached() { return state.attached; },
      get video() { return state.video; },
      stop() { state.stopped = true; },
      destroy() {  // a new request replaces this one on the page: no swap to this one's MP4 any more
        state.stopped = true;
        if (state.pending) state.video.removeEventListener("ended", state.pending);
        if (state.hls) state.hls.destroy();
        state.video.removeAttribute("src"); state.video.load();
      },
      // The MP4 is ready: swap when the stream has played out or is paused; false when no stream was shown.
      finish(mp4, poster, captions, done) {
        state.stopped = true;
        if (!state.attached) return false;
        const v = state.video;
        if (v.ended || v.paused) swap(mp4, poster, captions, done);
        else {
          state.pending = () => swap(mp4, poster, captions, done);
          v.addEventListener("ended", state.pending, { once: true });
        }
        return true;
      },
    };
  }

  return { start };
})();
