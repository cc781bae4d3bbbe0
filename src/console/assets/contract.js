// The marketref console. Plain script, no build step, no network but the API it drives.
//
// src/console/page.rs runs these parts in a fixed order inside one strict function:
// contract.js (this: the document), words.js (field guidance), validate.js (the in-page JSON
// Schema subset), api.js (who is calling, the calls), forms.js, views.js (lists, contract,
// timeline), dashboard.js (chart, status, refresh); then the ML marketplace's tab: ml_api.js
// (the tabs, the vendor key, the event stream), ml_catalog.js, ml_vendor.js (cards, activity,
// models, deployments), ml_training.js (the run form, a run's log and chart), ml_operator.js
// (vendors, rounds, stages, the ML forms' answers); and main.js (the steps, then the start).
//
// Everything the page knows of the contract comes from the document the server writes into
// #marketref-contract: the operations with their paths, auth rules, query parameters and field
// reasons, their request schemas, the reason codes with their messages and statuses, the header
// names, the roles with the scopes and actor type their operations require, the intent status
// table and the release blockers; for the ML tab, the stage table, the trainer's hyperparameter
// ranges as schemas and the pattern of its epoch lines. Forms, field guidance and in-page checks
// are built from it; the API is called by operation id. No scope, status, limit or header name
// is written here.

let C;
try {
  C = JSON.parse(document.getElementById("marketref-contract").textContent);
} catch (error) {
  contractError("The page's contract document does not parse: " + error.message);
  return;
}

function contractError(text) {
  const banner = document.getElementById("contract-error");
  banner.textContent = "Console contract error: " + text;
  banner.hidden = false;
}

// The HTTP status the server answers `code` with, from the registry.
function statusOf(code) {
  const reason = C.reasons[code];
  return reason ? reason.status : "?";
}

// The largest page an operation's `limit` query parameter allows.
function pageLimit(opId) {
  const param = (C.operations[opId].query_params || []).find((p) => p.name === "limit");
  return param ? { limit: param.maximum } : {};
}

// The reason the runtime answers for a failure of `rule` at `pointer`: the field's reason for
// that rule, else the longest field reason that is the pointer or a parent of it, else the
// operation's invalid-request reason.
function reasonFor(op, pointer, rule) {
  const byRule = (op.field_rule_reasons || {})[pointer];
  if (byRule && byRule[rule]) return byRule[rule];
  let best = null;
  for (const [prefix, code] of Object.entries(op.field_reasons || {})) {
    if ((pointer === prefix || pointer.startsWith(prefix + "/")) && (!best || prefix.length > best[0].length)) best = [prefix, code];
  }
  return best ? best[1] : op.invalid_request_reason;
}

// Elements of the HTML shell that name a part of the contract get it from the document.
for (const element of document.querySelectorAll("[data-header]")) element.textContent = C.headers[element.dataset.header];
for (const element of document.querySelectorAll("[data-status-of]")) element.textContent = statusOf(element.dataset.statusOf);
