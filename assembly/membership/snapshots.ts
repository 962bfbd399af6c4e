// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Membership snapshots in the KvStore, one per cluster: `<prefix>:m:<cluster>` holds the snapshot text
// and `<prefix>:mv:<cluster>` holds "<version> <publishedAtMs>". Request paths read the small version
// key and only re-read and re-parse the snapshot when the version moved (per-thread cache).
// `<prefix>:mg:<cluster>` lists the pods that left the cluster lately, `<prefix>:mf` the pods that failed
// lately: a join pinned to them failed over, or the health check began failing them, here or on another
// replica (which tells this one through the room directory), and `<prefix>:mh:<cluster>` the members
// failing their checks now, with the read that first showed it. All three are pod-times.ts lists.
import { KvStore, WriteStatus } from "../table/store";
import { Membership, encodeSnapshot, decodeSnapshot, HOST_HEALTHY, HOST_DRAINING, HOST_FAILING } from "./membership";
import { PodTime, parsePodTimes, encodePodTimes, podTimesText } from "./pod-times";

class Cached {
  /** "<version> " as bytes, to recognise an unchanged version key without parsing it. */
  versionText: Uint8Array;
  constructor(
    public version: u64,
    public members: Membership | null,
  ) {
    this.versionText = Uint8Array.wrap(String.UTF8.encode(version.toString() + " "));
  }
}

function versionPrefixIs(raw: Uint8Array, prefix: Uint8Array): bool {
  if (raw.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (unchecked(raw[i]) != unchecked(prefix[i])) return false;
  return true;
}

export class VersionInfo {
  constructor(
    public version: u64,
    public publishedAtMs: u64,
  ) {}
}

function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}
function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** Pods remembered as having left a cluster, at most, and for how long. */
const LEFT_MAX: i32 = 256;
const LEFT_FOR_MS: u64 = 3600 * 1000;
/** Pods remembered as having failed (a join failed over, a health check began failing), at most, and for how long. */
const FAILED_MAX: i32 = 256;
const FAILED_FOR_MS: u64 = 600 * 1000;

export class SnapshotStore {
  private cache: Map<string, Cached> = new Map();
  /** Snapshot texts this thread last published, to skip rewriting unchanged ones. */
  private published: Map<string, string> = new Map();

  constructor(
    public store: KvStore,
    public prefix: string,
  ) {}

  clusterListKey(): string {
    return this.prefix + ":mc";
  }
  snapshotKey(cluster: string): string {
    return this.prefix + ":m:" + cluster;
  }
  leftKey(cluster: string): string {
    return this.prefix + ":mg:" + cluster;
  }
  failedKey(): string {
    return this.prefix + ":mf";
  }
  failingKey(cluster: string): string {
    return this.prefix + ":mh:" + cluster;
  }

  /**
   * When the membership reads began showing `address` failing its checks in `cluster`, without a break
   * since; 0 if they do not (or began before this list was kept).
   */
  failingSince(cluster: string, address: string): u64 {
    const list = parsePodTimes(this.store.get(this.failingKey(cluster)).value);
    for (let i = 0; i < list.length; i++) if (list[i].address == address) return list[i].atMs;
    return 0;
  }

  /**
   * publish, on a change: the members that fail their checks, each with the read that first showed it.
   * A pod the checks pass again, or that left, starts over.
   */
  private recordFailing(cluster: string, after: Membership, nowMs: u64): void {
    const key = this.failingKey(cluster);
    const was = parsePodTimes(this.store.get(key).value);
    const now = new Array<PodTime>(0);
    for (let i = 0; i < after.addresses.length; i++) {
      if (after.flags[i] != HOST_FAILING) continue;
      const a = after.addresses[i];
      let since = nowMs;
      for (let k = 0; k < was.length; k++) if (was[k].address == a) since = was[k].atMs;
      now.push(new PodTime(a, since));
    }
    if (now.length == 0 && was.length == 0) return;
    this.store.set(key, encodePodTimes(now, FAILED_MAX), 0);
  }

