// mcpgw web UI: small enhancements over server-rendered pages. Everything works
// without this script; with it, filters apply as one types, health follows the
// gateway live (/ui/events), switches flip without a reload, and code copies.
"use strict";
(function () {
  document.documentElement.classList.add("js");

  // ---- Relative times ------------------------------------------------------
  function ago(iso) {
    var t = Date.parse(iso);
    if (isNaN(t)) return null;
    var s = Math.max(0, Math.round((Date.now() - t) / 1000));
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }
  function refreshTimes() {
    document.querySelectorAll("time[data-field=last_checked]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      if (!iso) { el.textContent = "never"; return; }
      var rel = ago(iso);
      if (rel) { el.textContent = rel; el.title = new Date(iso).toISOString(); }
    });
  }

  // ---- Filters -------------------------------------------------------------
  var filters = document.querySelector("[data-filters]");
  function applyFilters() {
    if (!filters) return;
    var q = filters.elements.q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var tag = filters.elements.tag.value;
    var health = filters.elements.health.value;
    var transport = filters.elements.transport.value;
    var shown = 0, total = 0;
    document.querySelectorAll("[data-live-servers] [data-server]").forEach(function (el) {
      total++;
      var text = el.getAttribute("data-text") || "";
      var tags = [];
      try { tags = JSON.parse(el.getAttribute("data-tags") || "[]"); } catch (e) { tags = []; }
      var ok = q.every(function (w) { return text.indexOf(w) >= 0; }) &&
        (!tag || tags.indexOf(tag) >= 0) &&
        (!health || el.getAttribute("data-health") === health) &&
        (!transport || el.getAttribute("data-transport") === transport);
      el.hidden = !ok;
      if (ok) shown++;
    });
    var count = document.querySelector("[data-count]");
    if (count) count.textContent = shown === total ? String(total) : shown + " of " + total;
    var params = new URLSearchParams();
    if (q.length) params.set("q", filters.elements.q.value);
    if (tag) params.set("tag", tag);
    if (health) params.set("health", health);
    if (transport) params.set("transport", transport);
    var query = params.toString();
    history.replaceState(null, "", location.pathname + (query ? "?" + query : ""));
  }
  if (filters) {
    filters.addEventListener("input", applyFilters);
    filters.addEventListener("change", applyFilters);
    filters.addEventListener("submit", function (e) { e.preventDefault(); applyFilters(); });
  }

  // ---- Live health ---------------------------------------------------------
  var note = document.querySelector("[data-live-note]");
  function say(text, reload) {
    if (!note) return;
    note.textContent = text;
    if (reload) {
      var link = document.createElement("a");
      link.href = location.href;
      link.textContent = "Reload";
      note.appendChild(link);
    }
  }
  function setText(root, field, text) {
    root.querySelectorAll("[data-field=" + field + "]").forEach(function (el) { el.textContent = text; });
  }
  function update(el, s) {
    el.setAttribute("data-health", s.health);
    el.querySelectorAll("[data-field=health]").forEach(function (b) {
      b.className = "health h-" + s.health;
      b.textContent = s.health;
    });
    setText(el, "reason", s.reason);
    setText(el, "num_tools", String(s.num_tools));
    el.querySelectorAll("time[data-field=last_checked]").forEach(function (t) {
      t.setAttribute("datetime", s.last_checked);
      t.textContent = s.last_checked_text;
    });
    el.querySelectorAll("button[role=switch][data-field=enabled]").forEach(function (b) {
      showSwitch(b, s.enabled);
    });
    setText(el, "enabled-text", s.enabled ? "enabled" : "disabled");
  }
  function showSwitch(button, enabled) {
    button.setAttribute("aria-checked", String(enabled));
    var text = button.querySelector(".switch-text");
    if (text) text.textContent = enabled ? "on" : "off";
    var form = button.form;
    if (form && form.elements.enabled) form.elements.enabled.value = String(!enabled);
  }
  var live = document.querySelector("[data-live-servers]");
  if (live && window.EventSource) {
    var listPage = !!filters;
    var source = new EventSource("/ui/events");
    source.addEventListener("health", function (e) {
      var data = JSON.parse(e.data);
      var seen = {};
      var added = 0;
      var toolsChanged = false;
      data.servers.forEach(function (s) {
        seen[s.path] = true;
        var els = Array.prototype.filter.call(
          document.querySelectorAll("[data-server]"),
          function (el) { return el.getAttribute("data-server") === s.path; });
        if (!els.length && listPage) added++;
        els.forEach(function (el) {
          update(el, s);
          var rendered = el.getAttribute("data-tools");
          if (rendered !== null && rendered !== String(s.num_tools)) toolsChanged = true;
        });
      });
      var removed = 0;
      document.querySelectorAll("[data-live-servers] [data-server]").forEach(function (el) {
        if (!seen[el.getAttribute("data-server")]) { removed++; el.classList.add("gone"); }
      });
      var parts = [];
      if (added) parts.push(added + (added === 1 ? " server was" : " servers were") + " added");
      if (removed) parts.push(removed + (removed === 1 ? " server was" : " servers were") + " removed");
      if (parts.length) {
        say(parts.join(" and ") + ": reload to see the list as it is now.", true);
      } else if (toolsChanged) {
        say("The server's tools changed since this page was loaded.", true);
      } else {
        say("");
      }
      refreshTimes();
      if (listPage) applyFilters();
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        say("Live updates stopped (signed out or the gateway restarted): reload the page.");
      }
    });
  }

  // ---- Switches without a reload --------------------------------------------
  document.querySelectorAll("form.toggle").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = form.querySelector("button[role=switch]");
      var want = form.elements.enabled.value === "true";
      button.disabled = true;
      fetch(form.action, {
        method: "POST",
        body: new URLSearchParams(new FormData(form)),
        credentials: "same-origin",
        headers: { "X-Mcpgw-Ui": "1" },
        redirect: "manual"
      }).then(function (r) {
        if (r.status === 204) {
          showSwitch(button, want);
          say("");
        } else if (r.type === "opaqueredirect") {
          say("Your session has ended: reload the page to sign in again.", true);
        } else {
          say("Could not " + (want ? "enable" : "disable") + " the server (HTTP " + r.status + "): reload and try again.", true);
        }
      }).catch(function () {
        say("The gateway did not answer: try again.");
      }).finally(function () { button.disabled = false; button.focus(); });
    });
  });

  // ---- Copy buttons -------------------------------------------------------
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (!target) return;
      var text = target.textContent;
      var label = button.getAttribute("data-label") || button.textContent;
      button.setAttribute("data-label", label);
      var done = function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () { select(target); });
      } else {
        select(target);
      }
    });
  });
  function select(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  // ---- Transport fields ------------------------------------------------------
  var transport = document.querySelector("[data-transport-select]");
  function showTransport() {
    var http = transport.value !== "stdio";
    document.querySelectorAll("[data-for-transport]").forEach(function (group) {
      group.hidden = (group.getAttribute("data-for-transport") === "http") !== http;
    });
  }
  if (transport) { transport.addEventListener("change", showTransport); showTransport(); }

  refreshTimes();
  setInterval(refreshTimes, 5000);
})();

// A link to a tool (#tool-name) opens its section.
(function () {
  function openTarget() {
    if (!location.hash) return;
    // Ids are percent-encoded tool names; a hash may arrive encoded or not.
    var id = location.hash.slice(1);
    var el = document.getElementById(id);
    if (!el) {
      try { el = document.getElementById(encodeURIComponent(decodeURIComponent(id))); } catch (e) { el = null; }
    }
    if (el && el.tagName === "DETAILS") { el.open = true; el.scrollIntoView(); }
  }
  window.addEventListener("hashchange", openTarget);
  openTarget();
})();

// Choices that only change what a page shows apply at once.
document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
