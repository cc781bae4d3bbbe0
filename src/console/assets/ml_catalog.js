// The public catalog: its filters are the query parameters the manifest gives the listing
// (each enum a select, the page size within its bounds), its pages follow `next_cursor`.

const catalogOp = C.operations["mlCatalog.list"];
const catalog = { cursors: [""], page: 0, next: null };

function catalogParam(name) {
  return catalogOp.query_params.find((p) => p.name === name);
}

// The stages the catalog lists: those its `stage` filter offers.
const LIVE_STAGES = catalogParam("stage").enum;

(function buildCatalogFilters() {
  const box = document.getElementById("catalog-filters");
  let html = "";
  for (const param of catalogOp.query_params.filter((p) => p.enum)) {
    html += '<div class="field"><label for="catalog-' + esc(param.name) + '">' + esc(label(param.name)) + "</label>" +
      '<select id="catalog-' + esc(param.name) + '" data-param="' + esc(param.name) + '"><option value="">any</option>' +
      param.enum.map((v) => '<option value="' + esc(v) + '">' + esc(v) + "</option>").join("") + "</select></div>";
  }
  const size = catalogParam("limit");
  const fallback = defaultWords(size);
  html += '<div class="field"><label for="catalog-limit">Rows per page</label><input id="catalog-limit" data-param="limit" type="number" inputmode="numeric"' +
    ' min="' + esc(size.minimum) + '" max="' + esc(size.maximum) + '" value="' + esc(fallback || size.maximum) + '" aria-describedby="catalog-limit-hint">' +
    '<p class="hint" id="catalog-limit-hint">' + esc(rangeWords(size)) + '.</p><p class="field-error" id="catalog-limit-error"></p></div>';
  box.innerHTML = html;
  box.addEventListener("change", () => { catalog.cursors = [""]; catalog.page = 0; refreshCatalog(); });
  box.addEventListener("submit", (event) => { event.preventDefault(); refreshCatalog(); });
})();

function catalogQuery() {
  const query = {};
  const error = document.getElementById("catalog-limit-error");
  error.textContent = "";
  for (const input of document.querySelectorAll("#catalog-filters [data-param]")) {
    if (input.value === "") continue;
    if (input.dataset.param === "limit") {
      const size = catalogParam("limit");
      const n = Number(input.value);
      if (!Number.isInteger(n) || n < size.minimum || n > size.maximum) {
        error.textContent = "Rows per page: " + rangeWords(size) + "; the page shows the default until then.";
        continue;
      }
    }
    query[input.dataset.param] = input.value;
  }
  const cursor = catalog.cursors[catalog.page];
  if (cursor) query.cursor = cursor;
  return query;
}

async function refreshCatalog() {
  const res = await call("mlCatalog.list", { query: catalogQuery() });
  const box = document.getElementById("catalog-list");
  if (!res.ok) {
    setHtml(box, errorBanner(res, "Cannot read the catalog"));
    return;
  }
  const items = res.data.items;
  catalog.next = res.data.next_cursor;
  document.getElementById("catalog-prev").disabled = catalog.page === 0;
  document.getElementById("catalog-next").disabled = !catalog.next;
  document.getElementById("catalog-page").textContent = "Page " + (catalog.page + 1) + (items.length ? ", " + plural(items.length, "model", "models") : "");
  if (!items.length) {
    setHtml(box, '<p class="muted">No model is listed' + (catalog.page ? " on this page" : "") + ": a model appears once a version of it is in " + esc(LIVE_STAGES.join(" or ")) + ".</p>");
    return;
  }
  setHtml(box, '<table id="catalog-table"><thead><tr><th>model</th><th>vendor</th><th>task</th><th>stage</th><th>status</th><th>last heartbeat</th>' +
    "<th>last OOS Sharpe</th><th>avg confidence</th><th>predictions</th></tr></thead><tbody>" +
    items.map((m) => '<tr id="catalog-row-' + esc(m.id) + '"><td><b>' + esc(m.name) + "</b><br><code>" + esc(m.id) + "</code> " + esc(m.version) + "</td><td>" + esc(m.vendor_name) +
      '<br><code class="muted">' + esc(m.vendor) + "</code></td><td>" + esc(m.task) + "</td><td>" + badge(m.stage) + '</td><td data-col="status">' + (m.status ? badge(m.status) : '<span class="muted">no deployment</span>') +
      '</td><td data-col="heartbeat">' + timeTag(m.last_heartbeat_at) + '</td><td data-col="sharpe">' + num(m.last_oos_sharpe, 3) +
      (m.metrics_source ? ' <span class="tag">' + esc(m.metrics_source) + "</span>" : "") + '</td><td data-col="confidence">' + num(m.avg_confidence, 3) +
      '</td><td data-col="predictions">' + esc(m.total_predictions) + "</td></tr>").join("") + "</tbody></table>");
}

document.getElementById("catalog-next").addEventListener("click", () => {
  if (!catalog.next) return;
  catalog.cursors[catalog.page + 1] = catalog.next;
  catalog.page += 1;
  refreshCatalog();
});
document.getElementById("catalog-prev").addEventListener("click", () => {
  if (catalog.page === 0) return;
  catalog.page -= 1;
  refreshCatalog();
});
