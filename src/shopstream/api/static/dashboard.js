// The manager's dashboard: polls /analytics and /analytics/timeline and redraws.
// Every name shown (stores, products, categories) is the tills' text: it goes into the
// page as text (textContent, new Option), and into Plotly's labels escaped (literal).
"use strict";

const REFRESH_MS = 2000;
const DAY_MS = 86400000;
const form = document.getElementById("filters");
const storeSelect = form.elements.store;
const exportLink = document.getElementById("export-csv");
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

// Money as `shopstream report` shows it: the shortest decimal that reads back as the
// number (what both JavaScript's String and Python's repr give), rounded to the cent with
// halves up, in integers so no binary rounding creeps in: 1.005 is 1.01, where toFixed
// gives 1.00. Thousands are grouped with commas, as report groups them.
function money(value) {
  const [mantissa, exponent = "0"] = String(Math.abs(value)).split("e");
  const [whole, fraction = ""] = mantissa.split(".");
  const digits = BigInt(whole + fraction);
  const toCents = Number(exponent) - fraction.length + 2; // value = digits × 10^(toCents - 2)
  let cents = digits * 10n ** BigInt(Math.max(toCents, 0));
  if (toCents < 0) {
    const unit = 10n ** BigInt(-toCents);
    cents = (digits * 2n + unit) / (2n * unit); // halves up
  }
  const text = cents.toString().padStart(3, "0");
  const units = text.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${value < 0 ? "-" : ""}${units}.${text.slice(-2)}`;
}

function percent(share) {
  return `${(share * 100).toFixed(1)}%`;
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
  for (const store of Object.keys(figures.tickets_by_store)) {
    if (knownStores.has(store)) continue;
    knownStores.add(store);
    storeSelect.add(new Option(store, store));
  }
}

// A table cell showing `text`; `value` (the API's number) kept beside it for checks.
function cell(row, text, value, tag = "td") {
  const element = document.createElement(tag);
  element.textContent = text;
  if (value !== undefined) element.dataset.value = String(value);
  row.append(element);
  return element;
}

function fillStores(figures) {
  const categories = Object.keys(figures.category_share);
  const head = document.querySelector("#stores thead tr");
  head.querySelectorAll("th.category").forEach((th) => th.remove());
  for (const category of categories) cell(head, category, undefined, "th").className = "category";
  const rows = Object.keys(figures.tickets_by_store).map((store) => {
    const row = document.createElement("tr");
    row.dataset.store = store;
    cell(row, store, undefined, "th").scope = "row";
    cell(row, figures.tickets_by_store[store].toLocaleString("en"), figures.tickets_by_store[store]);
    cell(row, money(figures.revenue_by_store[store]), figures.revenue_by_store[store]);
    const ticket = figures.average_ticket_total_by_store[store];
    cell(row, money(ticket), ticket);
    const price = figures.average_product_price_by_store[store] ?? 0;
    cell(row, money(price), price);
    const shares = figures.category_share_by_store[store] ?? {};
    for (const category of categories) {
      const share = shares[category] ?? 0;
      cell(row, percent(share), share).dataset.category = category;
    }
    return row;
  });
  document.querySelector("#stores tbody").replaceChildren(...rows);
}

function fillTopProducts(figures) {
  const rows = figures.top_products.map((product, index) => {
    const row = document.createElement("tr");
    cell(row, String(index + 1));
    cell(row, product.name).className = "name";
    cell(row, product.lines.toLocaleString("en"), product.lines).className = "lines";
    cell(row, money(product.revenue), product.revenue).className = "revenue";
    return row;
  });
  document.querySelector("#top-products tbody").replaceChildren(...rows);
}

function pie(id, title, shares) {
  const categories = Object.keys(shares);
  Plotly.react(id, [{
    type: "pie", hole: 0.45, sort: false, labels: categories.map(literal),
    values: categories.map((c) => shares[c]), textinfo: "label+percent",
  }], layout(title, { margin: { t: 70, r: 20, b: 30, l: 20 } }), plotConfig);
}

function bars(id, title, byStore, axisTitle) {
  const stores = Object.keys(byStore);
  Plotly.react(id, [{
    type: "bar", x: stores.map(literal), y: stores.map((s) => byStore[s]),
    text: stores.map((s) => money(byStore[s])), textposition: "auto", marker: { color: "#c8102e" },
  }], layout(title, {
    xaxis: { automargin: true }, yaxis: { rangemode: "tozero", title: { text: axisTitle } },
  }), plotConfig);
}

// Dates as a person reads them ("5 Jan 2026"), never cut: over a week or less, one tick
// a day, the axis running half a day past the first and last; over longer spans Plotly
// spaces the ticks, labelled by day, month or year.
function dateAxis(days) {
  const axis = {
    type: "date", automargin: true, hoverformat: "%a %-d %b %Y",
    tickformatstops: [
      { dtickrange: [null, "M1"], value: "%-d %b %Y" },
      { dtickrange: ["M1", "M12"], value: "%b %Y" },
      { dtickrange: ["M12", null], value: "%Y" },
    ],
  };
  if (!days.length) return axis;
  const first = Date.parse(days[0]);
  const last = Date.parse(days[days.length - 1]);
  if (last - first <= 7 * DAY_MS) {
    Object.assign(axis, {
      dtick: DAY_MS, tick0: days[0], range: [first - DAY_MS / 2, last + DAY_MS / 2],
    });
  }
  return axis;
}

// Every day from the first to the last, a day without tickets as 0: a line between two
// days then never hides the days between. Not past ten years (a till's odd date would
// make millions): then only the days with tickets.
const MAX_FILLED_DAYS = 3660;

function everyDay(byDate) {
  const days = Object.keys(byDate);
  if (!days.length) return days;
  const first = Date.parse(days[0]);
  const last = Date.parse(days[days.length - 1]);
  if ((last - first) / DAY_MS > MAX_FILLED_DAYS) return days;
  const filled = [];
  for (let day = first; day <= last; day += DAY_MS) {
    filled.push(new Date(day).toISOString().slice(0, 10));
  }
  return filled;
}

function drawTimeline(timeline) {
  const days = everyDay(timeline.tickets_by_date);
  Plotly.react("chart-timeline", [{
    type: "scatter", mode: days.length <= 62 ? "lines+markers" : "lines", fill: "tozeroy",
    x: days, y: days.map((d) => timeline.tickets_by_date[d] ?? 0),
    line: { color: "#1d2733" }, fillcolor: "rgba(29, 39, 51, 0.12)",
    hovertemplate: "%{x}<br>%{y} tickets<extra></extra>",
  }], layout("Tickets per day", {
    xaxis: dateAxis(days), yaxis: { rangemode: "tozero", title: { text: "tickets" } },
  }), plotConfig);
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
    ? versions.map(([hash, n]) => `${hash} (${n.toLocaleString("en")})`).join(", ") : "none yet";
  const mixed = versions.some(([hash]) => hash !== inForce);
  document.getElementById("catalog").dataset.mixed = String(mixed);
}

function render(figures, timeline) {
  showCatalog(figures);
  showKpi("kpi-tickets", figures.tickets, figures.tickets.toLocaleString("en"));
  showKpi("kpi-products", figures.products, figures.products.toLocaleString("en"));
  showKpi("kpi-stores", figures.stores, String(figures.stores));
  showKpi("kpi-revenue", figures.revenue, money(figures.revenue));
  showKpi("kpi-average-product-price", figures.average_product_price,
          money(figures.average_product_price));
  showKpi("kpi-average-ticket-total", figures.average_ticket_total,
          money(figures.average_ticket_total));
  document.getElementById("empty").hidden = figures.tickets > 0;
  document.getElementById("figures").hidden = figures.tickets === 0;
  if (figures.tickets === 0) return;
  rememberStores(figures);
  fillStores(figures);
  fillTopProducts(figures);
  pie("chart-category-share", "Share of products per category", figures.category_share);
  pie("chart-category-revenue-share", "Share of revenue per category",
      figures.category_revenue_share);
  bars("chart-ticket-total-by-store", "Average ticket total per store",
       figures.average_ticket_total_by_store, "total_price");
  bars("chart-product-price-by-store", "Average product price per store",
       figures.average_product_price_by_store, "price");
  drawTimeline(timeline);
}

// Date presets, in the browser's own calendar: a week starts on Monday.
function isoDay(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function presetRange(preset) {
  const today = new Date();
  if (preset === "week") {
    const monday = new Date(today.getFullYear(), today.getMonth(),
                            today.getDate() - ((today.getDay() + 6) % 7));
    return [isoDay(monday), isoDay(today)];
  }
  if (preset === "month") {
    return [isoDay(new Date(today.getFullYear(), today.getMonth(), 1)), isoDay(today)];
  }
  return ["", ""];
}

function markPreset() {
  const from = form.elements.date_from.value;
  const to = form.elements.date_to.value;
  for (const button of form.querySelectorAll("[data-preset]")) {
    const [start, end] = presetRange(button.dataset.preset);
    button.setAttribute("aria-pressed", String(start === from && end === to));
  }
}

for (const button of form.querySelectorAll("[data-preset]")) {
  button.addEventListener("click", () => {
    [form.elements.date_from.value, form.elements.date_to.value] =
      presetRange(button.dataset.preset);
    markPreset();
    refresh();
  });
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

function authorization() {
  const key = sessionStorage.getItem(KEY_NAME);
  return key ? { Authorization: `Bearer ${key}` } : {};
}

async function fetchJson(path) {
  const response = await fetch(path, { headers: authorization() });
  if (response.status === 401) keyInput.hidden = false;
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

// The CSV of the filters shown. A link needs no script when reads are open (the browser
// streams it to disk); with a key, the download is fetched with it and saved from memory.
exportLink.addEventListener("click", async (event) => {
  const headers = authorization();
  if (!headers.Authorization) return;
  event.preventDefault();
  const response = await fetch(exportLink.href, { headers });
  if (!response.ok) {
    document.getElementById("status").textContent = `export: HTTP ${response.status}`;
    return;
  }
  const saved = document.createElement("a");
  saved.href = URL.createObjectURL(await response.blob());
  saved.download = "shopstream-lines.csv";
  saved.click();
  setTimeout(() => URL.revokeObjectURL(saved.href), 60000);
});

async function refresh() {
  const status = document.getElementById("status");
  const request = ++latest;
  const q = query();
  exportLink.href = `/export.csv${q ? `?${q}` : ""}`;
  try {
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

form.addEventListener("submit", (event) => event.preventDefault()); // Enter in a field
form.addEventListener("change", () => {
  markPreset();
  refresh();
});
refresh();
