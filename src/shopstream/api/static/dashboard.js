// The manager's dashboard: polls /analytics and /analytics/timeline and redraws.
"use strict";

const REFRESH_MS = 2000;
const form = document.getElementById("filters");
const storeSelect = form.elements.store;
const knownStores = new Set();
let timer = null;
let latest = 0; // only the newest request may draw: filters can change mid-flight
const plotConfig = {
  displaylogo: false,
  responsive: true,
  toImageButtonOptions: { format: "png", filename: "shopstream-chart", scale: 2 },
};
const layout = (title, extra = {}) => ({
  title: { text: title },
  margin: { t: 50, r: 20, b: 50, l: 50 },
  paper_bgcolor: "rgba(0,0,0,0)",
  ...extra,
});

function query() {
  const params = new URLSearchParams();
  for (const [name, value] of new FormData(form)) {
    if (value) params.set(name, value);
  }
  return params.toString();
}

function money(value) {
  return value.toFixed(2);
}

// Plotly renders a subset of HTML in labels and hover text (<b>, <br>, <a href>): a
// store or category name is escaped so that it shows as written, and only so.
function literal(name) {
  return name.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function showKpi(id, value, text) {
  const element = document.getElementById(id);
  element.dataset.value = String(value);
  element.textContent = text;
}

function rememberStores(figures) {
  for (const store of Object.keys(figures.average_ticket_total_by_store)) {
    if (knownStores.has(store)) continue;
    knownStores.add(store);
    storeSelect.add(new Option(store, store));
  }
}

function bars(id, title, byStore, axisTitle) {
  const stores = Object.keys(byStore);
  Plotly.react(id, [{
    type: "bar", x: stores.map(literal), y: stores.map((s) => byStore[s]),
    text: stores.map((s) => money(byStore[s])), textposition: "auto", marker: { color: "#c8102e" },
  }], layout(title, { yaxis: { rangemode: "tozero", title: { text: axisTitle } } }), plotConfig);
}

// Which list the figures use: the one in force, and those the counted tickets were
// categorised with. More than one, or another: the figures mix lists, shown in red.
function showCatalog(figures) {
  const inForce = figures.catalog ? figures.catalog.hash : "";
  document.getElementById("catalog-version").textContent = inForce || "unknown";
  document.getElementById("catalog-loaded").textContent = figures.catalog
    ? `(loaded ${new Date(figures.catalog.loaded_at).toLocaleString()})` : "";
  const versions = Object.entries(figures.catalog_versions);
  document.getElementById("catalog-versions").textContent = versions.length
    ? versions.map(([hash, n]) => `${hash} (${n.toLocaleString()})`).join(", ") : "none yet";
  const mixed = versions.some(([hash]) => hash !== inForce);
  document.getElementById("catalog").dataset.mixed = String(mixed);
}

function render(figures, timeline) {
  showCatalog(figures);
  showKpi("kpi-tickets", figures.tickets, figures.tickets.toLocaleString());
  showKpi("kpi-products", figures.products, figures.products.toLocaleString());
  showKpi("kpi-stores", figures.stores, String(figures.stores));
  showKpi("kpi-average-product-price", figures.average_product_price,
          money(figures.average_product_price));
  showKpi("kpi-average-ticket-total", figures.average_ticket_total,
          money(figures.average_ticket_total));
  document.getElementById("empty").hidden = figures.tickets > 0;
  document.getElementById("charts").hidden = figures.tickets === 0;
  if (figures.tickets === 0) return;
  rememberStores(figures);

  const categories = Object.keys(figures.category_share);
  Plotly.react("chart-category-share", [{
    type: "pie", hole: 0.45, sort: false, labels: categories.map(literal),
    values: categories.map((c) => figures.category_share[c]), textinfo: "label+percent",
  }], layout("Share of products per category"), plotConfig);
  bars("chart-ticket-total-by-store", "Average ticket total per store",
       figures.average_ticket_total_by_store, "total_price");
  bars("chart-product-price-by-store", "Average product price per store",
       figures.average_product_price_by_store, "price");
  const days = Object.keys(timeline.tickets_by_date);
  Plotly.react("chart-timeline", [{
    type: "bar", x: days, y: days.map((d) => timeline.tickets_by_date[d]),
    marker: { color: "#1d2733" },
  }], layout("Tickets per day", {
    xaxis: { type: "category" }, yaxis: { rangemode: "tozero", title: { text: "tickets" } },
  }), plotConfig);
}

// When reads are protected the figures need a key (a read key from API_READ_KEYS is
// enough): asked for once, kept in this tab's sessionStorage only, so it is gone when the
// tab closes. A key an older page left in localStorage is removed from disk.
const KEY_NAME = "shopstream-api-key";
localStorage.removeItem(KEY_NAME);
const keyInput = document.getElementById("api-key");
keyInput.addEventListener("change", () => {
  sessionStorage.setItem(KEY_NAME, keyInput.value);
  refresh();
});

async function fetchJson(path) {
  const key = sessionStorage.getItem(KEY_NAME);
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  const response = await fetch(path, { headers });
  if (response.status === 401) keyInput.hidden = false;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

async function refresh() {
  const status = document.getElementById("status");
  const request = ++latest;
  try {
    const q = query();
    const [figures, timeline] = await Promise.all([
      fetchJson(`/analytics?${q}`), fetchJson(`/analytics/timeline?${q}`),
    ]);
    if (request !== latest) return;
    render(figures, timeline);
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.classList.remove("error");
    document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
  } catch (error) {
    status.textContent = `cannot reach the API (${error.message}); retrying`;
    status.classList.add("error");
  } finally {
    clearTimeout(timer);
    timer = setTimeout(refresh, REFRESH_MS);
  }
}

form.addEventListener("change", () => refresh());
refresh();
