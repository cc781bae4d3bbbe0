// The ML section's callers and its reading of the API: the tabs between the sections, the
// vendor key (held in this variable for the tab, never stored, shown as prefix and last 4),
// the ML operator's role, an event stream read through fetch (EventSource cannot send a
// bearer key), and the small views every ML part uses.

const ML_ROLES = rolesOf(document.getElementById("pane-ml").dataset.section);
const mlOperator = ML_ROLES.ml_operator;

// The key the vendor pasted, and what the server said it is. Never written anywhere but here.
let vendorKey = null;
let vendorShown = null;

function mlKey() {
  return vendorKey;
}

// The scopes of the key in use, as its listing shows them (null when they are not known).
function vendorScopes() {
  const summary = (ml.keys || []).find((k) => vendorKey && vendorKey.startsWith(k.prefix) && vendorKey.endsWith(k.last4));
  return summary ? summary.scopes : null;
}

// A key as the listings show it: its prefix (`vk_<key id>_`) and its last 4 characters.
function keyShown(key, summaries) {
  const summary = (summaries || []).find((k) => key.startsWith(k.prefix) && key.endsWith(k.last4));
  return summary ? summary.prefix + "…" + summary.last4 : key.slice(0, key.indexOf("_") + 1) + "…" + key.slice(-4);
}

// Tabs: one section shown at a time. Both stay in the Tab order (every control of the page
// is reachable by Tab alone, a test says), and the arrow keys move between them too.
const TABS = [["tab-data", "pane-data"], ["tab-ml", "pane-ml"]];
function showTab(tabId, focus) {
  for (const [tab, pane] of TABS) {
    const selected = tab === tabId;
    const button = document.getElementById(tab);
    button.setAttribute("aria-selected", String(selected));
    document.getElementById(pane).hidden = !selected;
  }
  if (focus) document.getElementById(tabId).focus();
  if (tabId === "tab-ml") refreshMl("the ML section");
}
// A link to a part of a hidden section (a skip link, a step) shows that section first.
window.addEventListener("hashchange", () => {
  const target = document.getElementById(location.hash.slice(1));
  const pane = target && target.closest(".pane");
  const tab = pane && TABS.find(([, p]) => p === pane.id);
  if (tab && pane.hidden) {
    showTab(tab[0], false);
    target.scrollIntoView({ block: "start" });
  }
});

// Relative times read as of now, not as of the last refresh.
setInterval(() => tickTimes(document.getElementById("pane-ml")), 10 * 1e3);

for (const [tab] of TABS) {
  const button = document.getElementById(tab);
  button.addEventListener("click", () => showTab(tab, false));
  button.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowRight" && event.key !== "ArrowLeft") return;
    const at = TABS.findIndex(([t]) => t === tab);
    const next = TABS[(at + (event.key === "ArrowRight" ? 1 : TABS.length - 1)) % TABS.length][0];
    showTab(next, true);
  });
}

// Replaces a box's content only when it changed, so that a refresh that brings nothing new
// does not move the page, the focus or a selection.
// Relative times are written into their <time> elements afterwards, so that the passing of
// time alone does not count as a change.
function setHtml(box, html) {
  const changed = box.dataset.shown !== html;
  if (changed) {
    box.innerHTML = html;
    box.dataset.shown = html;
  }
  tickTimes(box);
  return changed;
}

function tickTimes(box) {
  for (const element of box.querySelectorAll("time[datetime]")) element.textContent = ago(element.getAttribute("datetime"));
}

// "12 s ago", "3 min ago", "2 h ago", "4 d ago", or the time itself if it is in the future.
function ago(iso) {
  if (!iso) return "never";
  // Written 1e3 (milliseconds per second) so that it does not read as the epochs' limit.
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1e3);
  if (!Number.isFinite(seconds)) return iso;
  if (seconds < 0) return "at " + iso;
  const units = [[86400, "d"], [3600, "h"], [60, "min"], [1, "s"]];
  const [size, unit] = units.find(([n]) => seconds >= n) || units[units.length - 1];
  return Math.floor(seconds / size) + " " + unit + " ago";
}

