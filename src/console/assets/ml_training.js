// Training: the new-run form (the request schema with the trainer's hyperparameter ranges
// added to it, the rounds from the API), the vendor's runs, and a run's page with its log
// followed live and its loss and accuracy drawn per epoch as they come.

// The request schema, with each hyperparameter the trainer takes as a property of its own:
// the ranges it refuses outside of become checks of the page, with the same words.
function withHyperparams(root) {
  const schema = JSON.parse(JSON.stringify(root));
  const hyperparams = resolve(schema.properties.hyperparams, schema);
  const properties = {};
  for (const name of C.ml.hyperparam_order) properties[name] = C.ml.hyperparams[name];
  schema.properties.hyperparams = Object.assign(hyperparams, { properties });
  return schema;
}

FORMS.mlrun = {
  ml: true,
  primary: ["round_id", "task", "hyperparams", "seed", "budget", "provider"],
  choices: { round_id: "No round is published yet: ask the operator" },
  submit: "Start the run",
  schema: withHyperparams,
  fieldReasons: () => Object.fromEntries(Object.keys(C.ml.hyperparams).map((name) => [pointerJoin("/hyperparams", name), C.ml.hyperparam_reason])),
  key: mlKey,
  refresh: refreshMl,
  onChange: (body) => { document.getElementById("mlrun-json").textContent = JSON.stringify(body, null, 2); },
};
FORMS.mlmodel = { ml: true, primary: ["name", "task", "version", "training_run_id", "description"], submit: "Register the model", key: mlKey, refresh: refreshMl };
FORMS.mlversion = {
  ml: true,
  primary: ["version", "training_run_id"],
  submit: "Register the version",
  key: mlKey,
  refresh: refreshMl,
  params: () => ({ model_id: document.getElementById("mlversion-model").value }),
};
FORMS.mldeploy = { ml: true, primary: ["model_id", "version_id", "endpoint_url"], submit: "Deploy", key: mlKey, refresh: refreshMl };

// The version form's model is a path parameter, so not a field of its schema.
(function modelChoice() {
  const form = document.getElementById("mlversion-form");
  form.innerHTML = '<div class="field"><label for="mlversion-model">Model (<code>model_id</code>)</label><select id="mlversion-model" aria-describedby="mlversion-model-hint"></select>' +
    '<p class="hint" id="mlversion-model-hint">One of your models; the new version starts in the first stage.</p></div>';
})();

async function refreshRounds() {
  if (!vendorKey) return;
  const res = await call("mlRounds.list", { key: vendorKey, query: pageLimit("mlRounds.list") });
  if (keyRefused(res) || !res.ok) return;
  const rounds = res.data.items;
  const current = rounds.find((r) => r.is_current);
  const options = (current ? [["current", "current (" + current.round_id + ", " + current.name + ")"]] : [])
    .concat(rounds.map((r) => [r.round_id, r.round_id + " · " + r.name]));
  setChoices(forms.mlrun, "round_id", options);
  liveCheck(forms.mlrun);
}

function runFinished(run) {
  return C.ml.finished_training_statuses.includes(run.status);
}

function renderRuns() {
  const box = document.getElementById("runs-list");
  if (!ml.runs.length) {
    setHtml(box, '<p class="muted">No training run yet: start one below.</p>');
    return;
  }
  setHtml(box, '<table><thead><tr><th>run</th><th>status</th><th>task</th><th>round</th><th>val accuracy</th><th>val Sharpe</th><th>created</th><th>finished</th><th></th></tr></thead><tbody>' +
    ml.runs.slice().reverse().map((r) => '<tr id="run-row-' + esc(r.run_id) + '"><td><code>' + esc(r.run_id) + "</code><br><span class=\"muted\">" + esc(r.provider) + "</span></td><td data-col=\"status\">" + badge(r.status) +
      (r.failure_reason ? '<br><span class="muted">' + esc(r.failure_reason) + "</span>" : "") + "</td><td>" + esc(r.spec.task) + "</td><td>" + esc(r.spec.round_id) + "</td><td>" + num(r.metrics.val_accuracy, 4) +
      "</td><td>" + num(r.metrics[C.ml.oos_sharpe_metric], 3) + "</td><td>" + timeTag(r.created_at) + "</td><td>" + timeTag(r.finished_at) +
      '</td><td><button type="button" class="secondary small" data-run="' + esc(r.run_id) + '" id="open-' + esc(r.run_id) + '">Open</button></td></tr>').join("") + "</tbody></table>");
}

