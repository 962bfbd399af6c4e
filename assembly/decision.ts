// The request decision, host-free: the hooks (plugin.ts) read facts from the host, call
// RequestDecider, and apply what it returns. Outcomes of the request phase: reject with a
// response-details code, pass through, pin to a pod, or learn the load balancer's choice. Outcomes
// of the response phase: nothing, strip the pin mechanism's echo, learn, or correct an unhonoured pin.
import { PluginConfig, RouteSettings, MissingKeyPolicy } from "./config";
import { RuleMatcher } from "./rules";
import { KeySpec, KeyStatus, buildRoomKey } from "./key";
import { hashBytes, hashString, mix64 } from "./hash";
import { AffinityTable, Outcome, Resolution } from "./table";
import { Membership } from "./membership";
import { PinPolicy, KeepPinsOnly } from "./placement";

/** response-details codes of local replies (visible as %RESPONSE_CODE_DETAILS% in access logs). */
export const DETAILS_MISSING_KEY = "room_affinity_missing_key";
export const DETAILS_KEY_TOO_LONG = "room_affinity_key_too_long";

/** Where the decision reads a cluster's membership; only asked once a request has a room key. */
export abstract class MembershipView {
  abstract membersOf(cluster: string, nowMs: u64): Membership | null;
}

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

/** What the request hook read from the host. */
export class RequestFacts {
  /** Raw `:path` bytes, query included. */
  path: Uint8Array = new Uint8Array(0);
  isWebSocket: bool = false;
  /** The routed cluster, or null when the host does not say. */
  cluster: string | null = null;
  /** Route name and host (port stripped); read only when `_rules_` exist. */
  routeName: string = "";
  host: string = "";
  nowMs: u64 = 0;
}

export const enum RequestAction {
  PassThrough = 0,
  Reject = 1,
  Pin = 2,
  /** Room known by key but no pod can be chosen now: let the load balancer pick, learn it from the response. */
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
  key: Uint8Array | null = null;
  resolution: Resolution | null = null;

  get address(): string { return this.resolution == null ? "" : this.resolution!.address; }
}

/** What a stream remembers from its request phase for its response phase. */
export class StreamState {
  fingerprint: u64 = 0;
  /** The address this request was pinned to ("" if none), checked against the actual upstream. */
  pinned: string = "";
  learning: bool = false;
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
  constructor(public action: ResponseAction, public resolution: Resolution | null) {}
}

const KEEP_PINS_ONLY = new KeepPinsOnly();

export class RequestDecider {
  /** Hash of each routed cluster's name, computed once per cluster (rooms are per cluster). */
  private clusterHashes: Map<string, u64> = new Map();

  /** `routes[0]` is the global route; `routes[i + 1]` is `_rules_[i]`. */
  constructor(public readonly routes: Route[], public readonly table: AffinityTable) {}

  /** Whether the request hook must read the route name and host (only rules match on them). */
  get needsRouteFacts(): bool { return this.routes.length > 1; }

  /** Request-path contract: the first rule that matches, like Higress matches `_rules_`; else the global route. */
  routeFor(facts: RequestFacts): Route {
    const cluster = facts.cluster == null ? "" : facts.cluster!;
    for (let i = 1; i < this.routes.length; i++) {
      if (this.routes[i].matcher!.matches(facts.routeName, facts.host, cluster)) return this.routes[i];
    }
    return this.routes[0];
  }

  /** Request-headers contract: what to do with this request. Pins are written to the table here. */
  decide(facts: RequestFacts, members: MembershipView): RequestDecision {
    const d = new RequestDecision();
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
    // Rooms are per routed cluster: the same key routed to two clusters is two rooms.
    const cluster = facts.cluster;
    d.fingerprint = mix64(hashBytes(key.key!) ^ (cluster == null ? 0 : this.clusterHash(cluster!)));
    d.key = key.key;
    let policy: PinPolicy = KEEP_PINS_ONLY;
    if (cluster != null) {
      const m = members.membersOf(cluster!, facts.nowMs);
      if (m != null && m.size > 0) policy = m;
    }
    const res = this.table.resolve(d.fingerprint, <u32>(facts.nowMs / 1000), policy);
    d.resolution = res;
    d.action = res.outcome == Outcome.NoPlacement ? RequestAction.Learn : RequestAction.Pin;
    return d;
  }

  /** The stream state a request decision leaves for the response phase. */
  streamState(d: RequestDecision): StreamState {
    const s = new StreamState();
    s.fingerprint = d.fingerprint;
    if (d.action == RequestAction.Pin) s.pinned = d.address;
    s.learning = d.action == RequestAction.Learn;
    return s;
  }

  /**
   * Response-headers contract: `upstream` is where the gateway connected (null if unknown) and
   * `status` the response's :status (null if not read). A pin is built only on an answer below 500.
   */
  afterResponse(s: StreamState, upstream: string | null, status: string | null, nowMs: u64): ResponseDecision {
    if (s.pinned.length > 0 && upstream != null && upstream == s.pinned) return new ResponseDecision(ResponseAction.None, null);
    if ((!s.learning && s.pinned.length == 0) || upstream == null || upstream.length == 0 || !servedBelow500(status)) {
      return new ResponseDecision(ResponseAction.Strip, null);
    }
    const now = <u32>(nowMs / 1000);
    if (s.learning) {
      // The load balancer chose; make that the room's pin unless a racing request pinned it first.
      return new ResponseDecision(ResponseAction.Learned, this.table.learn(s.fingerprint, now, upstream!));
    }
    // The gateway did not honour the pin (pod gone or unusable in its eyes) and its load balancer
    // chose another pod: move the room there, so the next players follow instead of scattering.
    return new ResponseDecision(ResponseAction.Corrected, this.table.correct(s.fingerprint, now, s.pinned, upstream!));
  }

  private clusterHash(cluster: string): u64 {
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

function servedBelow500(status: string | null): bool {
  return status != null && status.length == 3 && status.charCodeAt(0) < 0x35;
}
