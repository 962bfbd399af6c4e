// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// What the hooks read from the host for a decision, and nothing more: the request's facts, the
// routed cluster and the clock when the decision asks for them, and the response's upstream.
import { MapType } from "../abi/imports";
import { HostName, RepeatedProperty, fromUtf8, getHeader, getPropertyString, nowNanos, STATUS_HEADER } from "../abi/host";
import { RequestHeaders } from "../abi/request-headers";
import { RequestFacts, DeferredFacts, StreamState, upgradesToWebSocket } from "../request/decision";
import { stripPort } from "../request/rules";
import { Sampler } from "../support/sampler";
import { PluginInstance } from "./instance";

export function nowMillis(): u64 {
  return nowNanos() / 1000000;
}

const UPGRADE = new HostName("upgrade");
const PATH = new HostName(":path");
const AUTHORITY = new HostName(":authority");
const CLUSTER_NAME = new RepeatedProperty(HostName.property(["xds", "cluster_name"]));
const ROUTE_NAME = HostName.property(["route_name"]);
const XDS_ROUTE_NAME = HostName.property(["xds", "route_name"]);
const UPSTREAM_ADDRESS = HostName.property(["upstream", "address"]);

/** The host behind the facts a decision reads only when it needs them (one instance: no state). */
class HostFacts extends DeferredFacts {
  cluster(): string | null {
    return CLUSTER_NAME.read();
  }
  nowMs(): u64 {
    return nowMillis();
  }
}
export const HOST_FACTS = new HostFacts();

/** The request's headers; one object per worker, re-read by each request hook. */
const HEADERS = new RequestHeaders();

/**
 * on_request_headers: the headers (read all at once or one by one, as the instance's plan says)
 * and the facts the decision needs; the routed cluster and the clock are read later, only if needed.
 */
export function readRequestFacts(inst: PluginInstance, facts: RequestFacts): RequestHeaders {
  facts.reset(HOST_FACTS);
  const plan = inst.headerPlan;
  const headers = HEADERS.read(plan.readsAllHeaders());
  facts.isWebSocket = headers.find(UPGRADE) && upgradesToWebSocket(headers.bytes, headers.at.start, headers.at.end);
  plan.record(facts.isWebSocket);
  // A request every route passes through needs nothing more: read on its own, the path is a value
  // handed back, which costs Envoy more than the absent upgrade header did.
  if (!facts.isWebSocket && inst.decider.passesEveryNonWebSocket) return headers;
  if (headers.find(PATH)) facts.setPath(headers.bytes, headers.at.start, headers.at.end);
  if (inst.decider.needsRouteFacts) {
    let routeName = getPropertyString(ROUTE_NAME);
    if (routeName == null) routeName = getPropertyString(XDS_ROUTE_NAME);
    if (routeName != null) facts.routeName = routeName;
    const authority = headers.get(AUTHORITY);
    if (authority != null) facts.host = stripPort(fromUtf8(authority));
  }
  return headers;
}

/** What the response hook read: where the gateway connected, the status, and whether the pin went unread. */
export class ResponseFacts {
  /** The upstream address, or null where not read (nothing pinned or learning) or unknown. */
  upstream: string | null = null;
  /** The response's :status, read only when the upstream is not the pinned pod. */
  status: string | null = null;
  /** The pin mechanism said the pin held, yet the gateway went elsewhere: it reads another header than ours. */
  pinUnread: bool = false;
}
const RESPONSE = new ResponseFacts();

/**
 * A pin whose mechanism says it held (no stateful_session echo) is verified against the upstream
 * address on a sample: enough to catch a stateful_session that reads another header, without a
 * property read per join.
 */
const HELD_PINS_VERIFIED = new Sampler(16, 64);

/**
 * on_response_headers: the upstream matters only to a stream that pinned or is learning. The
 * common case, a join whose pin held, asks the pin mechanism (one header read) and stops there.
 */
export function readResponseFacts(inst: PluginInstance, s: StreamState): ResponseFacts {
  const r = RESPONSE;
  r.upstream = null;
  r.status = null;
  r.pinUnread = false;
  if (s.pinned.length == 0 && !s.learning) return r;
  const held = s.pinned.length > 0 && inst.pinWriter.pinHeld();
  if (held && !HELD_PINS_VERIFIED.take()) r.upstream = s.pinned;
  else {
    r.upstream = getPropertyString(UPSTREAM_ADDRESS);
    r.pinUnread = held && r.upstream != null && r.upstream != s.pinned;
  }
  if (r.upstream != null && r.upstream != s.pinned) r.status = getHeader(MapType.HttpResponseHeaders, STATUS_HEADER);
  return r;
}
