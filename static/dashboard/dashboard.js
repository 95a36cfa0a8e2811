/* The dashboard's few behaviours on top of htmx and its websocket extension:
   - tell the server, over the page's socket, what the page shows (after it opens and after
     every htmx swap) and whether the tab is visible (a hidden tab is sent nothing);
   - say when live updates are paused and come back (htmx reconnects with backoff);
   - expand an operation's row to its details, or to the form that edits its payload;
   - keep what the reader did (a ticked box, an expanded row, the focused control) across
     live swaps of a row or a panel (the overview, queues and consumers pages: dashboard/live/panels.py);
   - "Retry selected": select all, count, disabled while nothing is selected. */
(function () {
  "use strict";

  var socket = null;
  var opens = 0;
  var leaving = false;
  var NO_RETRY = [4401, 4403];

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $$(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function shown() {
    var main = $("#main");
    var table = $("#bulk-table");
    var bulks = {};
    $$("[data-bulk-uuid]", main).forEach(function (el) { bulks[el.dataset.bulkUuid] = true; });
    var operations = $$("[data-operation-id]", main).map(function (el) {
      return parseInt(el.dataset.operationId, 10);
    });
    return {
      page: document.body.dataset.page || "other",
      bulks: Object.keys(bulks),
      operations: operations,
      filters: table ? table.dataset.filters || "" : "",
      top: table ? table.dataset.atTop === "true" : false,
      rendered_at: (table && table.dataset.renderedAt) || document.body.dataset.renderedAt
    };
  }

  function send(message) {
    if (socket) { socket.send(JSON.stringify(message)); }
  }

  function watch(fresh) {
    var what = shown();
    what.fresh = fresh;
    send({ watch: what });
  }

  function setLive(state, label) {
    var status = $("#live-status");
    if (!status) { return; }
    status.dataset.state = state;
    $(".label", status).textContent = label;
  }

  document.addEventListener("htmx:wsOpen", function (event) {
    socket = event.detail.socketWrapper;
    var first = opens === 0;
    opens += 1;
    $("#connection-banner").hidden = true;
    setLive("live", "Live");
    watch(first);  // after a reconnection the server sends what was missed
    send({ visible: !document.hidden });
  });

  document.addEventListener("htmx:wsClose", function (event) {
    var code = event.detail.event && event.detail.event.code;
    if (NO_RETRY.indexOf(code) >= 0) {
      setLive("closed", "Not live: sign in again");
      return;
    }
    if (!leaving) {
      setLive("paused", "Reconnecting…");
      $("#connection-banner").hidden = false;
    }
  });

  window.addEventListener("beforeunload", function () { leaving = true; });

  document.addEventListener("visibilitychange", function () {
    send({ visible: !document.hidden });
  });

  // An htmx request swapped part of the page (a filter, a page of rows): say what it shows.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.requestConfig) {
      watch(true);
      refreshSelection();
    }
  });

  // -- live swaps keep what the reader did -----------------------------------------------------
  var kept = {};
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var target = event.detail.target;
    if (!target || !target.id) { return; }
    kept[target.id] = {
      checked: $$("input[type=checkbox]:checked", target).map(function (box) { return box.value; }),
      open: $$("details[open]", target).map(function (d) { return d.id; }).filter(Boolean)
    };
    if (target.tagName === "DETAILS" && target.open) { kept[target.id].self = true; }
    // A live panel redrawn under the keyboard's focus gives it back to the same control.
    var active = document.activeElement;
    if (active && active.id && active !== document.body && target.contains(active)) {
      kept[target.id].focus = active.id;
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var fresh = event.detail.target && document.getElementById(event.detail.target.id);
    if (!fresh) { return; }
    var state = kept[fresh.id];
    delete kept[fresh.id];
    if (state) {
      $$("input[type=checkbox]", fresh).forEach(function (box) {
        if (state.checked.indexOf(box.value) >= 0) { box.checked = true; }
      });
      state.open.forEach(function (id) { var d = document.getElementById(id); if (d) { d.open = true; } });
      var focused = state.focus && document.getElementById(state.focus);
      if (focused) { focused.focus({ preventScroll: true }); }
    }
    var toggle = $("details.menu", fresh);
    if (fresh.id === "notifications" && toggle && state && state.open.indexOf(toggle.id) >= 0) {
      toggle.open = true;
    }
    if (fresh.classList.contains("op-summary")) { rowSwapped(fresh); }
    refreshSelection();
  });

  // -- an operation's details -------------------------------------------------------------------
  function detailRow(row) {
    return document.getElementById("operation-detail-row-" + row.dataset.operationId);
  }

  function openDetail(row, url) {
    var detail = detailRow(row);
    if (!detail) { return; }
    detail.hidden = false;
    var expander = $(".expander", row);
    if (expander) { expander.setAttribute("aria-expanded", "true"); expander.textContent = "Hide"; }
    htmx.ajax("GET", url, { target: "#operation-detail-" + row.dataset.operationId, swap: "innerHTML" });
  }

  function closeDetail(row) {
    var detail = detailRow(row);
    if (detail) { detail.hidden = true; }
    var expander = $(".expander", row);
    if (expander) { expander.setAttribute("aria-expanded", "false"); expander.textContent = "Details"; }
  }

  function rowSwapped(row) {
    var detail = detailRow(row);
    if (!detail || detail.hidden) { return; }
    var expander = $(".expander", row);
    if (expander) { expander.setAttribute("aria-expanded", "true"); expander.textContent = "Hide"; }
    // Its history changed: show it again, unless the reader is editing the payload.
    if (!$("form.edit-form", detail) && expander) { openDetail(row, expander.dataset.detailUrl); }
  }

  document.addEventListener("click", function (event) {
    var expander = event.target.closest(".expander");
    if (expander) {
      var row = expander.closest("tr");
      if (expander.getAttribute("aria-expanded") === "true") { closeDetail(row); }
      else { openDetail(row, expander.dataset.detailUrl); }
      return;
    }
    var edit = event.target.closest("[data-edit-url]");
    if (edit) { openDetail(edit.closest("tr"), edit.dataset.editUrl); }
  });

  // -- "Retry selected" ----------------------------------------------------------------------------
  function refreshSelection() {
    var boxes = $$("input[name=operation][form=retry-selected-form]");
    var chosen = boxes.filter(function (box) { return box.checked; }).length;
    var button = $("#retry-selected-form [data-needs-selection]");
    var count = $("#retry-selected-form [data-selection-count]");
    if (button) { button.disabled = chosen === 0; }
    if (count) { count.textContent = chosen ? chosen + " selected" : ""; }
    var all = $("[data-select-all]");
    if (all) { all.checked = boxes.length > 0 && chosen === boxes.length; all.disabled = boxes.length === 0; }
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-select-all]")) {
      $$("input[name=operation][form=retry-selected-form]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    if (event.target.matches("input[type=checkbox]")) { refreshSelection(); }
  });

  // -- messages fade after a while (the live region has announced them) ----------------------------
  function fadeLater(toast) {
    var seconds = toast.classList.contains("toast-error") ? 20 : 8;
    setTimeout(function () { toast.remove(); }, seconds * 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    refreshSelection();
    var toasts = $("#toasts");
    if (!toasts) { return; }
    $$(".toast", toasts).forEach(fadeLater);
    new MutationObserver(function (changes) {
      changes.forEach(function (change) {
        Array.prototype.forEach.call(change.addedNodes, function (node) {
          if (node.nodeType !== 1) { return; }
          if (node.classList.contains("toast")) { fadeLater(node); }
          $$(".toast", node).forEach(fadeLater);
        });
      });
    }).observe(toasts, { childList: true, subtree: true });
  });
})();