  /**
   * `address` failed at `nowMs` (a join pinned to it failed over, or the health check began failing it):
   * pins to it written before then may be stale, since another replica may have moved their rooms.
   */
  recordFailure(address: string, nowMs: u64): void {
    this.mergeFailures([new PodTime(address, nowMs)], nowMs);
  }

  /**
   * publish: a pod that was healthy and is now a member the health check fails counts as a failure too,
   * so this gateway's pins to it are dropped even where none of its own joins failed over from it.
   */
  private recordFailedChecks(before: Membership, after: Membership, nowMs: u64): void {
    for (let i = 0; i < before.addresses.length; i++) {
      if (before.flags[i] != HOST_HEALTHY) continue;
      const a = before.addresses[i];
      const flags = after.flagsOf(a);
      if (flags >= 0 && flags != HOST_HEALTHY && flags != HOST_DRAINING) this.recordFailure(a, nowMs);
    }
  }

  /** The pods that failed lately, with the last time each did. */
  failures(): PodTime[] {
    return parsePodTimes(this.store.get(this.failedKey()).value);
  }

  /**
   * Failures other replicas saw (through the room directory), merged into this gateway's list: each pod
   * keeps its latest failure, none later than `nowMs` (another clock may run ahead), none older than
   * FAILED_FOR_MS. Returns how many pods failed later there than here (or only there).
   */
  mergeFailures(shared: PodTime[], nowMs: u64): i32 {
    const list = this.failures();
    let learned = 0;
    for (let i = 0; i < shared.length; i++) {
      const at = min<u64>(shared[i].atMs, nowMs);
      if (nowMs - at > FAILED_FOR_MS) continue;
      let k = 0;
      while (k < list.length && list[k].address != shared[i].address) k++;
      if (k < list.length && list[k].atMs >= at) continue;
      if (k < list.length) list[k].atMs = at;
      else list.push(new PodTime(shared[i].address, at));
      learned++;
    }
    if (learned == 0) return 0;
    const kept = new Array<PodTime>(0);
    for (let k = 0; k < list.length; k++) if (list[k].atMs + FAILED_FOR_MS >= nowMs) kept.push(list[k]);
    kept.sort((a: PodTime, b: PodTime): i32 => (a.atMs < b.atMs ? -1 : a.atMs > b.atMs ? 1 : 0));
    this.store.set(this.failedKey(), encodePodTimes(kept, FAILED_MAX), 0);
    return learned;
  }

  /** This gateway's list of failed pods as the directory shares it (the same lines). */
  failuresText(): string {
    return podTimesText(this.failures(), FAILED_MAX);
  }

  /**
   * Whether `address` left one of the clusters within the last hour (and is no member of it now): a pod
   * this gateway knew, not one it has yet to learn of. One shared-data read per cluster: for rare paths.
   */
  hasLeft(address: string): bool {
    const list = this.clusters();
    for (let i = 0; i < list.length; i++) {
      const left = parsePodTimes(this.store.get(this.leftKey(list[i])).value);
      for (let k = 0; k < left.length; k++) if (left[k].address == address) return true;
    }
    return false;
  }

  /** publish: adds the pods of `before` missing from `after` to the cluster's list of pods that left. */
  private recordLeft(cluster: string, before: Membership, after: Membership, nowMs: u64): void {
    const key = this.leftKey(cluster);
    const kept = new Array<PodTime>(0);
    const left = parsePodTimes(this.store.get(key).value);
    for (let k = 0; k < left.length; k++) {
      // A pod back in the cluster, or gone long ago, is forgotten.
      const p = left[k];
      if (after.flagsOf(p.address) >= 0 || nowMs - p.atMs > LEFT_FOR_MS) continue;
      kept.push(p);
    }
    for (let i = 0; i < before.addresses.length; i++) {
      const a = before.addresses[i];
      if (after.flagsOf(a) < 0) kept.push(new PodTime(a, nowMs));
    }
    this.store.set(key, encodePodTimes(kept, LEFT_MAX), 0);
  }

