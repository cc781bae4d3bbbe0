// The steps of the loop: each form wired to the view of its answer, then the first render.

for (const element of document.querySelectorAll("form.api-form")) buildForm(element);

function setIntentTargets(intentId) {
  for (const key of ["preview", "match"]) {
    const field = forms[key].fields.find((f) => f.dotted === "round_intent_id");
    if (field) field.inputs[0].value = intentId;
  }
}

onSubmit(forms.offer, (res, field) => {
  const box = document.getElementById("offer-result");
  if (res.ok) {
    const o = res.body.offer;
    box.innerHTML = okBanner("<h4>Offer <code>" + esc(o.offer_id) + "</code> created</h4><p>Status " + badge(o.status) + ", " + esc(o.title) + ", " + money(o.price_per_round) +
      " per round. Defaults filled in: label_schema <code>" + esc(o.label_schema) + "</code>, privacy_profile <code>" + esc(o.privacy_profile) + "</code>, min_rounds " + esc(o.min_rounds) + ".</p>");
  } else {
    box.innerHTML = errorBanner(res, field ? "The offer was refused at " + field.dotted : "The offer was refused");
  }
});

onSubmit(forms.intent, (res, field) => {
  const box = document.getElementById("intent-result");
  if (res.ok) {
    const i = res.body.intent;
    setIntentTargets(i.intent_id);
    box.innerHTML = okBanner("<h4>Intent <code>" + esc(i.intent_id) + "</code> posted</h4><p>Status " + badge(i.status) + ", budget " + money(i.budget_total) + ", deadline " + esc(i.deadline_ts) +
      ". The preview and match forms below now name it.</p>");
  } else {
    box.innerHTML = errorBanner(res, field ? "The intent was refused at " + field.dotted : "The intent was refused");
  }
});

onSubmit(forms.preview, (res) => {
  const box = document.getElementById("preview-result");
  if (!res.ok) {
    box.innerHTML = errorBanner(res, "The preview was refused");
    return;
  }
  const p = res.body.preview;
  const policy = p.policy;
  box.innerHTML = okBanner("<h4>A match would select " + plural(p.selected_offers.length, "offer", "offers") + " for " + money(p.agreed_price_per_round_total) + " of a " + money(policy.budget_total) + " budget</h4>" +
    "<p>Policy: task <code>" + esc(policy.task_type) + "</code>, modalities " + esc(policy.required_modalities.join(", ") || "any") + ", min quality " + esc(policy.min_quality_score) +
    ", at most " + esc(policy.max_offers) + " offers, evaluated at " + esc(policy.evaluated_at) + ". Nothing changed.</p>") +
    "<h4>Would-be selection</h4>" + (p.selected_offers.length ? '<div class="offer-scores" id="preview-selected">' + p.selected_offers.map((offer) =>
      scoreCard("<code>" + esc(offer.offer_id) + "</code>", offer.score_breakdown, esc(offer.seller_node_id) + " · " + money(offer.price_per_round) + " · quality " + esc(offer.quality_score))).join("") + "</div>"
      : '<p class="muted">Nothing would be selected: a match would answer ' + esc(statusOf(C.empty_selection_reason)) + " " + esc(C.empty_selection_reason) + ".</p>") +
    "<h4>Diagnostics</h4>" + diagnosticsView(p.diagnostics, p.selected_offers.length === 0);
});

onSubmit(forms.match, async (res) => {
  const box = document.getElementById("match-result");
  if (res.ok) {
    const c = res.body.contract;
    box.innerHTML = okBanner("<h4>Contract <code>" + esc(c.contract_id) + "</code> created</h4><p>State " + badge(c.state) + ", escrow " + esc(c.escrow_status) + " (" + money(c.agreed_price_per_round_total) +
      "), " + plural(c.offer_count, "offer", "offers") + ". Intent <code>" + esc(c.round_intent_id) + "</code> is now matched.</p>" +
      '<button type="button" class="secondary" data-open-contract="' + esc(c.contract_id) + '" id="match-open-contract">Open the contract</button>');
    box.querySelector("button").addEventListener("click", () => {
      openContract(c.contract_id, true);
    });
  } else if (reasonOf(res) === C.empty_selection_reason) {
    const d = res.body.error.details;
    box.innerHTML = '<div class="banner error" id="no-match" data-status="' + res.status + '"><h4>No contract: no offer matched <code>' + esc(d.round_intent_id) + "</code> (" + res.status + ' <span class="error-code">' + esc(reasonOf(res)) + "</span>)</h4>" +
      "<p>" + esc(res.body.error.message) + " Nothing changed. Change what the reasons below point at (a preview with overrides shows what would work), then match again.</p>" +
      diagnosticsView(d, true) + "</div>";
  } else {
    box.innerHTML = errorBanner(res, "The match was refused");
  }
});

onSubmit(forms.round, (res) => {
  const box = document.getElementById("round-result");
  if (!res.ok) {
    box.innerHTML = errorBanner(res, "No round ran");
    return;
  }
  const r = res.body.round;
  box.innerHTML = okBanner("<h4>Round <code>" + esc(r.round_id) + "</code> (number " + esc(r.round_number) + ") completed</h4>" +
    '<dl class="counts"><div><dt>accuracy</dt><dd id="round-accuracy">' + esc(r.accuracy) + '</dd></div><div><dt>loss</dt><dd id="round-loss">' + esc(r.loss) + "</dd></div>" +
    "<div><dt>bound contracts</dt><dd>" + esc(r.bound_contract_ids.length) + "</dd></div></dl>" +
    '<p>Bound: <span id="round-bound">' + r.bound_contract_ids.map((id) => "<code>" + esc(id) + "</code>").join(", ") + "</span></p>" +
    '<div class="scroll"><table><thead><tr><th>contract</th><th>offer</th><th>seller</th><th>shard samples</th><th>weight</th></tr></thead><tbody>' +
    r.participants.map((p) => "<tr><td><code>" + esc(p.contract_id) + "</code></td><td><code>" + esc(p.offer_id) + "</code></td><td>" + esc(p.seller_node_id) + "</td><td>" + esc(p.shard_samples) + "</td><td>" + esc(p.weight) + "</td></tr>").join("") +
    "</tbody></table></div>");
});

// The page's validator, for tests that hold it against the server's.
window.marketrefConsole = { validate: validateBody, contract: C };

setRole("provider");
refreshAll("page load");
startMl();
