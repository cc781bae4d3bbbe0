// The vendor console: the key, the cards and recent activity computed from the vendor's own
// listings, its models with their stage history, its deployments with their heartbeats and
// signals. Everything shown is an answer of the API to the key in use.

// What the key in use was last answered; `follow` reads the open run's log.
const ml = { runs: [], models: [], deployments: [], keys: [], vendor: null, openRun: null, follow: null, signalsOf: null, stageErrors: {} };

document.getElementById("key-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("vendor-key");
  const key = input.value.trim();
  const status = document.getElementById("key-status");
  if (!key) {
    status.innerHTML = '<span class="field-error">Paste the key first: it starts with the prefix the operator\'s answer showed.</span>';
    input.focus();
    return;
  }
  const me = await call("mlVendors.me", { key });
  if (!me.ok) {
    status.innerHTML = errorBanner(me, "This key was refused") + "<p>Check that it was copied whole; a revoked or expired key needs a new one from the operator.</p>";
    return;
  }
  input.value = "";
  vendorKey = key;
  // The operator's view may still show it, issued a moment ago: it has been handed over.
  for (const shown of document.querySelectorAll("#pane-ml code.secret")) {
    if (shown.textContent === key) shown.closest(".once").innerHTML = '<p class="muted">The key was handed to the vendor console and is no longer shown here.</p>';
  }
  const keys = await call("mlKeys.list", { key });
  ml.keys = keys.ok ? keys.data.items : [];
  vendorShown = keyShown(key, ml.keys);
  ml.vendor = me.data;
  showKey();
  await refreshMl("the key");
});

document.getElementById("key-forget").addEventListener("click", () => forgetKey(""));

function forgetKey(why) {
  vendorKey = null;
  vendorShown = null;
  ml.vendor = null;
  ml.runs = [];
  ml.models = [];
  ml.deployments = [];
  if (ml.follow) ml.follow.stop();
  ml.follow = null;
  ml.openRun = null;
  document.getElementById("run-detail").innerHTML = "";
  for (const key of ["mlrun", "mlmodel", "mlversion", "mldeploy"]) document.getElementById(key + "-result").innerHTML = "";
  showKey();
  showKeyless();
  document.getElementById("key-status").innerHTML = why;
}

// Without a key the vendor's parts show what to do, never the previous key's answers.
function showKeyless() {
  const paste = (what) => '<p class="muted">Paste a vendor key in the vendor console to see ' + what + ".</p>";
  setHtml(document.getElementById("runs-list"), paste("its training runs"));
  setHtml(document.getElementById("models-list"), paste("its models"));
  setHtml(document.getElementById("deployments-list"), paste("its deployments"));
  setHtml(document.getElementById("signals-view"), "");
  ml.signalsOf = null;
  setChoices(forms.mlrun, "round_id", []);
  fillVendorChoices();
}

function showKey() {
  const held = Boolean(vendorKey);
  document.getElementById("key-forget").hidden = !held;
  document.getElementById("vendor-body").hidden = !held;
  for (const section of document.querySelectorAll(".needs-key")) section.classList.toggle("locked", !held);
  document.getElementById("key-status").innerHTML = held
    ? 'Acting as <b id="vendor-name">' + esc(ml.vendor.name) + "</b> (<code>" + esc(ml.vendor.vendor_id) + '</code>) with the key <code id="key-shown">' + esc(vendorShown) + "</code>."
    : "";
  for (const box of document.querySelectorAll("#pane-ml .needs[data-op]")) mlNeeds(box);
}

async function refreshVendor() {
  if (!vendorKey) return;
  const key = vendorKey;
  const [runs, models, deployments] = await Promise.all([
    call("mlTraining.list", { key, query: pageLimit("mlTraining.list") }),
    call("mlModels.list", { key, query: pageLimit("mlModels.list") }),
    call("mlDeployments.list", { key, query: pageLimit("mlDeployments.list") }),
  ]);
  for (const res of [runs, models, deployments]) if (keyRefused(res)) return;
  if (runs.ok) ml.runs = runs.data.items;
  if (models.ok) ml.models = models.data.items;
  if (deployments.ok) ml.deployments = deployments.data.items;
  renderCards();
  renderActivity();
  renderRuns();
  renderModels();
  renderDeployments();
  fillVendorChoices();
  if (ml.signalsOf) await showSignals(ml.signalsOf);
}

function versions() {
  return ml.models.flatMap((m) => m.versions.map((v) => Object.assign({ model_name: m.name }, v)));
}

