// The dashboard: the accuracy chart, the training status, the marketplace summary and the
// recent operations, and the refresh of everything after each action.

function renderChart() {
  const box = document.getElementById("accuracy-chart");
  const rounds = state.rounds.slice().sort((a, b) => a.round_number - b.round_number);
  if (!rounds.length) {
    box.innerHTML = '<p class="muted">No round has run yet.</p>';
    return;
  }
  const width = 360, height = 170, left = 34, right = 12, top = 10, bottom = 28;
  const span = width - left - right;
  const x = (i) => left + (rounds.length === 1 ? span / 2 : (i * span) / (rounds.length - 1));
  const y = (v) => top + (1 - v) * (height - top - bottom);
  let svg = '<svg viewBox="0 0 ' + width + " " + height + '" role="img" aria-labelledby="accuracy-caption accuracy-values" class="chart">';
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    svg += '<line class="grid" x1="' + left + '" x2="' + (width - right) + '" y1="' + y(tick) + '" y2="' + y(tick) + '"></line>' +
      '<text x="' + (left - 4) + '" y="' + (y(tick) + 4) + '" text-anchor="end">' + tick + "</text>";
  }
  svg += '<line class="axis" x1="' + left + '" x2="' + left + '" y1="' + top + '" y2="' + y(0) + '"></line>';
  svg += '<polyline class="line" points="' + rounds.map((r, i) => x(i) + "," + y(Number(r.accuracy))).join(" ") + '"></polyline>';
  rounds.forEach((r, i) => {
    svg += '<circle class="point" cx="' + x(i) + '" cy="' + y(Number(r.accuracy)) + '" r="4"></circle>' +
      '<text x="' + x(i) + '" y="' + (height - 10) + '" text-anchor="middle">' + esc(r.round_number) + "</text>";
  });
  svg += "</svg>";
  box.innerHTML = '<div class="chart">' + svg + '</div><p class="chart-values" id="accuracy-values">' +
    rounds.map((r) => "round " + esc(r.round_number) + ": accuracy " + esc(r.accuracy) + ", loss " + esc(r.loss)).join("; ") + "</p>";
}

function renderDashboard(status, summary, label) {
  const statusBox = document.getElementById("dash-status");
  const summaryBox = document.getElementById("dash-summary");
  const opsBox = document.getElementById("dash-operations");
  if (!status.ok) statusBox.innerHTML = errorBanner(status, "Cannot read the training status");
  else {
    const s = status.body;
    const pending = s.marketplace_pending_contracts;
    const oldest = pending.oldest;
    statusBox.innerHTML = '<dl class="counts">' +
      '<div><dt>pending contracts</dt><dd id="dash-pending-count">' + esc(pending.count) + "</dd></div>" +
      '<div><dt>locked escrow</dt><dd id="dash-locked">' + money(pending.locked_escrow_total) + "</dd></div>" +
      '<div><dt>rounds completed</dt><dd id="dash-rounds">' + esc(s.rounds_completed) + "</dd></div>" +
      "<div><dt>current round</dt><dd>" + esc(s.current_round || "–") + "</dd></div>" +
      (s.last_round_metrics ? "<div><dt>last accuracy</dt><dd>" + esc(s.last_round_metrics.accuracy) + "</dd></div><div><dt>last loss</dt><dd>" + esc(s.last_round_metrics.loss) + "</dd></div>" : "") +
      "</dl>" + (oldest ? '<p id="dash-oldest">Oldest pending: <code>' + esc(oldest.contract_id) + "</code> (" + plural(oldest.offer_count, "offer", "offers") + ", " + money(oldest.agreed_price_per_round_total) + ")</p>" : '<p id="dash-oldest" class="muted">No contract waits for a release.</p>');
  }
  if (!summary.ok) {
    summaryBox.innerHTML = errorBanner(summary, "Cannot read the marketplace summary");
    opsBox.innerHTML = "";
  } else {
    const m = summary.body.marketplace;
    const reasons = Object.entries(m.rejection_reasons_total).filter(([, n]) => n > 0);
    summaryBox.innerHTML = '<dl class="counts" id="dash-counts">' +
      [["offers", m.offers_total, "offers_total"], ["active offers", m.offers_active, "offers_active"], ["open intents", m.open_intents, "open_intents"], ["contracts", m.contracts_total, "contracts_total"],
        ["created", m.contracts_by_state.created, "created"], ["bound to round", m.contracts_by_state.bound_to_round, "bound_to_round"], ["released", m.contracts_by_state.escrow_released, "escrow_released"],
        ["match attempts", m.match_attempts, "match_attempts"], ["match failures", m.match_failures, "match_failures"]]
        .map(([name, value, key]) => '<div><dt>' + esc(name) + '</dt><dd data-metric="' + key + '">' + esc(value) + "</dd></div>").join("") +
      '<div><dt>locked escrow</dt><dd data-metric="locked_escrow_total">' + money(m.locked_escrow_total) + "</dd></div>" +
      '<div><dt>paid out</dt><dd data-metric="released_payout_total">' + money(m.released_payout_total) + "</dd></div></dl>" +
      (reasons.length ? "<p>Offers left out, over every match: " + reasons.map(([code, n]) => "<code>" + esc(code) + "</code> " + esc(n)).join(", ") + "</p>" : "");
    opsBox.innerHTML = summary.body.operations.map((op) =>
      '<li><span class="' + (op.reason_code ? "status-bad" : "status-ok") + '">' + esc(op.status) + "</span> <code>" + esc(op.operation_id) + "</code>" +
      (op.reason_code ? ' <span class="error-code">' + esc(op.reason_code) + "</span>" : "") + ' <span class="muted">#' + esc(op.seq) + " by " + esc(op.actor ? op.actor.type + " " + op.actor.id : "anonymous") + " at " + esc(op.at) + "</span></li>").join("") ||
      '<li class="muted">No operation yet.</li>';
  }
  const updated = document.getElementById("dash-updated");
  refreshSeq += 1;
  updated.dataset.seq = String(refreshSeq);
  updated.textContent = "Refreshed after " + label + " at " + new Date().toLocaleTimeString() + ".";
}

let refreshSeq = 0;

async function list(opId, key) {
  const res = await call(opId, { query: pageLimit(opId) });
  return res.ok ? res.body[key] : null;
}

// After every action: the dashboard, the lists, the chart and the open contract.
async function refreshAll(label) {
  const [status, summary, offers, intents, contracts, rounds] = await Promise.all([
    call("training.status"), call("metrics.summary"),
    list("dataOffers.list", "offers"), list("roundIntents.list", "intents"),
    list("dataContracts.list", "contracts"), list("trainingRounds.list", "rounds"),
  ]);
  if (offers) state.offers = offers;
  if (intents) state.intents = intents;
  if (contracts) state.contracts = contracts;
  if (rounds) state.rounds = rounds;
  renderOffers();
  renderIntents();
  renderContracts();
  renderChart();
  if (state.openContract) await openContract(state.openContract, false);
  renderDashboard(status, summary, label);
}

document.getElementById("refresh").addEventListener("click", () => refreshAll("a manual refresh"));

