// The request decision, host-free: the hooks (plugin.ts) read facts from the host, call
// RequestDecider, and apply what it returns. Outcomes of the request phase: reject with a
// response-details code, pass through, pin a known room to its pod, or leave a new room to the
// gateway's load balancer and learn its choice. Outcomes of the response phase: nothing, strip the
// pin mechanism's echo, learn, or correct an unhonoured pin.
//
// Why the gateway places new rooms and judges pins: its load balancer is the only party that knows,
// at the moment of the request, which pods it will actually use. The plugin's membership view lags
// (a tick, an admin fetch); when the plugin placed rooms from it, players racing a pod's departure
// were sent by two deciders with two views and their rooms split. Now every request of a room carries
// the room's hash (`hashHeader`), the gateway hashes on it (MAGLEV / consistent hash), so a new room,
// or a pin the gateway cannot honour, lands on the same pod for every player of the room on every
// worker; the plugin records that pod once the upgrade succeeds (101).
import { PluginConfig, RouteSettings, MissingKeyPolicy } from "./config";
import { RuleMatcher, MatchKind } from "./rules";
import { KeySpec, KeyStatus, buildRoomKey } from "./key";
import { hashBytes, hashString, mix64, hex64 } from "./hash";
import { AffinityTable, Outcome, Resolution } from "./table";
import { TableHistory } from "./history";
import { AssumedCluster } from "./assumed-cluster";

/** response-details codes of local replies (visible as %RESPONSE_CODE_DETAILS% in access logs). */
export const DETAILS_MISSING_KEY = "room_affinity_missing_key";
export const DETAILS_KEY_TOO_LONG = "room_affinity_key_too_long";
/** A player reached another pod than the one its room was just recorded on; its retry reaches the room. */
export const DETAILS_ROOM_ELSEWHERE = "room_affinity_room_elsewhere";

/** Settings that apply to a request: the global ones (matcher null) or a `_rules_` entry's. */
export class Route {
  readonly keySpec: KeySpec;
  constructor(public readonly matcher: RuleMatcher | null, public readonly settings: RouteSettings) {
    this.keySpec = new KeySpec(settings.keyParams, settings.keyIncludesPath, settings.maxKeyLength);
  }
}

/** on_configure contract: the routes of a configuration, global first, then `_rules_` in order. */
export function routesOf(c: PluginConfig): Route[] {
  const routes: Route[] = [new Route(null, c.route)];
  for (let i = 0; i < c.rules.length; i++) routes.push(new Route(c.rules[i].matcher, c.rules[i].settings));
  return routes;
}

/**
 * Facts a decision may not need, read from the host only when it does: a request without a complete
 * key never reads the routed cluster (the costliest read), and a response whose pin held never reads
 * the clock. The hook's implementation reads the host; tests use fixed values.
 */
export abstract class DeferredFacts {
  /** The routed cluster, or null when the host does not say. */
  abstract cluster(): string | null;
  abstract nowMs(): u64;
}

/** Fixed deferred facts, for tests. */
export class FixedFacts extends DeferredFacts {
  constructor(private readonly clusterName: string | null, private readonly now: u64) { super(); }
  cluster(): string | null { return this.clusterName; }
  nowMs(): u64 { return this.now; }
}

/** What the request hook read from the host, and where to read the rest if the decision needs it. */
export class RequestFacts {
  /** Raw `:path` bytes, query included. */
  path: Uint8Array = EMPTY_PATH;
  /** All request headers (pairs.ts encoding) when the hook read them at once, else null; like `path`,
   *  which may be a view into them, valid until the hook returns (the next request reuses the bytes). */
  sentHeaders: Uint8Array | null = null;
  isWebSocket: bool = false;
  /** Route name and host (port stripped); read only when `_rules_` exist. */
  routeName: string = "";
  host: string = "";
  /** The source of `cluster` and `nowMs` until they are set or read. */
  deferred: DeferredFacts | null = null;
  private clusterValue: string | null = null;
  private clusterKnown: bool = false;
  /** Whether the routed cluster was read (or set): what the cluster-labelled membership needs. */
  get clusterRead(): bool { return this.clusterKnown; }
  private nowValue: u64 = 0;
  private nowKnown: bool = false;

