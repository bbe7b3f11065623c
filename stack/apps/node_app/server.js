// App 2 of the stack: Node.js + Express + prom-client.
// Serves the React frontend of the practical case (built by Vite into dist/)
// and proxies /api/* to fastapi-app, propagating X-Request-ID.
// Same observability contract as the Python apps (stack/apps/contract).
import express from "express";
import client from "prom-client";
import { randomUUID, timingSafeEqual } from "node:crypto";
import { Worker } from "node:worker_threads";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SERVICE = process.env.SERVICE_NAME || "node-app";
const API_URL = (process.env.API_URL || "http://fastapi-app:8000").replace(/\/$/, "");
const HOST = process.env.HOST || "0.0.0.0";
const PORT = Number(process.env.PORT || 3000);
const SLOW_REQUEST_MS = Number(process.env.SLOW_REQUEST_MS || 1000);
const ACTIVE_USER_WINDOW_S = Number(process.env.ACTIVE_USER_WINDOW_S || 300);
const DEMO_USER = process.env.DEMO_USER || "demo";
// No default: without DEMO_PASSWORD every login fails.
const DEMO_PASSWORD = process.env.DEMO_PASSWORD || null;
// Chaos is off unless CHAOS_TOKEN is set (deployments leave it unset).
const CHAOS_TOKEN = process.env.CHAOS_TOKEN || "";
const BUSINESS_ROUTES = ["/", "/api/items"];
const UNTIMED = new Set(["/metrics", "/chaos"]);
const CHAOS_LIMITS = {
  error_rate: [0, 1], latency_ms: [0, 60000], cpu_burn: [0, 1], scrape_failure_rate: [0, 1],
};
const DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), "dist");

// --- metrics ---------------------------------------------------------------
const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });
const requests = new client.Counter({
  name: "http_requests_total", help: "HTTP requests served.",
  labelNames: ["service", "method", "route", "status"], registers: [registry],
});
const latency = new client.Histogram({
  name: "http_request_duration_seconds", help: "HTTP request latency.",
  labelNames: ["service", "method", "route"], registers: [registry],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2.5, 5, 10],
});
const failedLogins = new client.Counter({
  name: "app_failed_logins_total", help: "Failed login attempts.",
  labelNames: ["service"], registers: [registry],
});
failedLogins.labels(SERVICE).inc(0);
const activeUsers = new client.Gauge({
  name: "app_active_users", help: "Distinct users who logged in within the active window.",
  labelNames: ["service"], registers: [registry],
});
// Series exist at zero from the start, as in the Python apps: rate() sees the first
// request, and rules on a route read series before anyone has called it.
for (const route of BUSINESS_ROUTES) {
  for (const status of ["200", "500"]) requests.labels(SERVICE, "GET", route, status).inc(0);
  latency.zero({ service: SERVICE, method: "GET", route });
}
activeUsers.labels(SERVICE).set(0);

// --- logs --------------------------------------------------------------------
function log(level, logType, message, fields = {}) {
  const record = { ts: new Date().toISOString(), level, service: SERVICE, log_type: logType,
    message, ...fields };
  process.stdout.write(JSON.stringify(record) + "\n");
}

// --- chaos -------------------------------------------------------------------
const chaos = { error_rate: 0, latency_ms: 0, cpu_burn: 0, scrape_failure_rate: 0 };
let debt = 0;
let scrapeDebt = 0;
let burner = null;

function validateChaos(body) {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new Error('body must be a JSON object such as {"error_rate": 0.2}');
  }
  const known = [...Object.keys(CHAOS_LIMITS), "crash"].sort();
  const unknown = Object.keys(body).filter((k) => !known.includes(k)).sort();
  if (unknown.length) {
    throw new Error(`unknown chaos field(s) ${JSON.stringify(unknown)}; known: ${JSON.stringify(known)}`);
  }
  for (const [key, value] of Object.entries(body)) {
    if (key === "crash") {
      if (value !== true) throw new Error("crash must be true (it exits the process)");
      continue;
    }
    const [low, high] = CHAOS_LIMITS[key];
    if (typeof value !== "number" || Number.isNaN(value)) {
      throw new Error(`${key} must be a number, got ${JSON.stringify(value)}`);
    }
    if (value < low || value > high) {
      throw new Error(`${key} must be between ${low} and ${high}, got ${value}`);
    }
  }
  return body;
}

function applyChaos(changes) {
  if ("error_rate" in changes) { chaos.error_rate = changes.error_rate; debt = 0; }
  if ("latency_ms" in changes) chaos.latency_ms = Math.trunc(changes.latency_ms);
  if ("cpu_burn" in changes) chaos.cpu_burn = changes.cpu_burn;
  if ("scrape_failure_rate" in changes) { chaos.scrape_failure_rate = changes.scrape_failure_rate; scrapeDebt = 0; }
  // Burn in a worker thread: a busy loop on the event loop would stop serving.
  if (burner) { burner.terminate(); burner = null; }
  if (chaos.cpu_burn > 0) {
    burner = new Worker(
      `const { workerData } = require("node:worker_threads");
       const slot = 100, busy = slot * workerData;
       setInterval(() => { const end = Date.now() + busy; while (Date.now() < end) {} }, slot);`,
      { eval: true, workerData: chaos.cpu_burn },
    );
    burner.unref();
  }
  if (changes.crash) setTimeout(() => process.exit(3), 100);
}

// Exact pacing: of every 1/rate events one fails, never at random.
function nextRequestFails() {
  debt += chaos.error_rate;
  if (debt >= 1 - 1e-9) { debt -= 1; return true; }
  return false;
}

