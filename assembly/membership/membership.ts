// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Cluster membership: which pods exist, which are healthy, which are draining. Built from Envoy's
// admin /clusters?format=json (stock Envoy) or Higress's proxy_get_upstream_hosts, published as a
// compact text snapshot in shared data, and read back on request paths.
import { JSON } from "assemblyscript-json/assembly";
import { checkJson } from "../support/json-check";
import { hashString, mix64 } from "../support/hash";

/** A member the gateway's health verdict fails (active check, outlier detection, EDS health). */
export const HOST_FAILING: u8 = 0;
export const HOST_HEALTHY: u8 = 1;
export const HOST_DRAINING: u8 = 2;

/** Longest address accepted ("[v6]:port" fits); longer ones cannot be an Envoy host anyway. */
export const MAX_ADDRESS_LENGTH = 64;

/**
 * A cluster's pods as the gateway sees them: what the sweeper checks pins against (pods that left
 * lose their rooms) and what the metrics report. Placement is the gateway's (decision.ts).
 */
export class Membership {
  addresses: string[] = [];
  flags: u8[] = [];
  private index: Map<string, i32> = new Map();

  add(address: string, flags: u8): void {
    if (address.length == 0 || address.length > MAX_ADDRESS_LENGTH || this.index.has(address)) return;
    this.index.set(address, this.addresses.length);
    this.addresses.push(address);
    this.flags.push(flags);
  }

  get size(): i32 {
    return this.addresses.length;
  }

  flagsOf(address: string): i32 {
    return this.index.has(address) ? <i32>this.flags[this.index.get(address)] : -1;
  }

  private hashes: u64[] | null = null;

  /** Each address's hash, computed once per membership (rankPods uses them on every join it ranks). */
  addressHashes(): u64[] {
    if (this.hashes == null || this.hashes!.length != this.addresses.length) {
      const h = new Array<u64>(this.addresses.length);
      for (let i = 0; i < this.addresses.length; i++) h[i] = hashString(this.addresses[i]);
      this.hashes = h;
    }
    return this.hashes!;
  }

  /** Pods that take new rooms: healthy and not draining. */
  eligibleCount(): i32 {
    let n = 0;
    for (let i = 0; i < this.flags.length; i++) if (this.flags[i] == HOST_HEALTHY) n++;
    return n;
  }
}

/** The attempts a join gets (a first one and the route's three retries): a room's pods are ranked for them. */
export const ATTEMPTS_PER_JOIN: i32 = 4;
// rankPods's running top four, reused: it runs on every join the plugin ranks pods for.
const RANK_BEST = new StaticArray<i32>(ATTEMPTS_PER_JOIN);
const RANK_SCORES = new StaticArray<u64>(ATTEMPTS_PER_JOIN);

/**
 * Writes into `out` (cleared first) the healthy pods of `members` other than `excluded`, best first by
 * rendezvous hashing on `fingerprint`: one per attempt of a join, less the pinned pod's (`excluded`,
 * tried first) when there is one. Returns their indices in `members` packed 16 bits each (for caching),
 * or 0 when none. Every gateway that sees the same healthy pods ranks them the same way, and a pod
 * leaving moves only the rooms it was first for.
 */
export function rankPods(fingerprint: u64, members: Membership, excluded: string, out: string[]): u64 {
  out.length = 0;
  const hashes = members.addressHashes();
  const best = RANK_BEST;
  const scores = RANK_SCORES;
  const wanted = excluded.length > 0 ? ATTEMPTS_PER_JOIN - 1 : ATTEMPTS_PER_JOIN;
  let n = 0;
  for (let i = 0; i < members.addresses.length; i++) {
    if (members.flags[i] != HOST_HEALTHY || members.addresses[i] == excluded) continue;
    const score = mix64(fingerprint ^ unchecked(hashes[i]));
    // Insertion into the top `wanted`, highest score first (ties: the earlier address).
    let at = min<i32>(n, wanted);
    while (at > 0 && unchecked(scores[at - 1]) < score) at--;
    if (at >= wanted) continue;
    const last = n < wanted ? n : wanted - 1;
    for (let k = last; k > at; k--) {
      unchecked((best[k] = best[k - 1]));
      unchecked((scores[k] = scores[k - 1]));
    }
    unchecked((best[at] = i));
    unchecked((scores[at] = score));
    if (n < wanted) n++;
  }
  let packed: u64 = 0;
  for (let k = 0; k < n; k++) {
    out.push(members.addresses[best[k]]);
    packed |= (<u64>(best[k] + 1) & 0xffff) << (<u64>k * 16);
  }
  return packed;
}

// ---- snapshot codec: "v1\n" then one "address flags\n" line per host ----

export function encodeSnapshot(m: Membership): string {
  let s = "v1\n";
  for (let i = 0; i < m.addresses.length; i++) s += m.addresses[i] + " " + m.flags[i].toString() + "\n";
  return s;
}