  /** The routed cluster (read at most once). */
  get cluster(): string | null {
    if (!this.clusterKnown) {
      this.clusterKnown = true;
      const d = this.deferred;
      if (d != null) this.clusterValue = d.cluster();
    }
    return this.clusterValue;
  }
  set cluster(v: string | null) { this.clusterValue = v; this.clusterKnown = true; }

  get nowMs(): u64 {
    if (!this.nowKnown) {
      this.nowKnown = true;
      const d = this.deferred;
      if (d != null) this.nowValue = d.nowMs();
    }
    return this.nowValue;
  }
  set nowMs(v: u64) { this.nowValue = v; this.nowKnown = true; }
}
const EMPTY_PATH = new Uint8Array(0);

/** Request-hook contract: whether an `upgrade` header's value asks for WebSocket (ASCII case-insensitive, no allocation). */
export function upgradesToWebSocket(value: Uint8Array | null): bool {
  if (value == null || value.length != 9) return false;
  const want = "websocket";
  for (let i = 0; i < 9; i++) {
    const c = <i32>value[i];
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

export const enum PassReason {
  None = 0,
  NotWebSocket = 1,
  MissingKey = 2,
}

export class RequestDecision {
  action: RequestAction = RequestAction.PassThrough;
  passReason: PassReason = PassReason.None;
  /** Reject: status, response-details code and body of the local reply. */
  status: u32 = 0;
  details: string = "";
  body: string = "";
  /** Pin and Learn: the room, and how the table resolved it. */
  fingerprint: u64 = 0;
  /** Pin and Learn: the hash of the room key alone (the fingerprint adds the routed cluster's). */
  keyHash: u64 = 0;
  /** The fingerprint was made with the worker's assumed cluster, not one read for this request. */
  assumedCluster: bool = false;
  key: Uint8Array | null = null;
  resolution: Resolution | null = null;
  /**
   * Pin and Learn: the value of `hashHeader`, 16 hex digits of the room key's hash. The gateway hashes
   * within the routed cluster, so the cluster need not be in it, and every player of a room carries the
   * same value whether its worker read the cluster or assumed it.
   */
  get roomHash(): string { return hex64(this.keyHash); }
  /** The pin was carried over from a previous table geometry (history.ts). */
  adopted: bool = false;

  get address(): string { return this.resolution == null ? "" : this.resolution!.address; }
}

/** What a stream remembers from its request phase for its response phase. */
export class StreamState {
  fingerprint: u64 = 0;
  /** The room key's hash: the fingerprint again under the real cluster if the assumed one was wrong. */
  keyHash: u64 = 0;
  /** The fingerprint was made with an assumed cluster: checked if the pin is not honoured. */
  assumedCluster: bool = false;
  /** The address this request was pinned to ("" if none), checked against the actual upstream. */
  pinned: string = "";
  learning: bool = false;
  /** A WebSocket upgrade: only a 101 confirms its pod. */
  upgrade: bool = false;
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
  constructor(public readonly action: ResponseAction, public readonly resolution: Resolution | null, public readonly upstream: string = "") {}

  /**
   * A learn or correction that found the room recorded on another pod than the one this player reached:
   * two players of the room were routed with different host sets (a membership change landed between
   * them), or the gateway does not hash on the room. This player is on the wrong pod: the hook refuses
   * its upgrade (503, DETAILS_ROOM_ELSEWHERE) and the client's retry is pinned to the room's pod.
   */
  get conflict(): bool {
    return (this.action == ResponseAction.Learned || this.action == ResponseAction.Corrected) &&
      this.resolution != null && this.resolution!.outcome == Outcome.Hit && this.resolution!.address != this.upstream;
  }
}

/** The two outcomes that change nothing, shared (immutable) so the common response allocates nothing. */
const PIN_HELD = new ResponseDecision(ResponseAction.None, null);
const STRIP_ONLY = new ResponseDecision(ResponseAction.Strip, null);

export class RequestDecider {
  /** Hash of each routed cluster's name, computed once per cluster (rooms are per cluster). */
  private clusterHashes: Map<string, u64> = new Map();
  /** The cluster string hashed last (compared by identity) and its hash. */
  private lastCluster: string | null = null;
  private lastClusterHash: u64 = 0;
  /** Whether a rule matches by service: then every keyed request needs its routed cluster. */
  private readonly rulesMatchService: bool;
  /** The cluster this worker's keyed requests are routed to, read only now and then (assumed-cluster.ts). */
  readonly routedCluster: AssumedCluster;

  /**
   * `routes[0]` is the global route; `routes[i + 1]` is `_rules_[i]`. `history` holds the tables of
   * previous geometries, read through on a miss until their entries expire. `clusterRefreshMs`: the
   * longest a worker may go without reading the routed cluster (0: no limit; see AssumedCluster).
   */
  constructor(public readonly routes: Route[], public readonly table: AffinityTable,
    public readonly history: TableHistory | null = null, clusterRefreshMs: u64 = 0) {
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
  get needsRouteFacts(): bool { return this.routes.length > 1; }

  /**
   * Request-hook contract: every route passes a request that is not a WebSocket upgrade, so for one
   * the decision needs no other fact: decide() passes it whatever its path, route or cluster.
   */
  readonly passesEveryNonWebSocket: bool;

  /** Request-path contract: the first rule that matches, like Higress matches `_rules_`; else the global route. */
  routeFor(facts: RequestFacts): Route {
    if (this.routes.length == 1) return this.routes[0]; // no rules: no reason to read the cluster yet
    const c = this.rulesMatchService ? facts.cluster : null; // only a service match needs it
    const cluster = c == null ? "" : c;
    for (let i = 1; i < this.routes.length; i++) {
      if (this.routes[i].matcher!.matches(facts.routeName, facts.host, cluster)) return this.routes[i];
    }
    return this.routes[0];
  }

  /** Request-headers contract: what to do with this request. Pins are written to the table here. */
  decide(facts: RequestFacts): RequestDecision {
    const d = new RequestDecision();
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
    const key = buildRoomKey(facts.path, route.keySpec);
    if (key.status == KeyStatus.TooLong) {
      return reject(d, DETAILS_KEY_TOO_LONG, "room key longer than " + settings.maxKeyLength.toString() + " bytes\n");
    }
    if (key.status == KeyStatus.Missing) {
      if (settings.onMissingKey == MissingKeyPolicy.Reject) {
        return reject(d, DETAILS_MISSING_KEY, "missing query parameter '" + key.missingParam + "'\n");
      }
      d.passReason = PassReason.MissingKey;
      return d;
    }
    // Rooms are per routed cluster: the same key routed to two clusters is two rooms. The cluster is
    // read from the host, or assumed where this worker has only seen one (assumed-cluster.ts).
    const keyHash = hashBytes(key.key!);
    const nowMs = facts.nowMs;
    const now = <u32>(nowMs / 1000);
    const clusters = this.routedCluster;
    let assumed = clusters.mayAssume(nowMs);
    let fp: u64;
    if (assumed) fp = this.fingerprintOf(keyHash, clusters.assumed);
    else {
      const cluster = facts.cluster;
      clusters.confirm(cluster, nowMs);
      fp = this.fingerprintOf(keyHash, cluster);
    }
    let res = this.table.find(fp, now);
    if (assumed && res.address.length == 0) {
      // A room this table lacks is pinned under the cluster it was really routed to.
      assumed = false;
      const cluster = facts.cluster;
      if (!clusters.confirm(cluster, nowMs)) {
        fp = this.fingerprintOf(keyHash, cluster);
        res = this.table.find(fp, now);
      }
    }
    d.fingerprint = fp;
    d.keyHash = keyHash;
    d.assumedCluster = assumed;
    d.key = key.key;
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

  /** The stream state a request decision leaves for the response phase. */
  streamState(d: RequestDecision, facts: RequestFacts): StreamState {
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
   * Response-headers contract: `upstream` is where the gateway connected (null if unknown) and
   * `status` the response's :status (null if not read); the clock is read only to write a pin. A pin
   * is written only when the upstream accepted: 101 for a WebSocket upgrade, 2xx otherwise; rejected
   * upgrades (4xx, 5xx) never enter the table, so junk cannot evict live rooms. The routed cluster is
   * read only for a pin made with an assumed cluster that was not honoured.
   */
  afterResponse(s: StreamState, upstream: string | null, status: string | null, facts: DeferredFacts): ResponseDecision {
    if (s.pinned.length > 0 && upstream != null && upstream == s.pinned) return PIN_HELD;
    if (s.assumedCluster && s.pinned.length > 0) {
      // The gateway honours a pin only to a member of the routed cluster: this request may have been
      // routed to another cluster than assumed, and its pin was then another room's, to leave alone.
      s.assumedCluster = false;
      const cluster = facts.cluster();
      if (!this.routedCluster.confirm(cluster, facts.nowMs())) {
        s.fingerprint = this.fingerprintOf(s.keyHash, cluster);
        s.pinned = "";
        s.learning = true;
      }
    }
    if ((!s.learning && s.pinned.length == 0) || upstream == null || upstream.length == 0 || !accepted(status, s.upgrade)) {
      return STRIP_ONLY;
    }
    const now = <u32>(facts.nowMs() / 1000);
    if (s.learning) {
      // The load balancer chose; make that the room's pin unless a racing request pinned it first.
      return new ResponseDecision(ResponseAction.Learned, this.table.learn(s.fingerprint, now, upstream!), upstream!);
    }
    // The gateway did not honour the pin (pod gone or unusable in its eyes) and its load balancer
    // chose another pod: move the room there, so the next players follow instead of scattering.
    return new ResponseDecision(ResponseAction.Corrected, this.table.correct(s.fingerprint, now, s.pinned, upstream!), upstream!);
  }

  /** A room's fingerprint: its key's hash and its routed cluster's (none when the host does not say). */
  private fingerprintOf(keyHash: u64, cluster: string | null): u64 {
    return mix64(keyHash ^ (cluster == null ? 0 : this.clusterHash(cluster!)));
  }

  private clusterHash(cluster: string): u64 {
    // The hook hands the same string back while the routed cluster repeats (RepeatedProperty): the
    // common join then skips hashing the name for the map lookup.
    if (changetype<usize>(cluster) == changetype<usize>(this.lastCluster)) return this.lastClusterHash;
    const h = this.hashOfCluster(cluster);
    this.lastCluster = cluster;
    this.lastClusterHash = h;
    return h;
  }

  private hashOfCluster(cluster: string): u64 {
    if (this.clusterHashes.has(cluster)) return this.clusterHashes.get(cluster);
    const h = hashString(cluster);
    if (this.clusterHashes.size > 4096) this.clusterHashes.clear();
    this.clusterHashes.set(cluster, h);
    return h;
  }
}

function reject(d: RequestDecision, details: string, body: string): RequestDecision {
  d.action = RequestAction.Reject;
  d.status = 400;
  d.details = details;
  d.body = body;
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
    case RequestAction.Reject: return "rejected";
    case RequestAction.PassThrough: return "passed";
    case RequestAction.Pin: return d.adopted ? "adopted" : "hit";
    default: return "new";
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
