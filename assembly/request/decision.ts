// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// The request decision, host-free: the hooks read facts, call RequestDecider, and apply what it
// returns. Request phase: reject, pass through, pin a known room to its pod, or leave a new room to the
// gateway's hash and learn its choice. Response phase: nothing, strip the pin mechanism's echo, learn,
// or correct an unhonoured pin. Why the gateway places rooms: docs/architecture.md.
import { PluginConfig, RouteSettings, MissingKeyPolicy } from "../config/config";
import { RuleMatcher, MatchKind } from "./rules";
import { KeySpec, KeyStatus, buildRoomKey } from "./key";
import { hashBytesRaw, hex64 } from "../support/hash";
import { AffinityTable, Outcome, Resolution } from "../table/table";
import { TableHistory } from "../table/history";
import { DownPods, FailedPods } from "../table/failed-pods";
import { AssumedCluster } from "./assumed-cluster";

export { RequestFacts, DeferredFacts, StreamState } from "./facts";
import { RequestFacts, DeferredFacts, StreamState } from "./facts";

/** Settings that apply to a request: the global ones (matcher null) or a `_rules_` entry's. */
export class Route {
  readonly keySpec: KeySpec;
  constructor(
    public readonly matcher: RuleMatcher | null,
    public readonly settings: RouteSettings,
  ) {
    this.keySpec = new KeySpec(settings.keyParams, settings.keyIncludesPath, settings.maxKeyLength);
  }
}

/** on_configure: the routes of a configuration, global first, then `_rules_` in order. */
export function routesOf(c: PluginConfig): Route[] {
  const routes: Route[] = [new Route(null, c.route)];
  for (let i = 0; i < c.rules.length; i++) routes.push(new Route(c.rules[i].matcher, c.rules[i].settings));
  return routes;
}

/** on_request_headers: whether an `upgrade` header's value asks for WebSocket (ASCII case-insensitive, no allocation). */
export function upgradesToWebSocket(value: Uint8Array, start: i32 = 0, end: i32 = value.length): bool {
  if (end - start != 9 || start < 0 || end > value.length) return false;
  const want = "websocket";
  for (let i = 0; i < 9; i++) {
    const c = <i32>unchecked(value[start + i]);
    if ((c | 0x20) != want.charCodeAt(i)) return false;
  }
  return true;
}

export const enum RequestAction {
  PassThrough = 0,
  Reject = 1,
  /** A known room: pin it to its pod (the gateway falls back to the room's hash if the pod is unusable). */
  Pin = 2,
  /** A new room: the gateway's hash on the room places it; learn the pod from the response. */
  Learn = 3,
}

/** Why a request is refused (local-replies.ts words the reply). */
export const enum Rejection {
  None = 0,
  /** `onMissingKey: reject` and a key parameter is absent (`rejectionDetail`: its name). */
  MissingKey = 1,
  /** The key is longer than `maxKeyLength` (`rejectionDetail`: the limit). */
  KeyTooLong = 2,
}

export const enum PassReason {
  None = 0,
  NotWebSocket = 1,
  MissingKey = 2,
}

export class RequestDecision {
  action: RequestAction = RequestAction.PassThrough;
  passReason: PassReason = PassReason.None;
  /** Reject: why, and the parameter or limit the reply names. */
  rejection: Rejection = Rejection.None;
  rejectionDetail: string = "";
  /** Pin and Learn: the room, and how the table resolved it. */
  fingerprint: u64 = 0;
  /** Pin and Learn: the hash of the room key alone (the fingerprint adds the routed cluster's). */
  keyHash: u64 = 0;
  /** The fingerprint was made with the worker's assumed cluster, not one read for this request. */
  assumedCluster: bool = false;
  /** Pin and Learn: the room key, `keyBytes[0, keyLength)` (the key spec's buffer: valid until its next key). */
  keyBytes: Uint8Array | null = null;
  keyLength: i32 = 0;
  /** The room key as a view (allocates: for logs), or null without one. */
  get key(): Uint8Array | null {
    const b = this.keyBytes;
    return b == null ? null : b.subarray(0, this.keyLength);
  }
  resolution: Resolution | null = null;
  /**
   * Pin and Learn: the value of `hashHeader`, 16 hex digits of the room key's hash. The gateway hashes
   * within the routed cluster, so the cluster need not be in it, and every player of a room carries the
   * same value whether its worker read the cluster or assumed it.
   */
  get roomHash(): string {
    return hex64(this.keyHash);
  }
  /** The pin was carried over from a previous table geometry (history.ts). */
  adopted: bool = false;