function nextScrapeFails() {
  scrapeDebt += chaos.scrape_failure_rate;
  if (scrapeDebt >= 1 - 1e-9) { scrapeDebt -= 1; return true; }
  return false;
}

// --- users -------------------------------------------------------------------
const seen = new Map();
function refreshUsers() {
  const cutoff = Date.now() - ACTIVE_USER_WINDOW_S * 1000;
  for (const [user, at] of seen) if (at < cutoff) seen.delete(user);
  activeUsers.labels(SERVICE).set(seen.size);
}

// --- app ---------------------------------------------------------------------
const app = express();
app.disable("x-powered-by");
app.use(express.json());

app.use(async (req, res, next) => {
  const started = process.hrtime.bigint();
  req.requestId = req.get("x-request-id") || randomUUID().replaceAll("-", "");
  res.set("X-Request-ID", req.requestId);
  res.on("finish", () => {
    const route = req.routeLabel || (req.route ? req.route.path : "unmatched");
    if (UNTIMED.has(route)) return;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    requests.labels(SERVICE, req.method, route, String(res.statusCode)).inc();
    latency.labels(SERVICE, req.method, route).observe(seconds);
    const fields = { method: req.method, route, status: res.statusCode,
      duration_ms: Math.round(seconds * 100000) / 100, request_id: req.requestId };
    log("info", "access", `${req.method} ${route} ${res.statusCode}`, fields);
    if (res.statusCode >= 500) log("error", "error", `${req.method} ${route} failed with ${res.statusCode}`, fields);
    if (seconds * 1000 >= SLOW_REQUEST_MS) {
      log("warning", "performance", `slow request: ${Math.round(seconds * 1000)} ms >= ${SLOW_REQUEST_MS} ms`, fields);
    }
  });
  if (BUSINESS_ROUTES.includes(req.path)) {
    req.routeLabel = req.path;
    if (req.method === "GET" && chaos.latency_ms) {
      await new Promise((resolve) => setTimeout(resolve, chaos.latency_ms));
    }
    if (nextRequestFails()) {
      res.status(500).json({ error: "injected failure", service: SERVICE });
      return;
    }
  }
  next();
});

app.get("/health", (req, res) => res.json({ status: "ok", service: SERVICE }));

app.get("/metrics", async (req, res) => {
  if (nextScrapeFails()) {
    res.status(503).type("text/plain").send("scrape failure injected by chaos\n");
    return;
  }
  refreshUsers();
  res.set("Content-Type", registry.contentType);
  res.send(await registry.metrics());
});

app.post("/login", (req, res) => {
  const { username, password } = req.body || {};
  if (DEMO_PASSWORD !== null && sameSecret(username, DEMO_USER)
      && sameSecret(password, DEMO_PASSWORD)) {
    seen.set(username, Date.now());
    refreshUsers();
    res.json({ status: "ok" });
    return;
  }
  failedLogins.labels(SERVICE).inc();
  log("warning", "security", "failed login", { event: "login_failed", username: username ?? null,
    route: "/login", status: 401, request_id: req.requestId, client: req.ip });
  res.status(401).json({ error: "invalid credentials" });
});

function sameSecret(offered, expected) {
  const a = Buffer.from(String(offered ?? ""));
  const b = Buffer.from(String(expected));
  return a.length === b.length && timingSafeEqual(a, b);
}

function chaosRefusal(authorization) {
  if (!CHAOS_TOKEN) return [404, "the chaos API is off (set CHAOS_TOKEN to enable it)"];
  const offered = String(authorization || "").replace(/^Bearer /, "").trim();
  if (!offered || !sameSecret(offered, CHAOS_TOKEN)) {
    return [403, "the chaos API needs 'Authorization: Bearer <CHAOS_TOKEN>'"];
  }
  return null;
}

app.all("/chaos", (req, res) => {
  const refused = chaosRefusal(req.get("authorization"));
  if (refused) {
    res.status(refused[0]).json({ error: refused[1] });
    return;
  }
  if (req.method === "POST") {
    let changes;
    try {
      changes = validateChaos(req.body);
    } catch (err) {
      res.status(400).json({ error: err.message });
      return;
    }
    applyChaos(changes);
    log("warning", "security", "chaos changed", { event: "chaos", changes, request_id: req.requestId });
  } else if (req.method === "DELETE") {
    applyChaos({ error_rate: 0, latency_ms: 0, cpu_burn: 0, scrape_failure_rate: 0 });
    log("info", "security", "chaos cleared", { event: "chaos", request_id: req.requestId });
  }
  res.json({ ...chaos });
});

// The API of the practical case lives in fastapi-app; forward with the request id.
app.all("/api/*", async (req, res) => {
  req.routeLabel = req.path === "/api/items" ? "/api/items" : "/api/*";
  try {
    const upstream = await fetch(API_URL + req.originalUrl, {
      method: req.method,
      headers: { "content-type": "application/json", "x-request-id": req.requestId },
      body: ["GET", "HEAD"].includes(req.method) ? undefined : JSON.stringify(req.body ?? {}),
      signal: AbortSignal.timeout(10000),
    });
    res.status(upstream.status).type("application/json").send(await upstream.text());
  } catch (err) {
    log("error", "error", "upstream fastapi-app unreachable", { route: req.routeLabel,
      status: 502, request_id: req.requestId, error: String(err) });
    res.status(502).json({ error: "upstream unavailable" });
  }
});

app.use(express.static(DIST, { index: false }));
app.get("/", (req, res) => res.sendFile(path.join(DIST, "index.html")));

const server = app.listen(PORT, HOST, () => {
  log("info", "access", `listening on ${HOST}:${PORT}`, { route: null, status: null });
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => { server.close(); server.closeAllConnections(); process.exit(0); });
}