function card(id, title, value, detail) {
  return '<div class="card" id="' + id + '"><h3>' + esc(title) + '</h3><p class="big">' + esc(value) + '</p><p class="muted">' + detail + "</p></div>";
}

function renderCards() {
  const live = versions().filter((v) => LIVE_STAGES.includes(v.stage));
  const active = ml.models.filter((m) => m.versions.some((v) => LIVE_STAGES.includes(v.stage)));
  // The live stage furthest on the way to production, in the stage enum's order.
  const top = C.ml.stages.filter((stage) => LIVE_STAGES.includes(stage)).pop();
  const inTop = ml.models.filter((m) => m.versions.some((v) => v.stage === top));
  const running = ml.runs.filter((r) => !C.ml.finished_training_statuses.includes(r.status));
  const healthy = ml.deployments.filter((d) => d.status === C.ml.healthy_deployment_status);
  const sharpes = live.map((v) => v.metrics[C.ml.oos_sharpe_metric]).filter((x) => typeof x === "number");
  const mean = sharpes.length ? (sharpes.reduce((a, b) => a + b, 0) / sharpes.length).toFixed(3) : "–";
  setHtml(document.getElementById("vendor-cards"),
    card("card-models", "Active models", active.length, esc(inTop.length) + " in " + esc(top) + ", of " + plural(ml.models.length, "model", "models")) +
    card("card-runs", "Training runs", ml.runs.length, esc(running.length) + " queued or running") +
    card("card-deployments", "Deployments", ml.deployments.length, esc(healthy.length) + " " + esc(C.ml.healthy_deployment_status)) +
    card("card-sharpe", "Avg validation Sharpe", mean, "over " + plural(sharpes.length, "version", "versions") + " in " + esc(LIVE_STAGES.join(" or "))));
}

// What happened lately, from the listings' own timestamps.
function renderActivity() {
  const events = [];
  for (const r of ml.runs) {
    events.push([r.created_at, "Run <code>" + esc(r.run_id) + "</code> created (" + esc(r.provider) + ")"]);
    if (r.finished_at) events.push([r.finished_at, "Run <code>" + esc(r.run_id) + "</code> " + badge(r.status) + (r.failure_reason ? " " + esc(r.failure_reason) : "")]);
  }
  for (const v of versions()) {
    for (const move of v.stage_history) {
      events.push([move.at, esc(v.model_name) + " " + esc(v.version) + " (<code>" + esc(v.version_id) + "</code>) " + (move.from ? esc(move.from) + " → " : "registered in ") + badge(move.to) + " by " + esc(move.by)]);
    }
  }
  for (const d of ml.deployments) {
    events.push([d.created_at, "Deployment <code>" + esc(d.deployment_id) + "</code> created for <code>" + esc(d.version_id) + "</code>"]);
    if (d.last_heartbeat) events.push([d.last_heartbeat.received_at, "Deployment <code>" + esc(d.deployment_id) + "</code> reported " + badge(d.last_heartbeat.status)]);
  }
  events.sort((a, b) => (a[0] < b[0] ? 1 : a[0] > b[0] ? -1 : 0));
  setHtml(document.getElementById("vendor-activity"), events.slice(0, 12).map(([at, words]) => "<li>" + words + ' <span class="muted">' + timeTag(at) + "</span></li>").join("") ||
    '<li class="muted">Nothing yet: start a training run, or register a model.</li>');
}

function stageMoves(v) {
  return v.stage_history.map((m) => (m.from ? esc(m.from) + " → " : "") + esc(m.to) + ' <span class="muted">' + timeTag(m.at) + " by " + esc(m.by) + (m.note ? ", “" + esc(m.note) + "”" : "") + "</span>").join("<br>");
}

function renderModels() {
  const box = document.getElementById("models-list");
  if (!ml.models.length) {
    setHtml(box, '<p class="muted">No model yet: register one from a succeeded run.</p>');
    return;
  }
  setHtml(box, ml.models.map((m) => '<article class="model" id="model-' + esc(m.model_id) + '"><h4>' + esc(m.name) + " <code>" + esc(m.model_id) + "</code> <span class=\"tag\">" + esc(m.task) + "</span></h4>" +
    '<div class="scroll"><table><thead><tr><th>version</th><th>stage</th><th>metrics</th><th>stage history</th><th></th></tr></thead><tbody>' +
    m.versions.map((v) => '<tr id="version-row-' + esc(v.version_id) + '"><td>' + esc(v.version) + "<br><code>" + esc(v.version_id) + "</code>" + (v.training_run_id ? '<br><span class="muted">from ' + esc(v.training_run_id) + "</span>" : "") +
      '</td><td data-col="stage">' + badge(v.stage) + "</td><td>" + metricsWords(v.metrics, v.metrics_source) + "</td><td>" + stageMoves(v) +
      '</td><td><button type="button" class="secondary small" data-deploy="' + esc(m.model_id) + " " + esc(v.version_id) + '" id="deploy-' + esc(v.version_id) + '">Deploy</button></td></tr>').join("") +
    "</tbody></table></div></article>").join(""));
}

