// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The trial console: the cluster as the control server pushes it (GET /events), a button for every
// control API action, and a chart of players per pod. Bundled by esbuild with uPlot; no network
// beyond the control server.
import uPlot from "uplot";

import type { ClusterView, PodView } from "../tools/lib/cluster-view-types";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** A control API call; the answer (or the error) goes to the action log. */
async function call(method: string, path: string, body?: unknown): Promise<unknown> {
  const started = Date.now();
  try {
    const r = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await r.json();
    if (!r.ok) throw new Error(json.error ?? `HTTP ${r.status}`);
    log(`${method} ${path}: ok (${Date.now() - started} ms)`, false);
    return json;
  } catch (e) {
    log(`${method} ${path}: ${e instanceof Error ? e.message : e}`, true);
    throw e;
  }
}

function log(text: string, failed: boolean): void {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  if (failed) li.className = "failed";
  const list = $("log");
  list.prepend(li);
  while (list.children.length > 12) list.lastChild!.remove();
}

function button(label: string, onClick: () => void, testId?: string): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = label;
  if (testId) b.dataset.testid = testId;
  b.addEventListener("click", onClick);
  return b;
}

const quiet = () => undefined;

/** The actions a pod in `state` offers. */
function podActions(p: PodView): HTMLButtonElement[] {
  const post = (verb: string) => () => void call("POST", `/pods/${p.id}/${verb}`).catch(quiet);
  const out: HTMLButtonElement[] = [];
  if (p.state === "serving" || p.state === "draining") out.push(button("kill", post("kill"), `kill-${p.id}`));
  if (p.state === "serving") out.push(button("drain", post("drain")));
  if (p.state === "draining") out.push(button("undrain", post("undrain")));
  if (p.state !== "stopped" && p.state !== "removed") out.push(button("remove", post("remove")));
  if (p.state !== "stopped" && p.state !== "killed") out.push(button("stop", post("stop")));
  if (p.state !== "serving" && p.state !== "draining") out.push(button("restart", post("restart")));
  return out;
}

function renderPods(v: ClusterView): void {
  const split = new Set(v.splitRooms.map((s) => s.room));
  const container = $("pods");
  container.replaceChildren(
    ...v.pods.map((p) => {
      const col = document.createElement("div");
      col.className = `pod ${p.state}`;
      col.dataset.pod = p.id;
      const head = document.createElement("div");
      head.className = "pod-head";
      const rooms = Object.keys(p.rooms).sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
      head.innerHTML = `<b></b> <span class="state"></span><div class="addr"></div><div class="count"></div>`;
      head.querySelector("b")!.textContent = p.id;
      head.querySelector(".state")!.textContent = p.state;
      head.querySelector(".addr")!.textContent = p.address;
      head.querySelector(".count")!.textContent = `${rooms.length} rooms, ${p.players} players`;
      const actions = document.createElement("div");
      actions.className = "pod-actions";
      actions.append(...podActions(p));
      const tiles = document.createElement("div");
      tiles.className = "tiles";
      for (const room of rooms) {
        const t = document.createElement("span");
        t.className = split.has(room) ? "tile split" : "tile";
        t.dataset.room = room;
        t.title = `${room}: ${p.rooms[room]} players on ${p.id}`;
        t.textContent = `${room.replace(/^demo:/, "")} ·${p.rooms[room]}`;
        tiles.append(t);
      }
      col.append(head, actions, tiles);
      return col;
    }),
  );
}

/** The counters a person watches, from the plugin's metrics (names without the room_affinity. prefix). */
const COUNTERS: [string, (s: Record<string, number>) => number | undefined][] = [
  ["joins", (s) => (s.hits_total ?? 0) + (s.misses_total ?? 0)],
  ["table hits", (s) => s.hits_total],
  ["new rooms (misses)", (s) => s.misses_total],
  ["learned", (s) => s.learned_total],
  ["re-pinned", (s) => s.repins_total],
  ["refused: room elsewhere", (s) => s["rejects.room_elsewhere_total"]],
  ["rejected requests", (s) => (s["rejects.missing_key_total"] ?? 0) + (s["rejects.key_too_long_total"] ?? 0)],
  ["evictions", (s) => (s["evictions.pod_gone_total"] ?? 0) + (s["evictions.expired_total"] ?? 0) + (s["evictions.capacity_total"] ?? 0)],
  ["table entries", (s) => s["table.entries"]],
  ["directory lookups", (s) => s["directory.waits_total"]],
  ["directory found", (s) => s["directory.found_total"]],
  ["directory failures", (s) => s["directory.failures_total"]],
];

function renderCounters(v: ClusterView): void {
  const rows = COUNTERS.filter(([name]) => v.directory !== "none" || !name.startsWith("directory")).map(([name, f]) => {
    const tr = document.createElement("tr");
    const value = f(v.stats);
    tr.innerHTML = "<td></td><td></td>";
    tr.children[0].textContent = name;
    tr.children[1].textContent = value === undefined ? "–" : String(value);
    return tr;
  });
  $("counters").replaceChildren(...rows);
}

function chip(text: string, good: boolean): HTMLElement {
  const s = document.createElement("span");
  s.className = good ? "chip good" : "chip bad";
  s.textContent = text;
  return s;
}

