// Who is calling, and the calls: the roles of the document (their actor type and scopes are
// the manifest's), the actor headers they send, and the API called by operation id. The
// selector is the data marketplace's; the ML section's roles act through its own view.

// A section's roles by key; `section` is the manifest tag its pane names (data-section).
function rolesOf(section) {
  const roles = {};
  for (const role of C.roles.filter((r) => r.section === section)) {
    roles[role.key] = { label: role.label, type: role.actor_type, id: role.actor_id, scopes: role.scopes, privileges: role.privileges };
  }
  return roles;
}
const ROLES = rolesOf(document.getElementById("pane-data").dataset.section);
const roleSelect = document.getElementById("actor-role");
const actorIdInput = document.getElementById("actor-id");
for (const [key, role] of Object.entries(ROLES)) {
  const option = document.createElement("option");
  option.value = key;
  option.textContent = role.label + " (" + role.type + ")";
  roleSelect.append(option);
}

function actor() {
  const role = ROLES[roleSelect.value];
  return { role: roleSelect.value, type: role.type, id: actorIdInput.value.trim(), scopes: role.scopes, privileges: role.privileges };
}

// Whether `who` may call `op`, and if not, the reason the server would refuse it with (its
// auth layer checks the actor type before the scopes).
function permits(op, who) {
  const rule = op.auth;
  if (!rule.required) return { ok: true, missing: [] };
  const missing = rule.required_scopes.filter((scope) => !who.scopes.includes(scope));
  const typeOk = rule.allowed_actor_types.includes(who.type);
  const refusal = !typeOk ? C.auth_reasons.actor_type_not_allowed : missing.length ? C.auth_reasons.scope_missing : null;
  return { ok: !refusal, missing, typeOk, refusal };
}

// Acting as another role: the answers on the page were given to the previous one.
function setRole(key) {
  roleSelect.value = key;
  actorIdInput.value = ROLES[key].id;
  clearAnswers();
  renderActor();
}

// A form's own-id field (seller_node_id, model_owner_id) starts as its role's id and follows
// the actor id while that role acts and the field still holds the id it had.
let lastActorId = null;
function followActorId() {
  const who = actor();
  for (const input of document.querySelectorAll("[data-follows-role]")) {
    if (input.dataset.followsRole !== who.role) continue;
    if (!input.value || input.value === lastActorId) input.value = who.id;
  }
  lastActorId = who.id;
}

function renderActor() {
  const who = actor();
  const held = Object.keys(who.privileges);
  document.getElementById("actor-summary").innerHTML =
    "Requests carry <code>" + esc(C.headers.actor_type) + ": " + esc(who.type) + "</code>, <code>" + esc(C.headers.actor_id) + ": " + esc(who.id) +
    "</code>, <code>" + esc(C.headers.auth_scopes) + ": " + esc(who.scopes.join(" ")) + "</code>." +
    (held.length ? " They hold the privilege " + held.map((name) => "<code>" + esc(name) + "</code>").join(", ") + "." : "");
  for (const box of document.querySelectorAll("#pane-data .needs[data-op]")) renderNeeds(box);
}

function renderNeeds(box) {
  const op = C.operations[box.dataset.op];
  const who = actor();
  const verdict = permits(op, who);
  const rule = op.auth;
  let html = "<span>Needs " + rule.allowed_actor_types.map((t) => "<code>" + esc(t) + "</code>").join(" or ") +
    " with " + rule.required_scopes.map((s) => "<code>" + esc(s) + "</code>").join(" ") + ".</span>";
  if (verdict.ok) {
    html += '<span class="ok">You may, as ' + esc(ROLES[who.role].label.toLowerCase()) + ".</span>";
  } else {
    const lack = verdict.missing.length ? "lack " + verdict.missing.join(" ") : "are a " + who.type;
    html += '<span class="no">As ' + esc(ROLES[who.role].label.toLowerCase()) + " you " + esc(lack) + ": the server will answer " + esc(statusOf(verdict.refusal)) + ".</span>";
    const fit = Object.keys(ROLES).find((key) => permits(op, ROLES[key]).ok);
    if (fit) html += '<button type="button" class="secondary small" data-act-as="' + fit + '">Act as the ' + esc(ROLES[fit].label.toLowerCase()) + "</button>";
  }
  box.innerHTML = html;
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-act-as]");
  if (target) setRole(target.dataset.actAs);
});
// Enter in the actor id must not submit (and so reload) the page.
document.getElementById("acting-as").addEventListener("submit", (event) => event.preventDefault());
roleSelect.addEventListener("change", () => { setRole(roleSelect.value); lastActorId = actor().id; });
actorIdInput.addEventListener("input", () => { followActorId(); renderActor(); });