export function decodeSnapshot(s: string): Membership | null {
  if (!s.startsWith("v1\n")) return null;
  const m = new Membership();
  const lines = s.split("\n");
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (line.length == 0) continue;
    const sp = line.lastIndexOf(" ");
    if (sp <= 0) return null;
    const f = I32.parseInt(line.substring(sp + 1));
    if (f < 0 || f > 3) return null;
    m.add(line.substring(0, sp), <u8>f);
  }
  return m;
}

// ---- stock Envoy: admin /clusters?format=json ----

function objField(o: JSON.Obj, name: string): JSON.Obj | null {
  const v = o.get(name);
  return v != null && v.isObj ? <JSON.Obj>v : null;
}
function strField(o: JSON.Obj | null, name: string): string {
  if (o == null) return "";
  const v = o.get(name);
  return v != null && v.isString ? (<JSON.Str>v)._str : "";
}
function boolField(o: JSON.Obj | null, name: string): bool {
  if (o == null) return false;
  const v = o.get(name);
  return v != null && v.isBool && (<JSON.Bool>v)._bool;
}
function intField(o: JSON.Obj | null, name: string): i64 {
  if (o == null) return -1;
  const v = o.get(name);
  return v != null && v.isInteger ? (<JSON.Integer>v)._num : -1;
}

/** Flags of one admin host_statuses[] entry. */
function adminHostFlags(hs: JSON.Obj): u8 {
  const health = objField(hs, "health_status");
  const eds = strField(health, "eds_health_status");
  if (eds == "DRAINING") return HOST_DRAINING;
  const failed =
    boolField(health, "failed_active_health_check") || boolField(health, "failed_outlier_check") || boolField(health, "failed_eds_health");
  if (failed || eds == "UNHEALTHY" || eds == "TIMEOUT") return HOST_FAILING;
  return HOST_HEALTHY;
}

export class ClusterMembership {
  constructor(
    public cluster: string,
    public members: Membership,
  ) {}
}

/** The admin JSON as one Membership per cluster; `error` is set when the body is not the expected shape. */
export class AdminParse {
  clusters: ClusterMembership[] = [];
  error: string = "";
}

/** on_http_call_response (stock Envoy, membership refresh): parses admin /clusters, skipping `skipCluster` (the admin cluster). */
export function parseAdminClusters(body: Uint8Array, skipCluster: string): AdminParse {
  const out = new AdminParse();
  const syntax = checkJson(body);
  if (syntax.length > 0) {
    out.error = "admin /clusters: invalid JSON: " + syntax;
    return out;
  }
  const root = JSON.parse(body);
  if (!root.isObj) {
    out.error = "admin /clusters: expected an object";
    return out;
  }
  const list = (<JSON.Obj>root).get("cluster_statuses");
  if (list == null) return out; // no clusters at all
  if (!list.isArr) {
    out.error = "admin /clusters: cluster_statuses is not an array";
    return out;
  }
  const arr = (<JSON.Arr>list)._arr;
  for (let i = 0; i < arr.length; i++) {
    if (!arr[i].isObj) continue;
    const c = <JSON.Obj>arr[i];
    const name = strField(c, "name");
    if (name.length == 0 || name == skipCluster) continue;
    const m = new Membership();
    const hosts = c.get("host_statuses");
    if (hosts != null && hosts.isArr) {
      const harr = (<JSON.Arr>hosts)._arr;
      for (let j = 0; j < harr.length; j++) {
        if (!harr[j].isObj) continue;
        const hs = <JSON.Obj>harr[j];
        // Removed by the control plane but kept by Envoy while it passes health checks: not a member.
        if (boolField(objField(hs, "health_status"), "pending_dynamic_removal")) continue;
        const sock = objField(objField(hs, "address") || new JSON.Obj(), "socket_address");
        const ip = strField(sock, "address");
        const port = intField(sock, "port_value");
        if (ip.length == 0 || port < 0 || port > 65535) continue;
        const addr = ip.includes(":") ? "[" + ip + "]:" + port.toString() : ip + ":" + port.toString();
        m.add(addr, adminHostFlags(hs));
      }
    }
    out.clusters.push(new ClusterMembership(name, m));
  }
  return out;
}

// ---- Higress: proxy_get_upstream_hosts pairs (address -> JSON with health_status) ----

export function membershipFromHostPairs(pairs: string[][]): Membership {
  const m = new Membership();
  for (let i = 0; i < pairs.length; i++) {
    const addr = pairs[i][0];
    const info = pairs[i][1];
    let flags: u8 = HOST_FAILING;
    const b = Uint8Array.wrap(String.UTF8.encode(info));
    if (checkJson(b).length == 0) {
      const v = JSON.parse(b);
      if (v.isObj) {
        const hs = strField(<JSON.Obj>v, "health_status");
        if (hs == "Healthy" || hs == "HEALTHY") flags = HOST_HEALTHY;
        else if (hs == "Draining" || hs == "DRAINING") flags = HOST_DRAINING;
      }
    }
    m.add(addr, flags);
  }
  return m;
}