function renderHeader(v: ClusterView): void {
  const split = $("fig-split");
  split.querySelector(".value")!.textContent = String(v.splitRooms.length);
  split.classList.toggle("bad", v.splitRooms.length > 0);
  split.title = v.splitRooms.map((s) => `${s.room}: ${s.pods.join(", ")}`).join("\n");
  const rooms = new Set(v.pods.flatMap((p) => Object.keys(p.rooms)));
  $("fig-rooms").textContent = String(rooms.size);
  $("fig-players").textContent = String(v.pods.reduce((n, p) => n + p.players, 0));
  $("fig-pods").textContent = String(v.pods.filter((p) => p.state === "serving").length);
  const chips = v.gateways.map((g) => chip(`${g.id} ${g.state}`, g.state === "running"));
  if (v.directory !== "none") chips.push(chip(`directory ${v.directory}`, v.directory === "up"));
  $("chips").replaceChildren(...chips);
  const pl = v.players;
  $("players-summary").textContent =
    pl && pl.players > 0
      ? `${pl.players} players in ${pl.rooms} rooms, ${pl.connected} connected; ${pl.failedJoins} failed joins, ${pl.switches} network switches`
      : "No built-in players running.";
}

function renderGatewayActions(v: ClusterView): void {
  const key = v.gateways.map((g) => g.id).join(",") + v.directory;
  const box = $("gateway-actions");
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  const buttons = v.gateways
    .filter(() => v.gateways.length > 1)
    .map((g) => button(`Restart ${g.id}`, () => void call("POST", `/gateways/${g.id}/restart`).catch(quiet)));
  if (v.directory !== "none") {
    buttons.push(button("Stop directory", () => void call("POST", "/directory/stop").catch(quiet)));
    buttons.push(button("Start directory", () => void call("POST", "/directory/start").catch(quiet)));
  }
  box.replaceChildren(...buttons);
}

/** Players per pod over the last CHART_SECONDS, one series per pod ever seen. */
const CHART_SECONDS = 300;
const times: number[] = [];
const series = new Map<string, (number | null)[]>();
let chart: uPlot | null = null;
let chartPods = "";

function record(v: ClusterView): void {
  times.push(v.at / 1000);
  for (const p of v.pods)
    if (!series.has(p.id))
      series.set(
        p.id,
        times.slice(0, -1).map(() => null),
      );
  for (const [id, values] of series) {
    const p = v.pods.find((x) => x.id === id);
    values.push(p && (p.state === "serving" || p.state === "draining" || p.state === "removed") ? p.players : null);
  }
  while (times.length > 0 && times[times.length - 1] - times[0] > CHART_SECONDS) {
    times.shift();
    for (const values of series.values()) values.shift();
  }
  const ids = [...series.keys()];
  const data = [times, ...ids.map((id) => series.get(id)!)] as uPlot.AlignedData;
  const el = $("chart");
  const width = Math.max(260, el.clientWidth);
  if (!chart || chartPods !== ids.join(",")) {
    chart?.destroy();
    chartPods = ids.join(",");
    const palette = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#0891b2", "#be123c", "#4d7c0f", "#7c2d12"];
    chart = new uPlot(
      {
        width,
        height: 180,
        legend: { show: true },
        scales: { x: { time: true } },
        series: [{}, ...ids.map((id, i) => ({ label: id, stroke: palette[i % palette.length], width: 2, spanGaps: false }))],
        axes: [{}, { size: 40 }],
      },
      data,
      el,
    );
  } else {
    if (Math.abs(chart.width - width) > 4) chart.setSize({ width, height: 180 });
    chart.setData(data);
  }
}

function render(v: ClusterView): void {
  renderHeader(v);
  renderPods(v);
  renderCounters(v);
  renderGatewayActions(v);
  record(v);
  document.body.dataset.viewAt = String(v.at);
}

function connect(): void {
  const source = new EventSource("/events");
  source.onopen = () => {
    $("live").textContent = "live";
    $("live").className = "live on";
  };
  source.onerror = () => {
    $("live").textContent = "disconnected, retrying…";
    $("live").className = "live off";
  };
  source.onmessage = (e) => render(JSON.parse(e.data) as ClusterView);
}

function wire(): void {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  $("players-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    void call("POST", "/players", {
      rooms: Number(f.get("rooms")),
      players: Number(f.get("players")),
      switchOneIn: Number(f.get("switchOneIn")),
    }).catch(quiet);
  });
  $("stop-players").addEventListener("click", () => void call("POST", "/players/stop").catch(quiet));
  $("add-pods").addEventListener("click", () => void call("POST", "/pods", { count: num("add-count") }).catch(quiet));
  $("scale").addEventListener("click", () => void call("POST", "/scale", { count: num("scale-count") }).catch(quiet));
  $("rolling-update").addEventListener("click", () => void call("POST", "/rolling-update").catch(quiet));
  $("reload-routes").addEventListener("click", () => void call("POST", "/routes/reload").catch(quiet));
  $("settle").addEventListener("click", () => void call("POST", "/settle").catch(quiet));
  $("push-config").addEventListener("click", () => {
    const out = $("config-result");
    let config: unknown;
    try {
      config = JSON.parse($<HTMLTextAreaElement>("config").value);
    } catch (e) {
      out.textContent = `not JSON: ${e instanceof Error ? e.message : e}`;
      out.className = "note failed";
      return;
    }
    call("PUT", "/plugin-config", config).then(
      () => {
        out.textContent = "Accepted: every gateway replica runs it now.";
        out.className = "note good";
      },
      (e) => {
        out.textContent = `Refused by the plugin (the configuration in force stays): ${e instanceof Error ? e.message : e}`;
        out.className = "note failed";
      },
    );
  });
}

wire();
connect();