function freshKey() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "console-" + Date.now().toString(36) + "-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function pathOf(op, params, query) {
  let path = op.path.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(params[name]));
  const given = Object.entries(query || {}).filter(([, value]) => value !== undefined && value !== "");
  if (given.length) path += "?" + new URLSearchParams(given).toString();
  return path;
}

// The headers that authenticate a call of `op`: none for a public operation, the bearer
// credential `key` for an operation of another scheme than the gateway's (whose rule then
// has no `scheme`), else the actor headers of `as` or of the selected role.
function authHeaders(op, as, key) {
  const headers = {};
  if (!op.auth.required) return headers;
  if (op.auth.scheme) {
    headers[C.headers.credential] = "Bearer " + (key || "");
    return headers;
  }
  const who = as || actor();
  headers[C.headers.actor_type] = who.type;
  headers[C.headers.actor_id] = who.id;
  headers[C.headers.auth_scopes] = who.scopes.join(" ");
  return headers;
}

// Calls `opId`; `as` (a role) and `key` (a bearer credential) say who calls when the selected
// role does not. An answer in the `data` envelope has it unwrapped as `res.data`.
async function call(opId, options) {
  const { params = {}, body, query, as, key } = options || {};
  const op = C.operations[opId];
  const path = pathOf(op, params, query);
  const headers = authHeaders(op, as, key);
  if (body !== undefined) headers["content-type"] = "application/json";
  if (op.idempotency_required) headers[C.headers.idempotency_key] = freshKey();
  let response;
  try {
    response = await fetch(path, { method: op.method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    return { opId, status: 0, ok: false, body: { error: { code: "NETWORK", message: "The server could not be reached (" + error.message + ").", details: {} } } };
  }
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch (error) {
    json = { error: { code: "NOT_JSON", message: text.slice(0, 300), details: {} } };
  }
  return { opId, status: response.status, ok: response.ok, body: json, data: response.ok && op.envelope === "data" ? json.data : json };
}

function reasonOf(res) {
  const error = res.body.error || {};
  return (error.details && error.details.reason_code) || error.code || "";
}

function detailsWords(details) {
  const shown = Object.entries(details || {}).filter(([key]) => !["reason_code", "errors", "top_ranked_offers", "rejection_reasons"].includes(key));
  if (!shown.length) return "";
  return "<p>" + shown.map(([key, value]) => "<code>" + esc(key) + "</code>: " + esc(typeof value === "string" ? value : JSON.stringify(value))).join(" · ") + "</p>";
}

function errorBanner(res, heading) {
  const error = res.body.error || {};
  return '<div class="banner error" data-status="' + res.status + '">' +
    "<h4>" + esc(heading || "The server refused") + ": " + res.status + ' <span class="error-code">' + esc(reasonOf(res)) + "</span></h4>" +
    "<p>" + esc(error.message || "") + "</p>" + detailsWords(error.details) +
    (res.body.correlation_id ? '<p class="muted">correlation id <code>' + esc(res.body.correlation_id) + "</code></p>" : "") +
    "</div>";
}

function okBanner(html) {
  return '<div class="banner ok">' + html + "</div>";
}
