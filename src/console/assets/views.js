// The marketplace as the page shows it: the lists, the status moves of an intent, a contract
// with its timeline, scores and release, and the diagnostics of a selection.

const state = { offers: [], intents: [], contracts: [], rounds: [], openContract: null, intentErrors: {}, contractErrors: {} };

// Takes every answer of the server off the page (a step's result, a refusal at a field, on an
// intent's row or at the release), for when they were given to someone else.
function clearAnswers() {
  for (const form of Object.values(forms)) {
    // The ML section's answers were given to its own callers (a key, its operator).
    if (form.spec.ml) continue;
    document.getElementById(form.key + "-result").innerHTML = "";
    for (const field of form.fields) clearServerError(field);
  }
  state.intentErrors = {};
  state.contractErrors = {};
  for (const element of document.querySelectorAll("div.row-error, #release-error")) element.remove();
}

function money(value) {
  return esc(value) + " USD";
}

function badge(text) {
  return '<span class="state state-' + esc(text) + '">' + esc(text) + "</span>";
}

function scoreBars(breakdown) {
  const parts = ["quality", "cost", "trust", "total"];
  return '<div class="bars">' + parts.map((part) => {
    const value = Number(breakdown[part]);
    const width = Math.max(0, Math.min(100, value * 100));
    return '<span class="part">' + part + '</span><span class="bar" aria-hidden="true"><span class="' + part + '" style="width:' + width.toFixed(2) + '%"></span></span>' +
      '<span class="value" data-part="' + part + '">' + esc(breakdown[part]) + "</span>";
  }).join("") + "</div>";
}

function scoreCard(title, breakdown, extra, tags) {
  return '<article class="score-card"><h4>' + title + (tags || []).map((tag) => '<span class="tag">' + esc(tag) + "</span>").join("") + "</h4>" +
    (extra ? '<p class="muted">' + extra + "</p>" : "") + scoreBars(breakdown) + "</article>";
}

function rejectionWords(code) {
  const entry = C.rejection_reasons.find((r) => r.code === code);
  return entry && entry.words ? entry.words : code;
}

function plural(count, one, many) {
  return count + " " + (count === 1 ? one : many);
}

// Why offers were and were not selected: counts, each rule in words, the budget, the ranking.
function diagnosticsView(d, failed) {
  let html = '<dl class="counts">' +
    "<div><dt>offers evaluated</dt><dd data-count=\"offers_evaluated\">" + esc(d.offers_evaluated) + "</dd></div>" +
    "<div><dt>compatible</dt><dd data-count=\"compatible_offers\">" + esc(d.compatible_offers) + "</dd></div>" +
    "<div><dt>skipped for budget</dt><dd data-count=\"budget_rejected\">" + esc(d.budget_rejected) + "</dd></div></dl>";
  const reasons = Object.entries(d.rejection_reasons || {});
  const failing = reasons.filter(([, count]) => count > 0);
  if (failed) {
    const why = [];
    if (d.offers_evaluated === 0) why.push("There is no offer in the marketplace yet.");
    for (const [code, count] of failing) why.push(plural(count, "offer was", "offers were") + " left out because " + rejectionWords(code) + " (<code>" + esc(code) + "</code>).");
    if (d.budget_rejected > 0) why.push(plural(d.budget_rejected, "compatible offer was", "compatible offers were") + " skipped because its price would have pushed the total over the intent's budget (<code>budget_rejected</code>).");
    html += '<ul class="why">' + why.map((line) => "<li>" + line + "</li>").join("") + "</ul>";
  }
  html += "<h4>Eligibility rules</h4><ul class=\"reasons\">" + reasons.map(([code, count]) =>
    '<li class="' + (count ? "" : "zero") + '" data-reason="' + esc(code) + '"><span class="count">' + esc(count) + "</span> × <code>" + esc(code) + "</code>: " + esc(rejectionWords(code)) + "</li>").join("") + "</ul>";
  if ((d.top_ranked_offers || []).length) {
    html += "<h4>Best-ranked compatible offers</h4><div class=\"offer-scores\">" + d.top_ranked_offers.map((ranked) =>
      scoreCard(esc(ranked.offer_id), ranked.score_breakdown, null, [ranked.selected ? "selected" : ranked.skipped_for_budget ? "skipped for budget" : "not selected"])).join("") + "</div>";
  }
  return html;
}

function renderOffers() {
  const box = document.getElementById("offers-list");
  if (!state.offers.length) {
    box.innerHTML = '<p class="muted">No offer yet.</p>';
    return;
  }
  box.innerHTML = "<table><thead><tr><th>offer</th><th>title</th><th>seller</th><th>modality</th><th>quality</th><th>price</th><th>tasks</th><th>status</th></tr></thead><tbody>" +
    state.offers.map((o) => '<tr id="offer-row-' + esc(o.offer_id) + '"><td><code>' + esc(o.offer_id) + "</code></td><td>" + esc(o.title) + "</td><td>" + esc(o.seller_node_id) +
      "</td><td>" + esc(o.modality) + "</td><td>" + esc(o.quality_score) + "</td><td>" + money(o.price_per_round) + "</td><td>" + esc(o.allowed_tasks.join(", ") || "any") +
      "</td><td>" + badge(o.status) + "</td></tr>").join("") + "</tbody></table>";
}

