// slokeeper web UI: instant search on the SLO list, and "/" to focus it.
// Progressive enhancement only: every page works without this file, the
// filter form is submitted to the server as usual.
(function () {
  "use strict";

  function setupSearch() {
    var input = document.getElementById("q");
    var table = document.getElementById("slo-table");
    if (!input || !table) {
      return;
    }
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var count = document.getElementById("count");
    var none = document.getElementById("no-match");
    var total = count ? count.textContent.replace(/^\d+ of /, "") : "";

    function apply() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (row) {
        var text = row.getAttribute("data-search") || "";
        var ok = terms.every(function (t) { return text.indexOf(t) !== -1; });
        row.hidden = !ok;
        if (ok) {
          shown++;
        }
      });
      if (count) {
        count.textContent = shown + " of " + total;
      }
      if (none) {
        none.hidden = shown !== 0;
      }
    }

    input.addEventListener("input", apply);
    document.addEventListener("keydown", function (e) {
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) {
        return;
      }
      var t = e.target;
      var tag = t && t.tagName;
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || (t && t.isContentEditable)) {
        return;
      }
      e.preventDefault();
      input.focus();
      input.select();
    });
    if (input.value) {
      apply();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupSearch);
  } else {
    setupSearch();
  }
})();