// Its words ("3 min ago") are filled in by tickTimes.
function timeTag(iso) {
  return iso ? '<time datetime="' + esc(iso) + '" title="' + esc(iso) + '"></time>' : '<span class="muted">–</span>';
}

function num(value, digits) {
  return value === null || value === undefined ? "–" : esc(Number(value).toFixed(digits));
}

// What a call of `opId` needs, in words: the vendor key's scopes or the operator's headers.
function mlNeeds(box) {
  const op = C.operations[box.dataset.op];
  const scopes = op.auth.required_scopes.map((s) => "<code>" + esc(s) + "</code>").join(" ");
  if (op.auth.scheme) {
    const held = vendorScopes();
    const missing = op.auth.required_scopes.filter((scope) => held && !held.includes(scope));
    let verdict = '<span class="no">Paste a key in the vendor console first.</span>';
    if (vendorKey && missing.length) {
      const refusal = C.auth_reasons.credential_scope_missing;
      verdict = '<span class="no">The key in use lacks ' + esc(missing.join(" ")) + ": the server will answer " + esc(statusOf(refusal)) + " <code>" + esc(refusal) +
        "</code>. Issue a key with it, or use another.</span>";
    } else if (vendorKey) {
      verdict = '<span class="ok">The key in use holds them; it is sent as <code>' + esc(C.headers.credential) + "</code>.</span>";
    }
    box.innerHTML = "<span>Needs a vendor key" + (scopes ? " with " + scopes : "") + ".</span>" + verdict;
  } else {
    box.innerHTML = "<span>Needs " + op.auth.allowed_actor_types.map((t) => "<code>" + esc(t) + "</code>").join(" or ") + " with " + scopes +
      ".</span><span class=\"ok\">Sent as the " + esc(mlOperator.label) + " (<code>" + esc(mlOperator.id) + "</code>).</span>";
  }
}

// A refusal of the vendor's key itself (revoked, expired, malformed): the key is dropped, and
// the vendor is told what to do.
function keyRefused(res) {
  const op = C.operations[res.opId];
  if (!op || !op.auth.scheme || res.ok) return false;
  const reasons = C.auth_reasons.credential_refused;
  if (!reasons.includes(reasonOf(res))) return false;
  forgetKey(errorBanner(res, "The server no longer accepts this key") +
    '<p class="banner error">Paste a current key: ask the operator for one, or issue one with another key of yours. Nothing was changed.</p>');
  return true;
}

// Reads an event stream of `opId` (its manifest's `event_stream`), from after event `after`:
// `line(id, data)` for each event, `end(data)` for the end event. A stream that breaks off is
// opened again from the last id it gave (the header C.headers.last_event_id names); `stop()` ends the reading.
function followStream(opId, params, after, handlers) {
  const op = C.operations[opId];
  const stream = op.event_stream;
  const control = new AbortController();
  let last = after;
  let stopped = false;
  const read = async () => {
    const headers = authHeaders(op, null, vendorKey);
    if (last > 0) headers[C.headers.last_event_id] = String(last);
    const response = await fetch(pathOf(op, params, { [stream.query]: stream.value }), { headers, signal: control.signal });
    if (!response.ok) {
      const body = await response.json().catch(() => ({ error: { code: "NOT_JSON", message: "", details: {} } }));
      handlers.refused({ opId, status: response.status, ok: false, body });
      return true;
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = { id: null, name: "message", data: [] };
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "id") event.id = text;
          else if (field === "event") event.name = text;
          else if (field === "data") event.data.push(text);
        }
        if (event.name === stream.end_event) {
          handlers.end(event.data.join("\n"));
          return true;
        }
        if (event.id !== null) last = Number(event.id);
        if (event.data.length) handlers.line(last, event.data.join("\n"));
      }
    }
  };
  (async () => {
    for (let attempt = 0; !stopped && attempt < 20; attempt++) {
      try {
        if (await read()) return;
      } catch (error) {
        if (stopped) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return { stop: () => { stopped = true; control.abort(); } };
}
