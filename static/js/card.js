// The card page: counts the code's life down and loads a fresh code shortly before it expires.
// The page says how long the code lives (data-seconds-left), so the phone's clock does not
// matter. A hidden page (phone locked, another tab) is refreshed when it is shown again.
(function () {
  "use strict";

  var card = document.querySelector("[data-card-code]");
  if (!card) return;
  var lifetime = parseInt(card.getAttribute("data-seconds-left"), 10);
  var early = parseInt(card.getAttribute("data-refresh-early"), 10) || 30;
  if (!(lifetime > early)) return;
  var started = Date.now();
  var label = card.querySelector("[data-countdown-label]");
  // The sentence in the page's language, with {time} where the minutes and seconds go.
  var text = (label && label.getAttribute("data-countdown-text")) || "Valid for {time}, once.";
  var stale = card.querySelector("[data-stale-label]");
  var renewing = false;
  var timer;

  function secondsLeft() {
    return lifetime - (Date.now() - started) / 1000;
  }

  function renew() {
    if (renewing) return;
    renewing = true;
    window.clearInterval(timer);
    window.location.reload();
  }

  function tick() {
    var left = secondsLeft();
    var whole = Math.max(0, Math.ceil(left));
    if (label) {
      var seconds = String(whole % 60);
      var time = Math.floor(whole / 60) + ":" + (seconds.length < 2 ? "0" : "") + seconds;
      label.textContent = text.replace("{time}", time);
    }
    if (left <= 0) {
      card.classList.add("is-stale");
      if (label) label.hidden = true;
      if (stale) stale.hidden = false;
    }
    if (left <= early && document.visibilityState === "visible") renew();
  }

  timer = window.setInterval(tick, 1000);
  tick();
  document.addEventListener("visibilitychange", tick);
})();
