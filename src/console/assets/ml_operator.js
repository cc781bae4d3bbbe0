// The operator's view (acting as the ML operator role of the document): vendors, rounds
// generated and published by the server, and stage moves limited to the stage table's. Then
// the answers of the ML forms, and the refresh of the whole section after each action.

const asOperator = () => mlOperator;
FORMS.mlvendor = { ml: true, primary: ["name"], submit: "Register the vendor", as: asOperator, refresh: refreshMl };
FORMS.mlround = { ml: true, primary: ["round_id", "name", "current", "generate", "description"], submit: "Generate and publish", as: asOperator, refresh: refreshMl };

document.getElementById("operator-summary").innerHTML = "Calls here carry <code>" + esc(C.headers.actor_type) + ": " + esc(mlOperator.type) + "</code>, <code>" +
  esc(C.headers.actor_id) + ": " + esc(mlOperator.id) + "</code>, <code>" + esc(C.headers.auth_scopes) + ": " + esc(mlOperator.scopes.join(" ")) + "</code>, as the trusted gateway would.";

async function refreshOperator() {
  const [vendors, models] = await Promise.all([
    call("mlVendors.list", { as: mlOperator, query: pageLimit("mlVendors.list") }),
    call("mlModels.listAll", { as: mlOperator, query: pageLimit("mlModels.listAll") }),
  ]);
  const vendorBox = document.getElementById("vendors-list");
  if (!vendors.ok) setHtml(vendorBox, errorBanner(vendors, "Cannot list the vendors"));
  else if (!vendors.data.items.length) setHtml(vendorBox, '<p class="muted">No vendor yet: register one above.</p>');
  else {
    setHtml(vendorBox, "<table><thead><tr><th>vendor</th><th>name</th><th>registered</th></tr></thead><tbody>" + vendors.data.items.map((v) =>
      '<tr id="vendor-row-' + esc(v.vendor_id) + '"><td><code>' + esc(v.vendor_id) + "</code></td><td>" + esc(v.name) + "</td><td>" + timeTag(v.created_at) + "</td></tr>").join("") + "</tbody></table>");
  }
  const stageBox = document.getElementById("stages-list");
  if (!models.ok) {
    setHtml(stageBox, errorBanner(models, "Cannot list the models"));
    return;
  }
  const rows = models.data.items.flatMap((m) => m.versions.map((v) => [m, v]));
  if (!rows.length) {
    setHtml(stageBox, '<p class="muted">No model version yet: a vendor registers one.</p>');
    return;
  }
  setHtml(stageBox, "<table><thead><tr><th>model</th><th>version</th><th>vendor</th><th>stage</th><th>allowed moves</th></tr></thead><tbody>" + rows.map(([m, v]) => {
    const moves = C.ml.stage_transitions.filter((t) => t.from === v.stage).map((t) =>
      '<button type="button" class="secondary small" data-stage="' + esc(m.model_id + " " + v.version_id + " " + t.to) + '" id="stage-' + esc(v.version_id) + "-to-" + esc(t.to) + '">Move to ' + esc(t.to) + "</button>");
    const error = ml.stageErrors[v.version_id];
    return '<tr id="stage-row-' + esc(v.version_id) + '"><td>' + esc(m.name) + " <code>" + esc(m.model_id) + "</code></td><td>" + esc(v.version) + " <code>" + esc(v.version_id) + "</code></td><td>" + esc(m.vendor_id) +
      '</td><td data-col="stage">' + badge(v.stage) + "</td><td>" + (moves.join(" ") || '<span class="muted">none: the stage table allows no move</span>') +
      (error ? '<div class="row-error" id="stage-' + esc(v.version_id) + '-error">' + error + "</div>" : "") + "</td></tr>";
  }).join("") + "</tbody></table>");
}

document.getElementById("stages-list").addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-stage]");
  if (!button) return;
  const [model, version, to] = button.dataset.stage.split(" ");
  button.disabled = true;
  const res = await call("mlVersions.stage", { as: mlOperator, params: { model_id: model, version_id: version }, body: { stage: to } });
  if (res.ok) delete ml.stageErrors[version];
  else ml.stageErrors[version] = errorBanner(res, "The move was refused");
  await refreshMl("mlVersions.stage");
});

// A secret the server shows once: the value with a copy button and what to do with it.
function shownOnce(id, secret, what) {
  return '<div class="once"><p class="warning"><b>Shown once.</b> ' + what + " The server keeps only its hash: copy it now; it is not shown again, and leaving this page drops it.</p>" +
    '<p><code id="' + id + '" class="secret">' + esc(secret) + '</code> <button type="button" class="secondary small" data-copy="' + id + '" id="' + id + '-copy">Copy</button> <span class="muted" id="' + id + '-copied" aria-live="polite"></span></p></div>';
}