  get address(): string {
    return this.resolution == null ? "" : this.resolution!.address;
  }

  /**
   * Pin: the room's pod is down since the room was last joined, so the join is not pinned. It goes
   * where the room's retried joins go, and its 101 moves the room there.
   */
  get podDown(): bool {
    return this.resolution != null && this.resolution!.podDown;
  }

  /** Empties the decision for another request (the request hook reuses one; see decide). */
  reset(): RequestDecision {
    this.action = RequestAction.PassThrough;
    this.passReason = PassReason.None;
    this.rejection = Rejection.None;
    this.rejectionDetail = "";
    this.fingerprint = 0;
    this.keyHash = 0;
    this.assumedCluster = false;
    this.keyBytes = null;
    this.keyLength = 0;
    this.resolution = null;
    this.adopted = false;
    return this;
  }
}

export const enum ResponseAction {
  /** The pin was honoured: nothing echoed, nothing to correct. */
  None = 0,
  /** Remove the pin mechanism's echo, nothing else. */
  Strip = 1,
  /** Strip, and the room was pinned where the load balancer sent it. */
  Learned = 2,
  /** Strip, and the room moved to where the gateway sent it instead of the unusable pinned pod. */
  Corrected = 3,
}

export class ResponseDecision {
  constructor(
    public readonly action: ResponseAction,
    public readonly resolution: Resolution | null,
    public readonly upstream: string = "",
  ) {}

  /**
   * A learn or correction that found the room recorded on another pod than the one this player reached:
   * two players of the room were routed with different host sets (a membership change landed between
   * them), or the gateway does not hash on the room. This player is on the wrong pod: the hook refuses
   * its upgrade (503, local-replies.ts) and the client's retry is pinned to the room's pod.
   */
  get conflict(): bool {
    return (
      (this.action == ResponseAction.Learned || this.action == ResponseAction.Corrected) &&
      this.resolution != null &&
      this.resolution!.outcome == Outcome.Hit &&
      this.resolution!.address != this.upstream
    );
  }
}

/**
 * The state of every stream that pinned nothing and learns nothing (see streamState), and of a stream
 * before its request phase: shared, never written.
 */
export const NOTHING_PINNED = new StreamState();

/** The two outcomes that change nothing, shared (immutable) so the common response allocates nothing. */
const PIN_HELD = new ResponseDecision(ResponseAction.None, null);
const STRIP_ONLY = new ResponseDecision(ResponseAction.Strip, null);

export class RequestDecider {
  /** Whether a rule matches by service: then every keyed request needs its routed cluster. */
  private readonly rulesMatchService: bool;
  /** The cluster this worker's keyed requests are routed to, read only now and then (assumed-cluster.ts). */
  readonly routedCluster: AssumedCluster;

  /**
   * `routes[0]` is the global route; `routes[i + 1]` is `_rules_[i]`. `history` holds the tables of
   * previous geometries, read through on a miss until their entries expire. `clusterRefreshMs`: the
   * longest a worker may go without reading the routed cluster (0: no limit; see AssumedCluster).
   * `directorySettles`: a room directory decides each new or moved room's pod before the table records
   * it (afterResponse then answers Pending, and commit() writes the table where the directory cannot).
   */
  constructor(
    public readonly routes: Route[],
    public readonly table: AffinityTable,
    public readonly history: TableHistory | null = null,
    clusterRefreshMs: u64 = 0,
    public readonly directorySettles: bool = false,
    /** The pods the gateway's health check fails now: a join is not pinned to them (see find). */
    private readonly downPods: DownPods | null = null,
  ) {
    let all = true;
    let byService = false;
    for (let i = 0; i < routes.length; i++) {
      all = all && routes[i].settings.websocketOnly;
      const m = routes[i].matcher;
      byService = byService || (m != null && m.kind == MatchKind.Service);
    }
    this.passesEveryNonWebSocket = all;
    this.rulesMatchService = byService;
    this.routedCluster = new AssumedCluster(byService, clusterRefreshMs);
  }