const STATUS_VERBS = { cancelled: "Cancel", closed: "Close", open: "Reopen", matched: "Mark matched" };

function renderIntents() {
  const box = document.getElementById("intents-list");
  if (!state.intents.length) {
    box.innerHTML = '<p class="muted">No round intent yet.</p>';
    return;
  }
  box.innerHTML = "<table><thead><tr><th>intent</th><th>owner</th><th>task</th><th>modalities</th><th>min quality</th><th>budget</th><th>deadline</th><th>status</th><th>status moves</th></tr></thead><tbody>" +
    state.intents.map((intent) => {
      const moves = C.intent_transitions.filter((t) => t.from === intent.status).map((t) => {
        const buttonId = "intent-" + intent.intent_id + "-to-" + t.to;
        let blocked = "";
        if (t.when === "contract_released") {
          const contract = state.contracts.find((c) => c.contract_id === intent.contract_id);
          if (!contract || !C.released_contract_states.includes(contract.state)) {
            blocked = "only once the escrow of " + (intent.contract_id || "its contract") + " is released";
          }
        }
        return '<button type="button" class="secondary small" id="' + esc(buttonId) + '" data-intent="' + esc(intent.intent_id) + '" data-to="' + esc(t.to) + '"' +
          (blocked ? ' disabled aria-describedby="' + esc(buttonId) + '-why"' : "") + ">" + esc(STATUS_VERBS[t.to] || "Move to " + t.to) + "</button>" +
          (blocked ? ' <span class="muted" id="' + esc(buttonId) + '-why">' + esc(label(t.to)) + " " + esc(blocked) + ".</span>" : "");
      });
      const error = state.intentErrors[intent.intent_id];
      return '<tr id="intent-row-' + esc(intent.intent_id) + '"><td><code>' + esc(intent.intent_id) + "</code>" + (intent.round_id ? "<br><span class=\"muted\">" + esc(intent.round_id) + "</span>" : "") +
        "</td><td>" + esc(intent.model_owner_id) + "</td><td>" + esc(intent.task_type) + "</td><td>" + esc(intent.required_modalities.join(", ") || "any") +
        "</td><td>" + esc(intent.min_quality_score) + "</td><td>" + money(intent.budget_total) + "</td><td>" + esc(intent.deadline_ts) + "</td><td>" + badge(intent.status) +
        (intent.contract_id ? "<br><code>" + esc(intent.contract_id) + "</code>" : "") + "</td><td>" + (moves.join(" ") || '<span class="muted">none: the status table allows no move</span>') +
        (error ? '<div class="row-error" id="intent-' + esc(intent.intent_id) + '-error">' + error + "</div>" : "") + "</td></tr>";
    }).join("") + "</tbody></table>";
}

document.getElementById("intents-list").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-intent]");
  if (!button) return;
  const id = button.dataset.intent;
  button.disabled = true;
  const res = await call("roundIntents.update", { params: { intent_id: id }, body: { status: button.dataset.to } });
  if (res.ok) delete state.intentErrors[id];
  else state.intentErrors[id] = '<p class="row-error">' + res.status + " <span class=\"error-code\">" + esc(reasonOf(res)) + "</span>: " + esc(res.body.error.message) + "</p>" + detailsWords(res.body.error.details);
  await refreshAll("roundIntents.update");
});

function renderContracts() {
  const box = document.getElementById("contracts-list");
  if (!state.contracts.length) {
    box.innerHTML = '<p class="muted">No contract yet: a match makes one.</p>';
    return;
  }
  box.innerHTML = "<table><thead><tr><th>contract</th><th>intent</th><th>state</th><th>offers</th><th>agreed per round</th><th>round</th><th></th></tr></thead><tbody>" +
    state.contracts.map((c) => '<tr id="contract-row-' + esc(c.contract_id) + '"><td><code>' + esc(c.contract_id) + "</code></td><td><code>" + esc(c.round_intent_id) + "</code></td><td>" + badge(c.state) +
      "</td><td>" + esc(c.offer_count) + "</td><td>" + money(c.agreed_price_per_round_total) + "</td><td>" + esc(c.bound_round || "–") +
      '</td><td><button type="button" class="secondary small" data-open-contract="' + esc(c.contract_id) + '" id="open-' + esc(c.contract_id) + '">Open</button></td></tr>').join("") + "</tbody></table>";
}

document.getElementById("contracts-list").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-open-contract]");
  if (button) openContract(button.dataset.openContract, true);
});

async function openContract(id, focus) {
  state.openContract = id;
  const res = await call("dataContracts.get", { params: { contract_id: id } });
  const box = document.getElementById("contract-detail");
  if (!res.ok) {
    box.innerHTML = errorBanner(res, "Could not read " + id);
    return;
  }
  renderContract(res.body.contract);
  if (focus) document.getElementById("contract-title").focus();
}

