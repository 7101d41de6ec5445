/* localcvm console: light progressive enhancement (the pages work without it). */
(function () {
  "use strict";
  var FINAL = {NORMAL: 1, CREATEFAILED: 1, IMPORTFAILED: 1, RUNNING: 1, STOPPED: 1, LAUNCH_FAILED: 1,
               TERMINATED: 1, SHUTDOWN: 1, GONE: 1};

  var polled = false;

  function each(selector, fn) { Array.prototype.forEach.call(document.querySelectorAll(selector), fn); }

  function setup() {
    document.documentElement.classList.add("js");
    each("[data-autosubmit]", function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    each("form[data-confirm]", function (form) {
      form.addEventListener("submit", function (ev) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
    poll();
  }

  function pending(kind) {
    var ids = [];
    each("[data-progress-" + kind + "]", function (el) {
      if (!FINAL[el.getAttribute("data-state")]) { ids.push(el.getAttribute("data-progress-" + kind)); }
    });
    return ids;
  }

  function apply(kind, found) {
    each("[data-progress-" + kind + "]", function (el) {
      var id = el.getAttribute("data-progress-" + kind).split(":")[1];
      var s = found[id];
      if (!s) { return; }
      el.setAttribute("data-state", s.state);
      el.className = "badge state-" + s.state.toLowerCase();
      el.textContent = s.label;
      each('[data-pct-for="' + id + '"]', function (pct) {
        pct.textContent = (s.percent !== null && s.percent !== undefined && s.state !== "NORMAL") ? s.percent + "%" : "";
      });
    });
  }

  function poll() {
    var images = pending("image"), instances = pending("instance");
    if (!images.length && !instances.length) {
      // a page whose actions depend on the state shows them anew once the work is done
      if (polled && document.querySelector("[data-reload-when-done]")) { window.location.reload(); }
      return;
    }
    polled = true;
    var url = "/console/progress.json?images=" + encodeURIComponent(images.join(",")) +
              "&instances=" + encodeURIComponent(instances.join(","));
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) { apply("image", data.images); apply("instance", data.instances); }
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); } else { setup(); }
})();
