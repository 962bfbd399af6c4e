// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The trial console in a real browser (Debian's Chromium, headless, driven by playwright-core): the
// trial as `npm run trial` starts it, 40 rooms of 3 players started from the page, a pod killed from
// the page, and what the page shows checked against the pods' own GET /rooms.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { spawn, ChildProcess } from "node:child_process";
import { chromium, Browser, Page } from "playwright-core";
import { ROOT, scratchDir } from "../tools/lib/paths";
import { ControlClient } from "../tools/lib/control";
import { httpGet } from "../tools/lib/http";
import { sleep } from "../tools/lib/wait";

const CHROMIUM = "/usr/bin/chromium";
/** Flags a headless Chromium needs on a closed network (no background requests to Google). */
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const PORTS = { listen: 20500, admin: 20501, control: 20502, pods: 20511 };
const ROOMS = 40;
const PLAYERS = 3;

/** The trial as the README starts it, on this test's ports; resolves once it says it is running. */
async function startTrial(): Promise<{ proc: ChildProcess; stop: () => Promise<void> }> {
  const proc = spawn(
    process.execPath,
    [
      path.join(ROOT, "dist", "tools", "trial.js"),
      "--listen-port",
      String(PORTS.listen),
      "--admin-port",
      String(PORTS.admin),
      "--control-port",
      String(PORTS.control),
      "--pod-base-port",
      String(PORTS.pods),
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  const deadline = Date.now() + 90_000;
  while (!/Room-affinity trial is running/.test(out)) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`trial did not start:\n${out}`);
    await sleep(100);
  }
  return {
    proc,
    stop: async () => {
      proc.kill("SIGINT");
      await exited;
    },
  };
}

/** What the page shows: each pod column's state and room tiles (room -> players), and the split figure. */
async function pageView(
  page: Page,
): Promise<{ at: number; split: string; pods: { id: string; state: string; rooms: Record<string, number> }[] }> {
  return page.evaluate(() => ({
    at: Number(document.body.dataset.viewAt ?? 0),
    split: document.querySelector('[data-testid="split"] .value')!.textContent ?? "",
    pods: [...document.querySelectorAll<HTMLElement>(".pod")].map((col) => ({
      id: col.dataset.pod!,
      state: col.querySelector(".state")!.textContent ?? "",
      rooms: Object.fromEntries(
        [...col.querySelectorAll<HTMLElement>(".tile")].map((t) => [t.dataset.room!, Number(t.textContent!.split("·")[1])]),
      ),
    })),
  }));
}

/** Every pod's own GET /rooms (pods that do not answer have none). */
async function podsOwnRooms(control: ControlClient): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  for (const p of await control.pods()) {
    const [host, port] = p.address.split(":");
    try {
      out.set(p.id, JSON.parse((await httpGet(host, Number(port), "/rooms")).body).rooms);
    } catch {
      out.set(p.id, {});
    }
  }
  return out;
}

/** Waits until every player is on a pod and the pods' rooms hold still for a second; returns them. */
async function settledRooms(control: ControlClient): Promise<Map<string, Record<string, number>>> {
  const deadline = Date.now() + 30_000;
  let last = "";
  for (;;) {
    const rooms = await podsOwnRooms(control);
    const players = [...rooms.values()].reduce((n, r) => n + Object.values(r).reduce((a, b) => a + b, 0), 0);
    const text = JSON.stringify([...rooms]);
    if (players === ROOMS * PLAYERS && text === last) return rooms;
    if (Date.now() > deadline) throw new Error(`players did not settle: ${players} of ${ROOMS * PLAYERS} on pods`);
    last = text;
    await sleep(1000);
  }
}

/** Waits for the page to render a view read after `after` (ms since the epoch). */
async function viewAfter(page: Page, after: number) {
  await page.waitForFunction((t) => Number(document.body.dataset.viewAt ?? 0) > t, after, { timeout: 10_000 });
  return pageView(page);
}

test("the console shows the cluster as the pods report it, through a pod killed from the page", async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: npm test's set-up installs Debian's chromium`);
  const trial = await startTrial();
  let browser: Browser | null = null;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${PORTS.control}/`);
    await page.waitForSelector(".pod");
    const control = new ControlClient(PORTS.control);

    // 40 rooms of 3 players, from the page; nobody switches network, so the pods' rooms hold still.
    await page.fill('input[name="rooms"]', String(ROOMS));
    await page.fill('input[name="players"]', String(PLAYERS));
    await page.fill('input[name="switchOneIn"]', "0");
    await page.click('[data-testid="start-players"]');
    let own = await settledRooms(control);
    let shown = await viewAfter(page, Date.now());
    assertSameRooms(shown, own);
    const victim = shown.pods.find((p) => p.id === "pod-2")!;
    const orphans = Object.keys(victim.rooms);
    assert.ok(orphans.length > 0, "pod-2 holds rooms before the kill");

    // Kill pod-2 from the page: its players rejoin at once; their rooms must come back whole on live pods.
    await page.click('[data-testid="kill-pod-2"]');
    await page.waitForFunction(() => document.querySelector('[data-pod="pod-2"] .state')?.textContent === "killed", null, {
      timeout: 10_000,
    });
    own = await settledRooms(control);
    shown = await viewAfter(page, Date.now());
    assertSameRooms(shown, own);
    const killed = shown.pods.find((p) => p.id === "pod-2")!;
    assert.equal(killed.state, "killed");
    assert.deepEqual(killed.rooms, {}, "the killed pod shows no rooms");
    const live = new Set(shown.pods.filter((p) => p.state === "serving").map((p) => p.id));
    for (const room of orphans) {
      const on = shown.pods.filter((p) => room in p.rooms).map((p) => p.id);
      assert.equal(on.length, 1, `${room} after the kill is on ${on.join(", ")}`);
      assert.ok(live.has(on[0]), `${room} is on ${on[0]}, which is not serving`);
      assert.equal(shown.pods.find((p) => p.id === on[0])!.rooms[room], PLAYERS, `${room} has all its players back`);
    }
    // The plugin's own counters reach the page (every player joined at least once), and the chart draws.
    await page.waitForFunction(
      (n) => {
        const row = [...document.querySelectorAll("#counters tr")].find((r) => r.children[0].textContent === "joins");
        return row !== undefined && Number(row.children[1].textContent) >= n;
      },
      ROOMS * PLAYERS,
      { timeout: 10_000 },
    );
    assert.ok(await page.locator("#chart canvas").count(), "the players-per-pod chart");
    await page.screenshot({ path: path.join(scratchDir("console-test"), "console.png") });
    assert.deepEqual(errors, [], "errors on the page");
  } finally {
    await browser?.close();
    await trial.stop();
  }
});

/** The page shows every room on exactly one pod, the same pod and player count as the pods report, and 0 split rooms. */
function assertSameRooms(shown: Awaited<ReturnType<typeof pageView>>, own: Map<string, Record<string, number>>): void {
  assert.equal(shown.split, "0", "the split-rooms figure");
  for (const p of shown.pods) assert.deepEqual(p.rooms, own.get(p.id) ?? {}, `${p.id}: page against the pod's GET /rooms`);
  const podsOf = new Map<string, string[]>();
  for (const p of shown.pods) for (const room of Object.keys(p.rooms)) podsOf.set(room, [...(podsOf.get(room) ?? []), p.id]);
  assert.equal(podsOf.size, ROOMS, "rooms on the page");
  for (const [room, on] of podsOf) assert.equal(on.length, 1, `${room} is on ${on.join(", ")}`);
}