function timelineData(event) {
  const data = event.data || {};
  switch (event.event) {
    case "contract_created": return "offers " + (data.offer_ids || []).join(", ") + "; agreed " + money(data.agreed_price_per_round_total) + " per round";
    case "bound_to_round": return "round " + esc(data.round_id) + "; accuracy " + esc(data.accuracy) + ", loss " + esc(data.loss);
    case "escrow_released": return "paid " + money(data.payout_total) + " to " + (data.payouts || []).map((p) => esc(p.seller_node_id) + " (" + money(p.amount) + ")").join(", ");
    default: return esc(JSON.stringify(data));
  }
}

function renderContract(contract) {
  const box = document.getElementById("contract-detail");
  const blocker = C.release_blockers[contract.state];
  const blockerText = blocker ? C.reasons[blocker].message : null;
  const sellers = contract.selected_offers.map((o) => o.seller_node_id).join(", ");
  const error = state.contractErrors[contract.contract_id];
  box.innerHTML =
    '<h3 id="contract-title" tabindex="-1">Contract <code>' + esc(contract.contract_id) + "</code> " + badge(contract.state) + "</h3>" +
    '<dl class="counts">' +
    "<div><dt>intent</dt><dd>" + esc(contract.round_intent_id) + "</dd></div>" +
    "<div><dt>model owner</dt><dd>" + esc(contract.model_owner_id) + "</dd></div>" +
    "<div><dt>round label</dt><dd>" + esc(contract.round_id || "–") + "</dd></div>" +
    "<div><dt>bound round</dt><dd>" + esc(contract.bound_round || "–") + "</dd></div>" +
    "<div><dt>agreed per round</dt><dd>" + money(contract.agreed_price_per_round_total) + "</dd></div>" +
    '<div><dt>escrow</dt><dd id="contract-escrow">' + esc(contract.escrow_status) + "</dd></div>" +
    '<div><dt>payout</dt><dd id="contract-payout">' + esc(contract.payout_status) + "</dd></div></dl>" +
    "<h4>Timeline</h4><ol class=\"timeline\" id=\"contract-timeline\">" + contract.timeline.map((event) =>
      '<li data-event="' + esc(event.event) + '"><span class="event">' + esc(event.event) + '</span> <span class="meta">#' + esc(event.seq) + " at " + esc(event.at) + " by " + esc(event.actor.type) + " " + esc(event.actor.id) +
      "</span><br>" + timelineData(event) + "</li>").join("") + "</ol>" +
    "<h4>Selected offers and their scores</h4><div class=\"offer-scores\">" + contract.selected_offers.map((offer) =>
      scoreCard("<code>" + esc(offer.offer_id) + "</code>", offer.score_breakdown, esc(offer.seller_node_id) + " · " + money(offer.price_per_round) + " · quality " + esc(offer.quality_score))).join("") + "</div>" +
    '<div class="release-box"><div class="needs" data-op="escrow.release"></div>' +
    '<button type="button" id="release-button"' + (blocker ? ' disabled aria-describedby="release-reason"' : "") + ">Release the escrow</button>" +
    '<p id="release-reason">' + (blocker
      ? "Release is not possible now: " + esc(blockerText) + " (<code>" + esc(blocker) + "</code>, contract state <code>" + esc(contract.state) + "</code>)." +
        (contract.released_at ? " Released at " + esc(contract.released_at) + "." : "")
      : "Pays " + esc(sellers) + " " + money(contract.agreed_price_per_round_total) + " in all, each its price.") + "</p>" +
    (error ? '<div id="release-error">' + error + "</div>" : "") + "</div>";
  renderNeeds(box.querySelector(".needs"));
  const button = document.getElementById("release-button");
  button.addEventListener("click", () => releaseEscrow(contract));
}

function confirmRelease(text) {
  const dialog = document.getElementById("release-dialog");
  document.getElementById("release-dialog-text").textContent = text;
  return new Promise((resolve) => {
    const finish = (answer) => {
      dialog.removeEventListener("cancel", onCancel);
      confirmButton.onclick = null;
      cancelButton.onclick = null;
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onCancel = (event) => { event.preventDefault(); finish(false); };
    const confirmButton = document.getElementById("release-confirm");
    const cancelButton = document.getElementById("release-cancel");
    confirmButton.onclick = () => finish(true);
    cancelButton.onclick = () => finish(false);
    dialog.addEventListener("cancel", onCancel);
    dialog.showModal();
    cancelButton.focus();
  });
}

async function releaseEscrow(contract) {
  const sellers = contract.selected_offers.map((o) => o.seller_node_id).join(", ");
  const yes = await confirmRelease("Release " + contract.agreed_price_per_round_total + " USD of escrow for " + contract.contract_id + " to " + sellers + "? The payout cannot be taken back.");
  if (!yes) return;
  const res = await call("escrow.release", { body: { contract_id: contract.contract_id } });
  if (res.ok) delete state.contractErrors[contract.contract_id];
  else state.contractErrors[contract.contract_id] = errorBanner(res, "Release refused");
  await refreshAll("escrow.release");
  const title = document.getElementById("contract-title");
  if (title) title.focus();
}