  /** The version key is read on every request: build its string once per cluster. */
  private versionKeys: Map<string, string> = new Map();
  versionKey(cluster: string): string {
    if (this.versionKeys.has(cluster)) return this.versionKeys.get(cluster);
    const k = this.prefix + ":mv:" + cluster;
    this.versionKeys.set(cluster, k);
    return k;
  }

  readVersion(cluster: string): VersionInfo | null {
    const v = this.store.get(this.versionKey(cluster)).value;
    if (v == null) return null;
    const s = text(v);
    const sp = s.indexOf(" ");
    if (sp <= 0) return null;
    return new VersionInfo(U64.parseInt(s.substring(0, sp)), U64.parseInt(s.substring(sp + 1)));
  }

  /** on_request_headers: the cluster's current membership, or null if none was published yet. */
  current(cluster: string): Membership | null {
    const raw = this.store.get(this.versionKey(cluster)).value;
    if (raw == null) return null;
    // Compare the version prefix ("<version> ") with the cached one before parsing anything.
    if (this.cache.has(cluster)) {
      const c = this.cache.get(cluster);
      if (versionPrefixIs(raw!, c.versionText)) return c.members;
    }
    const info = this.readVersion(cluster);
    if (info == null) return null;
    const snap = this.store.get(this.snapshotKey(cluster)).value;
    const members: Membership | null = snap == null ? null : decodeSnapshot(text(snap));
    this.cache.set(cluster, new Cached(info.version, members));
    return members;
  }

  /** Clusters that have a published snapshot. */
  clusters(): string[] {
    const v = this.store.get(this.clusterListKey()).value;
    if (v == null || v.length == 0) return new Array<string>(0);
    return text(v).split("\n");
  }

  /** Adds `cluster` to the cluster list (CAS loop: publishers on several threads may add at once). */
  private listCluster(cluster: string): void {
    for (let attempt = 0; attempt < 16; attempt++) {
      const sv = this.store.get(this.clusterListKey());
      const current = sv.value == null || sv.value!.length == 0 ? new Array<string>(0) : text(sv.value!).split("\n");
      if (current.includes(cluster)) return;
      current.push(cluster);
      if (this.store.set(this.clusterListKey(), bytes(current.join("\n")), sv.cas) == WriteStatus.Ok) return;
    }
  }

  /** Age of the freshest snapshot in ms, or -1 if none was published. */
  freshestAgeMs(nowMs: u64): i64 {
    const list = this.clusters();
    let newest: u64 = 0;
    for (let i = 0; i < list.length; i++) {
      const info = this.readVersion(list[i]);
      if (info != null && info.publishedAtMs > newest) newest = info.publishedAtMs;
    }
    if (newest == 0) return -1;
    return nowMs > newest ? <i64>(nowMs - newest) : 0;
  }

  /**
   * Called by the membership source: publishes `members` for `cluster`. The snapshot is rewritten
   * and the version bumped only when the content changed; the publish time is refreshed every call.
   */
  publish(cluster: string, members: Membership, nowMs: u64): bool {
    const snap = encodeSnapshot(members);
    const prev = this.readVersion(cluster);
    let version: u64 = prev == null ? 1 : prev.version;
    let changed = prev == null;
    if (!changed) {
      if (this.published.has(cluster) && this.published.get(cluster) == snap) {
        changed = false;
      } else {
        const raw = this.store.get(this.snapshotKey(cluster)).value;
        changed = raw == null || text(raw) != snap;
        if (changed && raw != null) {
          const before = decodeSnapshot(text(raw));
          if (before != null) {
            this.recordLeft(cluster, before, members, nowMs);
            this.recordFailedChecks(before, members, nowMs);
          }
        }
      }
    }
    if (prev == null) this.listCluster(cluster);
    if (changed) {
      if (prev != null) version = prev.version + 1;
      this.store.set(this.snapshotKey(cluster), bytes(snap), 0);
      this.recordFailing(cluster, members, nowMs);
    }
    this.published.set(cluster, snap);
    this.store.set(this.versionKey(cluster), bytes(version.toString() + " " + nowMs.toString()), 0);
    return changed;
  }
}
