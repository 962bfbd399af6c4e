// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The trial's command line, in plain JavaScript so that `npm run trial -- --help` and a bad flag are
// answered before any set-up or build. tools/trial.ts parses with the same function.
//   node scripts/trial-options.cjs --profile [flags]   the set-up profile the flags need (trial or
//                                                      replicas), "help", or an error (exit 2)
//   node scripts/trial-options.cjs --usage             the usage text
"use strict";

const FLAGS = [
  ["--pods N", "demo game pods to start (default 3, at most 50)"],
  [
    "--replicas N",
    "gateway replicas (default 1, at most 16). With 2 or more: a real etcd as the room directory and a real L4 balancer (HAProxy) in front, as an SLB",
  ],
  ["--listen-port N", "where players connect (default 10000): Envoy, or the L4 balancer with --replicas"],
  ["--admin-port N", "Envoy's admin (default 9901; with --replicas each replica's admin follows its listener)"],
  ["--control-port N", "the control API that changes the cluster behind the gateway (default 10001)"],
  ["--pod-base-port N", "first pod port (default 18001); pods started later take the next ports"],
  ["--no-health-checks", "run the gateway without active health checks, as Higress is usually deployed"],
  ["--check", "start, check that each room's players meet on one pod, stop (exit 0 on success)"],
  ["--help", "this text"],
];

const USAGE = `npm run trial -- [flags]

Starts demo game pods and a real Envoy with the plugin (or several replicas sharing a room directory),
checks that a room's players meet on one pod, and runs until Ctrl-C.

${FLAGS.map(([f, d]) => `  ${f.padEnd(20)} ${d}`).join("\n")}

Ports: one gateway uses --listen-port, --admin-port, --control-port and the pod ports. With --replicas N
the balancer is on --listen-port, etcd on --listen-port+2 and +3, replica i (1..N) on --listen-port+2+2i
(admin +1), pods from --pod-base-port. Every port must be free; the trial refuses flags whose ports overlap.`;

const MAX_PODS = 50;
const MAX_REPLICAS = 16;

class TrialUsageError extends Error {}

/** The ports a set of options occupies, by what uses them; pods may grow to MAX_PODS. */
function portsOf(o) {
  const used = [["control", o.controlPort]];
  if (o.replicas > 1) {
    used.push(["balancer", o.listenPort], ["etcd", o.listenPort + 2], ["etcd peer", o.listenPort + 3]);
    for (let i = 1; i <= o.replicas; i++)
      used.push([`replica ${i}`, o.listenPort + 2 + 2 * i], [`replica ${i} admin`, o.listenPort + 3 + 2 * i]);
  } else {
    used.push(["listener", o.listenPort], ["admin", o.adminPort]);
  }
  for (let i = 0; i < MAX_PODS; i++) used.push([`pod ${i + 1}`, o.podBasePort + i]);
  return used;
}

/** Parses the trial's flags; throws TrialUsageError naming the flag and what it takes. */
function parseTrialArgs(argv) {
  const o = {
    listenPort: 10000,
    adminPort: 9901,
    podBasePort: 18001,
    controlPort: 10001,
    pods: 3,
    replicas: 1,
    healthChecks: true,
    check: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const int = (min, max) => {
      const raw = argv[++i];
      const v = Number(raw);
      if (raw === undefined || !Number.isInteger(v) || v < min || v > max)
        throw new TrialUsageError(
          `${a} takes a whole number from ${min} to ${max}, got ${raw === undefined ? "nothing" : JSON.stringify(raw)}`,
        );
      return v;
    };
    if (a === "--listen-port") o.listenPort = int(1, 65535);
    else if (a === "--admin-port") o.adminPort = int(1, 65535);
    else if (a === "--pod-base-port") o.podBasePort = int(1, 65535 - MAX_PODS);
    else if (a === "--control-port") o.controlPort = int(1, 65535);
    else if (a === "--pods") o.pods = int(1, MAX_PODS);
    else if (a === "--replicas") o.replicas = int(1, MAX_REPLICAS);
    else if (a === "--no-health-checks") o.healthChecks = false;
    else if (a === "--check") o.check = true;
    else if (a === "--help" || a === "-h") o.help = true;
    else throw new TrialUsageError(`unknown flag ${a} (npm run trial -- --help lists them)`);
  }
  const seen = new Map();
  for (const [what, port] of portsOf(o)) {
    if (port > 65535) throw new TrialUsageError(`the ${what} would need port ${port}: choose lower ports`);
    if (seen.has(port)) throw new TrialUsageError(`the ${seen.get(port)} and the ${what} would both use port ${port}: choose other ports`);
    seen.set(port, what);
  }
  return o;
}

module.exports = { FLAGS, USAGE, parseTrialArgs, portsOf, TrialUsageError, MAX_PODS, MAX_REPLICAS };

if (require.main === module) {
  // `--usage` prints the usage; `--profile FLAGS...` prints the set-up profile the flags need, or "help".
  const [mode, ...argv] = process.argv.slice(2);
  if (mode === "--usage") {
    console.log(USAGE);
  } else {
    try {
      const o = parseTrialArgs(argv);
      console.log(o.help ? "help" : o.replicas > 1 ? "replicas" : "trial");
    } catch (e) {
      if (!(e instanceof TrialUsageError)) throw e;
      console.error(`trial: ${e.message}`);
      process.exit(2);
    }
  }
}