function metricsWords(metrics, source) {
  const names = Object.keys(metrics || {});
  if (!names.length) return '<span class="muted">none</span>';
  return names.map((n) => "<code>" + esc(n) + "</code> " + (Number.isInteger(metrics[n]) ? esc(metrics[n]) : num(metrics[n], 4))).join(", ") + (source ? ' <span class="tag">' + esc(source) + "</span>" : "");
}

document.getElementById("models-list").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-deploy]");
  if (!button) return;
  const [model, version] = button.dataset.deploy.split(" ");
  fillForm(forms.mldeploy, { model_id: model, version_id: version });
  document.getElementById("mldeploy-result").innerHTML = "";
  forms.mldeploy.fields[0].inputs[0].focus();
});

function renderDeployments() {
  const box = document.getElementById("deployments-list");
  if (!ml.deployments.length) {
    setHtml(box, '<p class="muted">No deployment yet: deploy a version above.</p>');
    return;
  }
  setHtml(box, '<table><thead><tr><th>deployment</th><th>version</th><th>status</th><th>last heartbeat</th><th>endpoint</th><th></th></tr></thead><tbody>' +
    ml.deployments.map((d) => '<tr id="deployment-row-' + esc(d.deployment_id) + '"><td><code>' + esc(d.deployment_id) + "</code></td><td><code>" + esc(d.model_id) + "</code> <code>" + esc(d.version_id) +
      '</code></td><td data-col="status">' + badge(d.status) + "</td><td>" + timeTag(d.last_heartbeat_at) + (d.last_heartbeat && d.last_heartbeat.message ? '<br><span class="muted">' + esc(d.last_heartbeat.message) + "</span>" : "") +
      "</td><td>" + esc(d.endpoint_url || "–") + '</td><td><button type="button" class="secondary small" data-signals="' + esc(d.deployment_id) + '" id="signals-' + esc(d.deployment_id) + '">Signals</button></td></tr>').join("") +
    "</tbody></table>" + '<p class="muted">A deployment without a heartbeat for ' + esc(Math.round(C.ml.offline_after_s / 60)) + " min reads as offline.</p>");
}

document.getElementById("deployments-list").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-signals]");
  if (button) showSignals(button.dataset.signals);
});

async function showSignals(deploymentId) {
  ml.signalsOf = deploymentId;
  const res = await call("mlSignals.list", { query: Object.assign({ deployment_id: deploymentId }, pageLimit("mlSignals.list")) });
  const box = document.getElementById("signals-view");
  if (!res.ok) {
    setHtml(box, errorBanner(res, "Cannot read the signals of " + deploymentId));
    return;
  }
  const items = res.data.items;
  setHtml(box, '<h4 id="signals-title">Signals of <code>' + esc(deploymentId) + "</code></h4>" + (items.length
    ? '<div class="scroll"><table><thead><tr><th>time</th><th>symbol</th><th>timeframe</th><th>decision</th><th>confidence</th><th>version</th></tr></thead><tbody>' +
      items.map((s) => "<tr><td>" + esc(s.timestamp) + "</td><td>" + esc(s.symbol) + "</td><td>" + esc(s.timeframe) + "</td><td>" + badge(s.decision) + "</td><td>" + num(s.confidence, 3) + "</td><td>" + esc(s.model_version) + "</td></tr>").join("") +
      "</tbody></table></div>"
    : '<p class="muted">No signal yet: the deployment writes them with its token.</p>'));
}

// The selects the vendor's forms take from its own listings.
function fillVendorChoices() {
  const select = document.getElementById("mlversion-model");
  const kept = select.value;
  setHtml(select, ml.models.length ? ml.models.map((m) => '<option value="' + esc(m.model_id) + '">' + esc(m.name) + " (" + esc(m.model_id) + ")</option>").join("")
    : '<option value="">No model yet: register one from a run first</option>');
  if (ml.models.some((m) => m.model_id === kept)) select.value = kept;
}
