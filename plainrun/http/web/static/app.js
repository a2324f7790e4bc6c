// plainrun's UI: small progressive enhancements; every page works without them.
(function () {
  "use strict";

  function csrf() {
    var main = document.getElementById("main");
    return main ? main.getAttribute("data-csrf") || "" : "";
  }

  // The run page: poll the live fragment until the run has ended; replace it only when it changed.
  function live(box) {
    var url = box.getAttribute("data-live");
    var delay = 700;
    function tick() {
      var head = box.querySelector("[data-live-version]");
      if (!head || head.hasAttribute("data-live-final")) return;
      // Do not replace a form the person is filling in.
      if (box.contains(document.activeElement) && document.activeElement.form) {
        return setTimeout(tick, delay);
      }
      var version = head.getAttribute("data-live-version");
      fetch(url + "?v=" + encodeURIComponent(version), {
        credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf() },
        cache: "no-store"
      }).then(function (response) {
        if (response.status === 200) return response.text();
        if (response.status !== 204) throw new Error("HTTP " + response.status);
        return null;
      }).then(function (html) {
        if (html !== null) {
          box.innerHTML = html;
          var state = box.querySelector("#run-state");
          var announce = document.getElementById("live-announce");
          if (state && announce) announce.textContent = "Run state: " + state.textContent;
        }
        delay = 700;
        setTimeout(tick, delay);
      }).catch(function () {
        delay = Math.min(delay * 2, 10000);
        setTimeout(tick, delay);
      });
    }
    setTimeout(tick, delay);
  }

  // Pages that refresh while something runs (a test run).
  function refresh(el) {
    var ms = parseInt(el.getAttribute("data-refresh"), 10) || 2000;
    setTimeout(function () {
      if (!document.activeElement || !document.activeElement.form) window.location.reload();
      else refresh(el);
    }, ms);
  }

  // The Guidance Center: reload when what it lists changed (a short text polled every second).
  function watch(el) {
    var url = el.getAttribute("data-watch");
    var seen = el.getAttribute("data-watch-version");
    function tick() {
      fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (response) {
        if (response.status !== 200) throw new Error("HTTP " + response.status);
        return response.text();
      }).then(function (text) {
        var busy = document.activeElement && document.activeElement.form;
        if (text !== seen && !busy) { window.location.reload(); return; }
        setTimeout(tick, 1000);
      }).catch(function () { setTimeout(tick, 5000); });
    }
    setTimeout(tick, 1000);
  }

  // View Runs: select all, and the count of selected runs.
  function bulk(form) {
    var all = form.querySelector("[data-select-all]");
    var count = form.querySelector("[data-selected-count]");
    var boxes = function () { return form.querySelectorAll("input[name=run_ids]"); };
    function update() {
      var n = 0;
      boxes().forEach(function (b) { if (b.checked) n += 1; });
      if (count) count.textContent = n + " selected";
      if (all) all.checked = n > 0 && n === boxes().length;
    }
    form.addEventListener("change", function (event) {
      if (event.target === all) boxes().forEach(function (b) { b.checked = all.checked; });
      update();
    });
    update();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(live);
    document.querySelectorAll("[data-refresh]").forEach(refresh);
    document.querySelectorAll("[data-watch]").forEach(watch);
    document.querySelectorAll("form[data-bulk]").forEach(bulk);
  });
})();