document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const text = document.getElementById(button.dataset.copy).textContent;
  const note = document.getElementById(button.dataset.copy + "-copied");
  try {
    await navigator.clipboard.writeText(text);
    note.textContent = "Copied.";
  } catch (error) {
    const range = document.createRange();
    range.selectNodeContents(document.getElementById(button.dataset.copy));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    note.textContent = "Selected: press Ctrl+C (the browser did not allow the page to copy).";
  }
});

function wireMlForms() {
  onSubmit(forms.mlvendor, (res) => {
    const box = document.getElementById("mlvendor-result");
    if (!res.ok) {
      box.innerHTML = errorBanner(res, "The vendor was not registered");
      return;
    }
    const v = res.data;
    box.innerHTML = okBanner("<h4>Vendor <code>" + esc(v.vendor_id) + "</code> (" + esc(v.name) + ") registered</h4><p>Its first key, with " + esc(v.scopes.join(", ")) + ", expires " + esc(v.expires_at) + ".</p>" +
      shownOnce("issued-key", v.api_key, "Hand this key to the vendor, who pastes it in the vendor console."));
  });
  onSubmit(forms.mlround, (res) => {
    const box = document.getElementById("mlround-result");
    if (!res.ok) {
      box.innerHTML = errorBanner(res, "No round was published");
      return;
    }
    const r = res.data;
    box.innerHTML = okBanner("<h4>Round <code>" + esc(r.round_id) + "</code> (" + esc(r.name) + ") published" + (r.is_current ? ", current" : "") + "</h4><p>" +
      plural(r.metadata.samples_count, "sample", "samples") + " of " + esc(r.metadata.symbols.join(", ")) + "; files " + r.files.map((f) => "<code>" + esc(f.name) + "</code>").join(", ") + ".</p>");
  });
  onSubmit(forms.mlrun, (res) => {
    const box = document.getElementById("mlrun-result");
    if (keyRefused(res)) return;
    if (!res.ok) {
      box.innerHTML = errorBanner(res, "The run was not started");
      return;
    }
    const r = res.data;
    box.innerHTML = okBanner("<h4>Run <code>" + esc(r.run_id) + "</code> " + badge(r.status) + "</h4><p>Round " + esc(r.spec.round_id) + ", hyperparameters <code>" + esc(JSON.stringify(r.spec.hyperparams)) +
      "</code>. Its page below follows the log.</p>");
    openRun(r.run_id, false);
    document.getElementById("ml-training").scrollIntoView({ block: "start" });
  });
  const registered = (box, heading) => (res) => {
    if (keyRefused(res)) return;
    const target = document.getElementById(box);
    if (!res.ok) {
      target.innerHTML = errorBanner(res, heading + " was refused");
      return;
    }
    const v = res.data.model ? res.data.model.versions[0] : res.data;
    target.innerHTML = okBanner("<h4>Version " + esc(v.version) + " (<code>" + esc(v.version_id) + "</code>) of <code>" + esc(v.model_id) + "</code> registered in " + badge(v.stage) + "</h4><p>" +
      metricsWords(v.metrics, v.metrics_source) + ". The operator moves it to a live stage; then deploy it.</p>");
  };
  onSubmit(forms.mlmodel, registered("mlmodel-result", "The model"));
  onSubmit(forms.mlversion, registered("mlversion-result", "The version"));
  onSubmit(forms.mldeploy, (res) => {
    const box = document.getElementById("mldeploy-result");
    if (keyRefused(res)) return;
    if (!res.ok) {
      box.innerHTML = errorBanner(res, "The version was not deployed");
      return;
    }
    const d = res.data;
    box.innerHTML = okBanner("<h4>Deployment <code>" + esc(d.deployment_id) + "</code> " + badge(d.deployment.status) + "</h4><p>Token <code>" + esc(d.token_id) + "</code>, expires " + esc(d.token_expires_at) + ".</p>" +
      shownOnce("deploy-token", d.infra_token, "Put this token in the deployment's environment: its heartbeats and signals authenticate with it."));
  });
}

let mlRefreshSeq = 0;

// After every ML action: the catalog, the vendor's state, the rounds, the operator's lists.
async function refreshMl(label) {
  await Promise.all([refreshCatalog(), refreshVendor(), refreshRounds(), refreshOperator()]);
  if (ml.openRun) await refreshRun(ml.openRun);
  for (const box of document.querySelectorAll("#pane-ml .needs[data-op]")) mlNeeds(box);
  const updated = document.getElementById("ml-updated");
  mlRefreshSeq += 1;
  updated.dataset.seq = String(mlRefreshSeq);
  updated.textContent = "Refreshed after " + label + " at " + new Date().toLocaleTimeString() + ".";
}

document.getElementById("vendor-refresh").addEventListener("click", () => refreshMl("a manual refresh"));

function startMl() {
  wireMlForms();
  showKey();
  showKeyless();
  const target = document.getElementById(location.hash.slice(1));
  if (target && target.closest("#pane-ml")) showTab("tab-ml", false);
}
