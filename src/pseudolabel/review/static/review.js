// Keyboard shortcuts of the review page (vendored with the package; no network).
// digits 1-9, 0: the class button with that key; a: accept the pseudo-label; s: skip; u: undo; r: retrain.
(function () {
  "use strict";
  var busy = false;
  function submit(form, button) {
    if (!form || busy) return;
    busy = true; // one submission per page: the next page arrives by navigation
    if (button && form.requestSubmit) { form.requestSubmit(button); } else if (button) { button.click(); } else { form.submit(); }
  }
  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
    var k = ev.key;
    if (/^[0-9]$/.test(k)) {
      var b = document.querySelector('button.cls[data-key="' + k + '"]');
      if (b) { ev.preventDefault(); submit(document.getElementById("label-form"), b); }
    } else if (k === "a") {
      var acc = document.getElementById("accept");
      if (acc) { ev.preventDefault(); submit(document.getElementById("label-form"), acc); }
    } else if (k === "s") {
      ev.preventDefault(); submit(document.getElementById("skip-form"));
    } else if (k === "u") {
      ev.preventDefault(); submit(document.getElementById("undo-form"));
    } else if (k === "r") {
      ev.preventDefault(); submit(document.getElementById("retrain-form"));
    }
  });
  // the status page refreshes itself while a retrain runs
  var st = document.getElementById("status");
  if (st && st.getAttribute("data-retrain") === "running") {
    setTimeout(function () { window.location.reload(); }, 1500);
  }
})();
