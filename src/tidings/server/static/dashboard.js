// Tidings dashboard: progressive enhancement only. Every form works without this file.
"use strict";

// Offer only the operators that fit the chosen value type (the server validates regardless).
function narrowOperators(scope) {
  scope.querySelectorAll("select[data-types-source]").forEach(function (source) {
    var row = source.closest("fieldset") || scope;
    var ops = row.querySelector("select[data-ops]");
    if (!ops) return;
    var apply = function () {
      var type = source.value;
      var current = ops.options[ops.selectedIndex];
      Array.prototype.forEach.call(ops.options, function (opt) {
        var types = (opt.getAttribute("data-types") || "").split(" ");
        opt.disabled = opt.hidden = types.indexOf(type) < 0;
      });
      if (current && current.disabled) {
        var first = Array.prototype.find.call(ops.options, function (o) { return !o.disabled; });
        if (first) ops.value = first.value;
      }
    };
    source.addEventListener("change", apply);
    apply();
  });
}

// The deep-link URL fields only matter for deep-link campaigns, the webhook fields for server ones.
function toggleDeepLink(form) {
  var radios = form.querySelectorAll("input[name=type]");
  if (!radios.length) return;
  var apply = function () {
    var checked = form.querySelector("input[name=type]:checked");
    var deepLink = !checked || checked.value === "DeepLink";
    form.querySelectorAll(".deeplink-only").forEach(function (el) { el.hidden = !deepLink; });
    var server = !!checked && checked.value === "Webhook";
    form.querySelectorAll(".server-only").forEach(function (el) { el.hidden = !server; });
  };
  radios.forEach(function (r) { r.addEventListener("change", apply); });
  apply();
}

// Show the fields a checkbox enables only while it is checked.
function toggleByCheckbox() {
  document.querySelectorAll("[data-shown-by]").forEach(function (el) {
    var box = document.getElementById(el.getAttribute("data-shown-by"));
    if (!box) return;
    var apply = function () { el.hidden = !box.checked; };
    box.addEventListener("change", apply);
    apply();
  });
}

function confirmForms() {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
}

function cell(text, code) {
  var td = document.createElement("td");
  if (code) {
    var c = document.createElement("code");
    c.textContent = text;
    td.appendChild(c);
  } else {
    td.textContent = text;
  }
  return td;
}

function when(ms) {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

// A signed-in JSON GET; a redirect (to sign-in) or an error status rejects.
function getJson(url) {
  return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) {
      if (response.redirected || !response.ok) throw new Error("signed out or unavailable");
      return response.json();
    });
}

// An event's properties as "key value" lines, as the server renders them.
function propsCell(props) {
  var td = document.createElement("td");
  if (!props.length) return td;
  var dl = document.createElement("dl");
  dl.className = "props";
  props.forEach(function (kv) {
    var line = document.createElement("div");
    var dt = document.createElement("dt");
    var dd = document.createElement("dd");
    dt.textContent = kv[0];
    dd.textContent = kv[1];
    line.appendChild(dt);
    line.appendChild(dd);
    dl.appendChild(line);
  });
  td.appendChild(dl);
  return td;
}