document.getElementById("runs-list").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-run]");
  if (button) openRun(button.dataset.run, true);
});

const EPOCH_LINE = new RegExp(C.ml.epoch_line_pattern);

function openRun(runId, focus) {
  if (ml.follow) ml.follow.stop();
  const run = { id: runId, points: [], epochs: null, data: null };
  ml.openRun = run;
  const box = document.getElementById("run-detail");
  box.innerHTML = '<h3 id="run-title" tabindex="-1">Run <code>' + esc(runId) + '</code> <span id="run-badge"></span></h3>' +
    '<div id="run-facts"></div>' +
    '<figure class="chart-figure"><figcaption id="run-chart-caption">Loss and validation accuracy per epoch</figcaption><div id="run-chart" data-points="0"></div></figure>' +
    '<h4>Log <span class="muted" id="run-follow">following…</span></h4><pre id="run-log" class="log" tabindex="0" aria-label="Training log"></pre>' +
    '<div id="run-actions" class="actions"></div><div id="run-error"></div>';
  drawRunChart(run);
  refreshRun(run);
  if (focus) document.getElementById("run-title").focus();
  const log = document.getElementById("run-log");
  ml.follow = followStream("mlTraining.logs", { run_id: runId }, 0, {
    line: (id, text) => {
      if (ml.openRun !== run) return;
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      log.textContent += text + "\n";
      if (atBottom) log.scrollTop = log.scrollHeight;
      const m = EPOCH_LINE.exec(text);
      if (m) {
        run.points.push({ epoch: Number(m[1]), loss: Number(m[3]), accuracy: Number(m[4]) });
        run.epochs = Number(m[2]);
        drawRunChart(run);
      }
    },
    end: (data) => {
      if (ml.openRun !== run) return;
      let status = "";
      try { status = JSON.parse(data).status; } catch (error) { status = data; }
      document.getElementById("run-follow").textContent = "ended: " + status;
      refreshMl("the end of " + runId);
    },
    refused: (res) => {
      if (ml.openRun !== run || keyRefused(res)) return;
      document.getElementById("run-error").innerHTML = errorBanner(res, "Cannot follow the log");
    },
  });
}

async function refreshRun(run) {
  if (!vendorKey || ml.openRun !== run) return;
  const res = await call("mlTraining.get", { key: vendorKey, params: { run_id: run.id } });
  if (keyRefused(res) || ml.openRun !== run) return;
  if (!res.ok) {
    document.getElementById("run-error").innerHTML = errorBanner(res, "Cannot read " + run.id);
    return;
  }
  const r = res.data;
  run.data = r;
  document.getElementById("run-badge").innerHTML = '<span id="run-status">' + badge(r.status) + "</span>";
  const spec = r.spec;
  setHtml(document.getElementById("run-facts"), '<dl class="counts">' +
    "<div><dt>provider</dt><dd>" + esc(r.provider) + "</dd></div><div><dt>round</dt><dd>" + esc(spec.round_id) + "</dd></div>" +
    "<div><dt>task</dt><dd>" + esc(spec.task) + "</dd></div><div><dt>seed</dt><dd>" + esc(spec.seed) + "</dd></div>" +
    "<div><dt>hyperparameters</dt><dd><code>" + esc(JSON.stringify(spec.hyperparams)) + "</code></dd></div>" +
    "<div><dt>created</dt><dd>" + timeTag(r.created_at) + "</dd></div><div><dt>started</dt><dd>" + timeTag(r.started_at) + "</dd></div>" +
    "<div><dt>finished</dt><dd>" + timeTag(r.finished_at) + "</dd></div>" + (r.failure_reason ? "<div><dt>failure</dt><dd>" + esc(r.failure_reason) + "</dd></div>" : "") +
    "</dl><h4>Metrics</h4><p id=\"run-metrics\">" + metricsWords(r.metrics, r.metrics_source) + "</p>");
  const actions = [];
  if (!runFinished(r)) actions.push('<button type="button" id="run-cancel" class="secondary">Cancel the run</button>');
  if (r.artifacts.model_url) {
    actions.push('<a class="button-link" id="run-artifact" href="' + esc(r.artifacts.model_url) + '" download>Download the model artifact</a>' +
      '<span class="muted">SHA-256 <code id="run-artifact-sha">' + esc(r.artifacts.sha256) + "</code>, " + esc(r.artifacts.size_bytes) + " bytes; the link expires, reopen the run for a fresh one.</span>");
  }
  if (Object.keys(r.metrics).length && runFinished(r)) actions.push('<button type="button" id="run-register">Register a version from this run</button>');
  setHtml(document.getElementById("run-actions"), actions.join(""));
}

