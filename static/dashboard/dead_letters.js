/* The dead-letters page: per queue, "select all", the count of the selected ones, buttons
   disabled while nothing is selected, a confirmation that says how many are chosen; a
   queue's list drawn again when its live count changes, keeping the ticked boxes. */
(function () {
  "use strict";

  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function boxes(formId) { return $$('input[name=key][form="' + formId + '"]'); }

  function refresh() {
    $$("form.dlq-toolbar[id]").forEach(function (form) {
      var all = boxes(form.id);
      var chosen = all.filter(function (box) { return box.checked; }).length;
      $$("[data-needs-selection]", form).forEach(function (button) { button.disabled = chosen === 0; });
      var count = form.querySelector("[data-selection-count]");
      if (count) { count.textContent = chosen ? chosen + " selected" : ""; }
      var head = document.querySelector('[data-select-all="' + form.id + '"]');
      if (head) { head.checked = all.length > 0 && chosen === all.length; }
    });
  }

  document.addEventListener("change", function (event) {
    var formId = event.target.getAttribute("data-select-all");
    if (formId) {
      boxes(formId).forEach(function (box) { box.checked = event.target.checked; });
    }
    if (event.target.matches("input[type=checkbox]")) { refresh(); }
  });

  // "Send back selected": the question names how many are selected.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var template = elt && elt.getAttribute("data-confirm-selected");
    if (!template || !event.detail.question) { return; }
    event.preventDefault();
    var chosen = boxes(elt.form.id).filter(function (box) { return box.checked; }).length;
    if (window.confirm(template.replace("{count}", chosen))) { event.detail.issueRequest(true); }
  });

  // A queue's list redrawn (a live count changed, or after an action) keeps the boxes ticked.
  var kept = {};
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.classList || !target.classList.contains("dlq-section")) { return; }
    var form = target.querySelector("form.dlq-toolbar[id]");
    if (!form) { return; }
    kept[target.id] = boxes(form.id).filter(function (box) { return box.checked; }).map(function (box) { return box.value; });
  });

  document.addEventListener("htmx:afterSettle", function () {
    Object.keys(kept).forEach(function (id) {
      var section = document.getElementById(id);
      var form = section && section.querySelector("form.dlq-toolbar[id]");
      if (form) {
        boxes(form.id).forEach(function (box) { if (kept[id].indexOf(box.value) >= 0) { box.checked = true; } });
      }
    });
    kept = {};
    refresh();
  });
  // A live count differs from the one the list was drawn with: draw that queue's list again.
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var id = event.detail.target && event.detail.target.id;
    if (!id || id.indexOf("dlq-count-") !== 0) { return; }
    var count = document.getElementById(id);
    var section = document.getElementById("dlq-section-" + id.slice("dlq-count-".length));
    if (!count || !section || count.dataset.count === section.dataset.count || count.dataset.count === "") { return; }
    section.dataset.count = count.dataset.count;  // asked once per change
    htmx.ajax("GET", window.location.href, { target: "#" + section.id, select: "#" + section.id, swap: "outerHTML" });
  });

  document.addEventListener("DOMContentLoaded", refresh);
})();