// Poll the app's new events and put them at the top of the table (only on the newest page).
function liveStream(table) {
  if (!table.getAttribute("data-poll")) return;
  var after = table.getAttribute("data-after");
  var status = document.getElementById("live-status");
  var body = table.querySelector("tbody");
  var params = function () {
    var q = new URLSearchParams({ after: after });
    if (table.getAttribute("data-name")) q.set("name", table.getAttribute("data-name"));
    if (table.getAttribute("data-match")) q.set("match", table.getAttribute("data-match"));
    if (table.getAttribute("data-device")) q.set("device", table.getAttribute("data-device"));
    if (table.getAttribute("data-system")) q.set("system", table.getAttribute("data-system"));
    return q.toString();
  };
  var poll = function () {
    getJson(table.getAttribute("data-poll") + "?" + params())
      .then(function (data) {
        after = String(data.after);
        data.events.forEach(function (e) {
          var tr = document.createElement("tr");
          tr.className = "new";
          tr.appendChild(cell(when(e.timestamp)));
          tr.appendChild(cell(e.name));
          tr.appendChild(cell(e.type));
          tr.appendChild(cell(e.deviceId || "", true));
          tr.appendChild(cell(e.userId || ""));
          tr.appendChild(propsCell(e.props || []));
          body.insertBefore(tr, body.firstChild);
        });
        while (body.rows.length > 500) body.deleteRow(body.rows.length - 1);
        reflowTables();
        if (data.events.length) {
          var empty = document.getElementById("stream-empty");
          if (empty) empty.remove();
          status.textContent = data.events.length + " new event(s) at " + new Date().toLocaleTimeString();
        } else if (status.textContent.indexOf("Live") !== 0 && status.textContent.indexOf("new") < 0) {
          status.textContent = "Live: checking for new events every 2 s.";
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        status.textContent = "Live updates stopped (signed out or server unreachable). Reload the page.";
      });
  };
  poll();
}

// Poll the new app's events until the first ones arrive; bounded to FIRST_EVENTS_POLLS polls.
var FIRST_EVENTS_POLLS = 900; // 30 minutes at one poll every 2 s
function firstEvents(section) {
  var after = section.getAttribute("data-after");
  var status = document.getElementById("first-events-status");
  var list = document.getElementById("first-events-list");
  var polls = 0;
  var seen = 0;
  var firstName = "";
  var poll = function () {
    polls += 1;
    getJson(section.getAttribute("data-poll") + "?" + new URLSearchParams({ after: after, system: "1" }).toString())
      .then(function (data) {
        after = String(data.after);
        data.events.forEach(function (e) {
          if (seen >= 20) return;
          seen += 1;
          if (!firstName) firstName = e.name;
          var li = document.createElement("li");
          li.textContent = when(e.timestamp) + "  " + e.name + (e.deviceId ? "  from " + e.deviceId : "") + (e.userId ? "  user " + e.userId : "");
          list.appendChild(li);
        });
        if (seen) {
          status.textContent = "First event received: " + firstName + ". Your app is live.";
          section.classList.add("live");
        }
        if (seen >= 20) return;
        if (polls >= FIRST_EVENTS_POLLS) {
          if (!seen) status.textContent = "Still waiting. Open the live stream to keep watching.";
          return;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        status.textContent = "Stopped waiting (signed out or server unreachable). Open the live stream to keep watching.";
      });
  };
  poll();
}

// After a failed save the error summary takes focus; after "Add rule" the new rule does.
function focusOnLoad() {
  var target = document.querySelector("[data-focus-on-load]");
  if (target) {
    target.focus({ preventScroll: true });
    target.scrollIntoView({ block: "center" });
  }
  // A summary link moves focus to its field (a plain fragment link only scrolls).
  document.querySelectorAll("#error-summary a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      if (!field.matches("input, select, textarea, button")) {
        field = field.querySelector("input:not([type=hidden]), select, textarea") || field;
      }
      field.focus({ preventScroll: true });
      field.scrollIntoView({ block: "center" });
    });
  });
}

// "About N devices match Who": re-estimated 400 ms after the Who stops changing.
function audienceEstimate(form) {
  var out = document.getElementById("audience");
  if (!out) return;
  var who = document.querySelector("section[aria-labelledby=step-who]");
  var timer = null;
  var asked = 0;
  var run = function () {
    var mine = ++asked;
    var data = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "action" && typeof value === "string") data.append(key, value);
    });
    out.setAttribute("aria-busy", "true");
    fetch(out.getAttribute("data-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body: data
    }).then(function (response) {
      if (response.redirected || !response.ok) throw new Error("unavailable");
      return response.json();
    }).then(function (result) {
      if (mine !== asked) return; // a newer estimate is on its way
      out.textContent = result.text;
      out.setAttribute("data-devices", result.complete ? String(result.devices) : "");
      out.removeAttribute("aria-busy");
    }).catch(function () {
      if (mine === asked) out.textContent = "Audience estimate unavailable (signed out or server unreachable).";
      out.removeAttribute("aria-busy");
    });
  };
  var later = function () {
    if (timer) window.clearTimeout(timer);
    timer = window.setTimeout(run, 400);
  };
  if (who) {
    who.addEventListener("input", later);
    who.addEventListener("change", later);
  }
  run();
}

// On a phone a table shows one row as a card; each cell is labelled with its column's header.
function reflowTables() {
  document.querySelectorAll("main table").forEach(function (table) {
    var heads = table.querySelectorAll("thead th");
    if (!heads.length) return;
    var names = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (cell, i) {
        if (names[i] && cell.tagName === "TD") cell.setAttribute("data-label", names[i]);
      });
    });
  });
}

function copyButtons() {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) return;
      navigator.clipboard.writeText(source.textContent).then(function () {
        button.textContent = "Copied";
      }, function () {
        button.textContent = "Select the text to copy it";
      });
    });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  narrowOperators(document);
  document.querySelectorAll("form.editor").forEach(toggleDeepLink);
  document.querySelectorAll("form.editor").forEach(audienceEstimate);
  toggleByCheckbox();
  confirmForms();
  var stream = document.getElementById("stream");
  if (stream) liveStream(stream);
  var first = document.getElementById("first-events");
  if (first) firstEvents(first);
  copyButtons();
  reflowTables();
  focusOnLoad();
});