document.getElementById("run-detail").addEventListener("click", async (event) => {
  const run = ml.openRun;
  if (!run || !run.data) return;
  if (event.target.id === "run-cancel") {
    event.target.disabled = true;
    const res = await call("mlTraining.cancel", { key: vendorKey, params: { run_id: run.id } });
    if (!res.ok && !keyRefused(res)) document.getElementById("run-error").innerHTML = errorBanner(res, "The run was not cancelled");
    await refreshMl("mlTraining.cancel");
  } else if (event.target.id === "run-register") {
    fillForm(forms.mlmodel, { training_run_id: run.id, task: run.data.spec.task });
    fillForm(forms.mlversion, { training_run_id: run.id });
    document.getElementById("mlmodel-result").innerHTML = "";
    document.getElementById("ml-models").scrollIntoView({ block: "start" });
    forms.mlmodel.fields.find((f) => f.dotted === "name").inputs[0].focus();
  }
});

// Loss (left axis, from 0 to the largest seen) and validation accuracy (right axis, 0 to 1)
// per epoch, on the run's whole epoch count so that the chart does not rescale as it grows.
function drawRunChart(run) {
  const box = document.getElementById("run-chart");
  if (!box) return;
  const points = run.points;
  box.dataset.points = String(points.length);
  if (!points.length) {
    box.innerHTML = '<p class="muted chart-empty">No epoch yet: the chart is drawn as the log reports each one.</p>';
    return;
  }
  const width = 560, height = 220, left = 44, right = 44, top = 12, bottom = 30;
  const epochs = Math.max(run.epochs || 1, 2);
  const lossTop = Math.max(...points.map((p) => p.loss)) * 1.1 || 1;
  const x = (e) => left + ((e - 1) * (width - left - right)) / (epochs - 1);
  const yLoss = (v) => top + (1 - v / lossTop) * (height - top - bottom);
  const yAcc = (v) => top + (1 - v) * (height - top - bottom);
  let svg = '<svg viewBox="0 0 ' + width + " " + height + '" role="img" aria-labelledby="run-chart-caption run-chart-values" class="chart">';
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    svg += '<line class="grid" x1="' + left + '" x2="' + (width - right) + '" y1="' + yAcc(tick) + '" y2="' + yAcc(tick) + '"></line>' +
      '<text x="' + (width - right + 4) + '" y="' + (yAcc(tick) + 4) + '">' + tick + "</text>" +
      '<text x="' + (left - 4) + '" y="' + (yAcc(tick) + 4) + '" text-anchor="end">' + (tick * lossTop).toFixed(2) + "</text>";
  }
  svg += '<text x="' + left + '" y="' + (height - 8) + '">1</text><text x="' + (width - right) + '" y="' + (height - 8) + '" text-anchor="end">' + esc(epochs) + "</text>" +
    '<text x="' + (width / 2) + '" y="' + (height - 8) + '" text-anchor="middle">epoch</text>';
  svg += '<polyline class="line loss" points="' + points.map((p) => x(p.epoch) + "," + yLoss(p.loss)).join(" ") + '"></polyline>';
  svg += '<polyline class="line accuracy" points="' + points.map((p) => x(p.epoch) + "," + yAcc(p.accuracy)).join(" ") + '"></polyline>';
  svg += "</svg>";
  const last = points[points.length - 1];
  box.innerHTML = '<div class="chart">' + svg + '</div><p class="chart-values" id="run-chart-values"><span class="key loss">loss</span> <span class="key accuracy">validation accuracy</span> · epoch ' +
    esc(last.epoch) + " of " + esc(run.epochs) + ": loss " + esc(last.loss) + ", validation accuracy " + esc(last.accuracy) + "</p>";
}
