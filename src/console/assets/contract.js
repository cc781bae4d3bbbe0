// The marketref console. Plain script, no build step, no network but the API it drives.
//
// src/console/page.rs runs these parts in a fixed order inside one strict function:
// contract.js (this: the document), words.js (field guidance), validate.js (the in-page JSON
// Schema subset), api.js (who is calling, the calls), forms.js, views.js (lists, contract,
// timeline), dashboard.js (chart, status, refresh) and main.js (the steps).
//
// Everything the page knows of the contract comes from the document the server writes into
// #marketref-contract: the operations with their paths, auth rules and field reasons, their
// request schemas, the reason-code messages, the intent status table and the release blockers.
// Forms, field guidance and in-page checks are built from it; the API is called by operation id.

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