  /** Whether the request hook must read the route name and host (only rules match on them). */
  get needsRouteFacts(): bool {
    return this.routes.length > 1;
  }

  /**
   * on_request_headers: every route passes a request that is not a WebSocket upgrade, so for one
   * the decision needs no other fact: decide() passes it whatever its path, route or cluster.
   */
  readonly passesEveryNonWebSocket: bool;

  /** on_request_headers: the first rule that matches, like Higress matches `_rules_`; else the global route. */
  routeFor(facts: RequestFacts): Route {
    if (this.routes.length == 1) return this.routes[0]; // no rules: no reason to read the cluster yet
    const c = this.rulesMatchService ? facts.cluster : null; // only a service match needs it
    const cluster = c == null ? "" : c;
    for (let i = 1; i < this.routes.length; i++) {
      if (this.routes[i].matcher!.matches(facts.routeName, facts.host, cluster)) return this.routes[i];
    }
    return this.routes[0];
  }

  /**
   * on_request_headers: what to do with this request. Pins are written to the table here. The
   * decision is written into `into` (the request hook passes one it reuses, so a join allocates no
   * decision), its resolution into `resolved` when the room is found (see AffinityTable.find).
   */
  decide(facts: RequestFacts, into: RequestDecision = new RequestDecision(), resolved: Resolution = new Resolution()): RequestDecision {
    const d = into.reset();
    if (!facts.isWebSocket && this.passesEveryNonWebSocket) {
      // Whichever route matched would pass it: no rule needs matching, no fact needs reading.
      d.passReason = PassReason.NotWebSocket;
      return d;
    }
    const route = this.routeFor(facts);
    const settings = route.settings;
    if (settings.websocketOnly && !facts.isWebSocket) {
      d.passReason = PassReason.NotWebSocket;
      return d;
    }
    const key = buildRoomKey(facts.pathBytes, route.keySpec, facts.pathStart, facts.pathEnd);
    if (key.status == KeyStatus.TooLong) {
      return reject(d, Rejection.KeyTooLong, settings.maxKeyLength.toString());
    }
    if (key.status == KeyStatus.Missing) {
      if (settings.onMissingKey == MissingKeyPolicy.Reject) {
        return reject(d, Rejection.MissingKey, key.missingParam);
      }
      d.passReason = PassReason.MissingKey;
      return d;
    }
    // Rooms are per routed cluster: the same key routed to two clusters is two rooms. The cluster is
    // read from the host, or assumed where this worker has only seen one (assumed-cluster.ts).
    const keyHash = hashBytesRaw(key.bytes.dataStart, <usize>key.length);
    const now = <u32>(facts.nowMs / 1000);
    const clusters = this.routedCluster;
    let fp = clusters.fingerprint(keyHash, facts);
    let assumed = clusters.lastAssumed;
    const pods = this.downPods;
    const down: FailedPods | null = pods == null ? null : pods.current(facts.nowMs);
    let res = this.table.find(fp, now, resolved, down);
    if (assumed && res.address.length == 0) {
      // A room this table lacks is pinned under the cluster it was really routed to.
      assumed = false;
      const real = clusters.fingerprintRead(keyHash, facts);
      if (real != fp) {
        fp = real;
        res = this.table.find(fp, now, resolved, down);
      }
    }
    d.fingerprint = fp;
    d.keyHash = keyHash;
    d.assumedCluster = assumed;
    d.keyBytes = key.bytes;
    d.keyLength = key.length;
    if (res.outcome == Outcome.NoPlacement && this.history != null) {
      // A geometry change must not lose pins: carry a room over from the table it was pinned in.
      const previous = this.history!.find(fp, now);
      if (previous.length > 0) {
        res = this.table.learn(fp, now, previous);
        d.adopted = res.outcome == Outcome.Pinned;
      }
    }
    d.resolution = res;
    d.action = res.address.length > 0 ? RequestAction.Pin : RequestAction.Learn;
    return d;
  }

  /**
   * The stream state a request decision leaves for the response phase. A request passed or refused
   * pinned nothing and learns nothing, so its response needs no state of its own: it gets one shared,
   * never written (a plain request allocates nothing for it).
   */
  streamState(d: RequestDecision, facts: RequestFacts): StreamState {
    if (d.action == RequestAction.PassThrough || d.action == RequestAction.Reject) return NOTHING_PINNED;
    const s = new StreamState();
    s.upgrade = facts.isWebSocket;
    s.fingerprint = d.fingerprint;
    s.keyHash = d.keyHash;
    s.assumedCluster = d.assumedCluster;
    if (d.action == RequestAction.Pin) s.pinned = d.address;
    s.learning = d.action == RequestAction.Learn;
    return s;
  }

  /**
   * on_response_headers: `upstream` is where the gateway connected (null if unknown) and
   * `status` the response's :status (null if not read); the clock is read only to write a pin. A pin
   * is written only when the upstream accepted: 101 for a WebSocket upgrade, 2xx otherwise; rejected
   * upgrades (4xx, 5xx) never enter the table, so junk cannot evict live rooms. The routed cluster is
   * read only for a pin made with an assumed cluster that was not honoured.
   */
  afterResponse(s: StreamState, upstream: string | null, status: string | null, facts: DeferredFacts): ResponseDecision {
    if (s.pinned.length > 0 && upstream != null && upstream == s.pinned) return PIN_HELD;
    if (s.assumedCluster && s.pinned.length > 0) this.routedCluster.recheckUnhonouredPin(s, facts);
    if ((!s.learning && s.pinned.length == 0) || upstream == null || upstream.length == 0 || !accepted(status, s.upgrade)) {
      return STRIP_ONLY;
    }
    const now = <u32>(facts.nowMs() / 1000);
    const action = s.learning ? ResponseAction.Learned : ResponseAction.Corrected;
    if (this.directorySettles) return new ResponseDecision(action, this.pending(s, now, upstream!), upstream!);
    return this.commit(action, s, now, upstream!);
  }

  /**
   * Writes what a response taught the table. A new room: the load balancer chose; make that the room's
   * pin unless a racing request pinned it first. An unhonoured pin: the gateway judged the pinned pod
   * unusable and its load balancer chose another: move the room there, so the next players follow.
   * Called by afterResponse, and by the stream when the directory cannot settle the room (failing open).
   */
  commit(action: ResponseAction, s: StreamState, now: u32, upstream: string): ResponseDecision {
    const from = action == ResponseAction.Learned ? "" : s.pinned;
    return new ResponseDecision(action, this.table.record(s.fingerprint, now, from, upstream), upstream);
  }

  /**
   * With a directory: what the table holds now, without writing. The room's pod is written once the
   * directory has settled it, so no player of this replica follows a pod another replica may overrule.
   * Hit on `upstream`: settled already. Hit elsewhere (not the pin this player was sent to): the room
   * was settled on another pod, a conflict. Otherwise Pending: the directory decides.
   */
  private pending(s: StreamState, now: u32, upstream: string): Resolution {
    const res = this.table.find(s.fingerprint, now);
    if (res.outcome == Outcome.Hit && (res.address == upstream || res.address != s.pinned)) return res;
    const pending = new Resolution();
    pending.outcome = Outcome.Pending;
    pending.address = upstream;
    return pending;
  }
}

function reject(d: RequestDecision, why: Rejection, detail: string): RequestDecision {
  d.action = RequestAction.Reject;
  d.rejection = why;
  d.rejectionDetail = detail;
  return d;
}

/** The upstream took the request: 101 for an upgrade, 2xx for anything else. */
function accepted(status: string | null, upgrade: bool): bool {
  if (status == null || status.length != 3) return false;
  return upgrade ? status == "101" : status.charCodeAt(0) == 0x32;
}

/**
 * What access logs show of the plugin's decision (filter state room_affinity_decision): the request
 * phase's word, replaced by the response phase's where that one says more.
 */
export function requestLabel(d: RequestDecision): string {
  switch (d.action) {
    case RequestAction.Reject:
      return "rejected";
    case RequestAction.PassThrough:
      return "passed";
    case RequestAction.Pin:
      return d.podDown ? "pod_down" : d.adopted ? "adopted" : "hit";
    default:
      return "new";
  }
}

/** The response phase's word, or "" where the request phase's stands (a pin that held, a plain pass). */
export function responseLabel(d: ResponseDecision): string {
  if (d.conflict) return "elsewhere";
  const res = d.resolution;
  if (res != null && res.outcome == Outcome.Contended) return "contended";
  if (d.action == ResponseAction.Learned) return "learned";
  if (d.action == ResponseAction.Corrected) return "repinned";
  return "";
}
