// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Thin, typed wrappers over the ABI 0.2.1 host functions: memory hand-off, UTF-8, pair maps.
// Nothing here knows about rooms; the plugin logic calls these, never the raw imports. A status the
// caller cannot expect (anything but Ok, and NotFound where absence is normal) is surfaced by
// `surface`: logged once per distinct call and status, and counted (hostCallFailures).
import { LogOnce } from "./log-once";
import {
  Status,
  LogLevel,
  BufferType,
  MapType,
  MetricType,
  proxy_log,
  proxy_get_log_level,
  proxy_get_buffer_bytes,
  proxy_get_header_map_value,
  proxy_get_header_map_pairs,
  proxy_replace_header_map_value,
  proxy_remove_header_map_value,
  proxy_get_property,
  proxy_set_property,
  proxy_get_shared_data,
  proxy_set_shared_data,
  proxy_set_tick_period_milliseconds,
  proxy_get_current_time_nanoseconds,
  proxy_send_local_response,
  proxy_http_call,
  proxy_set_effective_context,
  proxy_continue_stream,
  proxy_define_metric,
  proxy_increment_metric,
  proxy_record_metric,
} from "./imports";
import { encodePairs } from "./pairs";

// Out-parameters the host writes into; static so no allocation per call.
const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);
const RET_U32: usize = memory.data(8);
const RET_U64: usize = memory.data(8);
/** The CAS token of the last shared-data read, kept apart so no other call overwrites it. */
const RET_CAS: usize = memory.data(8);

// A value the host hands back (a header, a property, a shared-data entry) is written into a block the
// module allocates for it (proxy_on_memory_allocate), then copied out at once by takeHostBytes. Values
// up to HOST_SCRATCH_BYTES use one static block instead of a heap block, so the request path does not
// pay an allocation and a free per value read. The block is lent to one value at a time; wrappers that
// can receive a value reclaim it first, so a value the host wrote but the call did not return (an
// error status) cannot keep it lent.
const HOST_SCRATCH_BYTES: usize = 4096;
const HOST_SCRATCH: usize = memory.data(<i32>HOST_SCRATCH_BYTES, 16);
let scratchLent = false;

// All request headers, read at once on most joins, are written into one block the module keeps (grown
// when a request needs more), not a new heap block per read: allocating, copying and collecting one per
// read was a measurable part of a join (BENCHMARKS.md, "Figures behind design choices").
const PAIRS_BLOCK_START: i32 = 4096;
let pairsBlock: ArrayBuffer = new ArrayBuffer(PAIRS_BLOCK_START);
/** A view of all of pairsBlock, made again only when the block grows (a view per read is an allocation per join). */
let pairsView: Uint8Array = Uint8Array.wrap(pairsBlock);
/** Set around the one host call whose value goes into pairsBlock. */
let pairsInFlight = false;

/** Called by proxy_on_memory_allocate: a block of `size` bytes the host writes a value into. */
export function allocateForHost(size: usize): usize {
  if (pairsInFlight) {
    pairsInFlight = false;
    if (size > <usize>pairsBlock.byteLength) {
      pairsBlock = new ArrayBuffer(<i32>max<usize>(size, <usize>pairsBlock.byteLength * 2));
      pairsView = Uint8Array.wrap(pairsBlock);
    }
    return changetype<usize>(pairsBlock);
  }
  if (size <= HOST_SCRATCH_BYTES && !scratchLent) {
    scratchLent = true;
    return HOST_SCRATCH;
  }
  return heap.alloc(size);
}

/** Before a host call that may hand back a value: no value is outstanding, so the scratch block is free. */
export function reclaimScratch(): void {
  scratchLent = false;
}

/** An empty value, shared: nothing can be written into it. */
const NO_BYTES = new Uint8Array(0);

/** Copies a host-allocated block (made through proxy_on_memory_allocate) and releases it. */
export function takeHostBytes(ptr: usize, size: usize): Uint8Array {
  if (size == 0) {
    // Nothing was allocated for it (a shared-data stamp, an empty header): nothing to copy or release.
    releaseHostBlock(ptr);
    return NO_BYTES;
  }
  const out = new Uint8Array(<i32>size);
  memory.copy(out.dataStart, ptr, size);
  releaseHostBlock(ptr);
  return out;
}

/** Gives back a block the host wrote a value into, once the value was read. */
function releaseHostBlock(ptr: usize): void {
  if (ptr == HOST_SCRATCH) scratchLent = false;
  else if (ptr != 0) heap.free(ptr);
}

let failures: u64 = 0;
const HOST_CALL_PROBLEMS = new LogOnce();

/**
 * Surfaces an unexpected host status: counted every time, logged the first time this call fails
 * with this status (a host that refuses something refuses it on every request).
 */
export function surface(call: string, status: u32): void {
  failures++;
  HOST_CALL_PROBLEMS.warn(
    call + " " + status.toString(),
    "host call " + call + " failed with status " + status.toString() + " (logged once; counted in room_affinity.host_call_failures_total)",
  );
}

/** Unexpected host statuses so far (this VM). */
export function hostCallFailures(): u64 {
  return failures;
}

/** Ok, or NotFound where absence is an answer (a header, a property, a key); anything else is surfaced. */
function okOrAbsent(call: string, status: u32): bool {
  if (status == Status.Ok) return true;
  if (status != Status.NotFound) surface(call, status);
  return false;
}

function takeReturned(call: string, status: u32): Uint8Array | null {
  if (!okOrAbsent(call, status)) return null;
  return takeHostBytes(load<usize>(RET_PTR), load<usize>(RET_SIZE));
}

export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

export function fromUtf8(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

// ---- logging ----
export function log(level: LogLevel, message: string): void {
  const b = utf8(message);
  proxy_log(level, changetype<usize>(b), b.byteLength);
}
export function logDebug(message: string): void {
  log(LogLevel.Debug, message);
}

/** The host's current log level for this plugin (Info if the host cannot tell). */
export function hostLogLevel(): LogLevel {
  const status = proxy_get_log_level(RET_U32);
  if (status != Status.Ok) {
    surface("proxy_get_log_level", status);
    return LogLevel.Info;
  }
  return <LogLevel>load<u32>(RET_U32);
}
export function logInfo(message: string): void {
  log(LogLevel.Info, message);
}
export function logWarn(message: string): void {
  log(LogLevel.Warn, message);
}
export function logError(message: string): void {
  log(LogLevel.Error, message);
}

// ---- buffers ----
export function getBuffer(type: BufferType, size: u32): Uint8Array | null {
  reclaimScratch();
  return takeReturned("proxy_get_buffer_bytes", proxy_get_buffer_bytes(type, 0, size, RET_PTR, RET_SIZE));
}

// ---- headers and properties ----
/**
 * A header name or a property path, encoded for the host once (at module start or configure), not on
 * every call: the request path makes several host calls per request, and each encoding is an
 * allocation the collector later frees.
 */
export class HostName {
  readonly bytes: ArrayBuffer;
  constructor(public readonly text: string) {
    this.bytes = utf8(text);
  }
  /** A property path; its segments are joined by NUL as the ABI requires. */
  static property(path: string[]): HostName {
    return new HostName(path.join("\0"));
  }
}

/** The `:status` pseudo-header of responses and http-call replies. */
export const STATUS_HEADER = new HostName(":status");

export function getHeaderBytes(map: MapType, name: HostName): Uint8Array | null {
  const k = name.bytes;
  reclaimScratch();
  return takeReturned("proxy_get_header_map_value", proxy_get_header_map_value(map, changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE));
}

export function getHeader(map: MapType, name: HostName): string | null {
  const v = getHeaderBytes(map, name);
  return v == null ? null : fromUtf8(v);
}

/** All headers of a map as readHeaderPairs leaves them: the pair encoding in `bytes[0, size)`. */
export class HeaderBlock {
  bytes: Uint8Array = NO_BYTES;
  size: i32 = 0;
}

/**
 * getHeaderPairs without a new view per read: the encoding is left in `into` (the module's block,
 * which the next read overwrites); false if the host has none.
 */
export function readHeaderPairs(map: MapType, into: HeaderBlock): bool {
  reclaimScratch();
  pairsInFlight = true;
  const status = proxy_get_header_map_pairs(map, RET_PTR, RET_SIZE);
  pairsInFlight = false;
  if (!okOrAbsent("proxy_get_header_map_pairs", status)) return false;
  const ptr = load<usize>(RET_PTR);
  const size = load<usize>(RET_SIZE);
  if (size == 0 || ptr != changetype<usize>(pairsBlock)) into.bytes = takeHostBytes(ptr, size);
  else into.bytes = pairsView;
  into.size = <i32>size;
  return true;
}

const PAIRS_READ = new HeaderBlock();

/**
 * All headers of a map in the pair encoding (pairs.ts): one value handed back for all of them. The
 * value is a view into a block the next call overwrites: read it (and views into it) before then.
 */
export function getHeaderPairs(map: MapType): Uint8Array | null {
  return readHeaderPairs(map, PAIRS_READ) ? PAIRS_READ.bytes.subarray(0, PAIRS_READ.size) : null;
}

/** Sets a header to a value already encoded (a pin written on every join is encoded once). */
export function replaceHeaderBytes(map: MapType, name: HostName, v: ArrayBuffer): void {
  const k = name.bytes;
  const status = proxy_replace_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
  if (status != Status.Ok) surface("proxy_replace_header_map_value", status);
}

export function removeHeader(map: MapType, name: HostName): void {
  const k = name.bytes;
  okOrAbsent("proxy_remove_header_map_value", proxy_remove_header_map_value(map, changetype<usize>(k), k.byteLength));
}

/** Reads a host property (see HostName.property). */
export function getProperty(path: HostName): Uint8Array | null {
  const p = path.bytes;
  reclaimScratch();
  return takeReturned("proxy_get_property", proxy_get_property(changetype<usize>(p), p.byteLength, RET_PTR, RET_SIZE));
}

/** Sets a stream property; Envoy keeps it as filter state `wasm.<path>`, which access logs can print. */
export function setProperty(path: HostName, value: Uint8Array): void {
  const p = path.bytes;
  const status = proxy_set_property(changetype<usize>(p), p.byteLength, value.dataStart, value.byteLength);
  if (status != Status.Ok) surface("proxy_set_property", status);
}

/**
 * A property read on every keyed request whose value rarely changes (the routed cluster): the value
 * handed back is compared in place with the previous one, and an equal value returns the previous
 * string, so a repeated value costs no allocation and no decoding.
 */
export class RepeatedProperty {
  private last: Uint8Array = NO_BYTES;
  private lastText: string | null = null;
  constructor(public readonly path: HostName) {}

  /** The property's value as text, or null when the host has none. */
  read(): string | null {
    const k = this.path.bytes;
    reclaimScratch();
    if (!okOrAbsent("proxy_get_property", proxy_get_property(changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE))) return null;
    const ptr = load<usize>(RET_PTR);
    const size = load<usize>(RET_SIZE);
    const last = this.last;
    if (this.lastText != null && size == <usize>last.length && memory.compare(ptr, last.dataStart, size) == 0) {
      releaseHostBlock(ptr);
      return this.lastText;
    }
    const bytes = takeHostBytes(ptr, size);
    this.last = bytes;
    this.lastText = fromUtf8(bytes);
    return this.lastText;
  }
}

export function getPropertyString(path: HostName): string | null {
  const v = getProperty(path);
  return v == null ? null : fromUtf8(v);
}

// ---- shared data ----
// Table keys are short and read on every join: they are encoded into a static block, not a new
// buffer each time. The host copies a key during the call, so the block is free again after it.
const KEY_SCRATCH_BYTES: i32 = 256;
const KEY_SCRATCH: usize = memory.data(KEY_SCRATCH_BYTES);
/** A key too long for the block, held here until the call that uses it. */
let longKey: ArrayBuffer = new ArrayBuffer(0);

/** Encodes `key` (`length` = its UTF-8 byte length) for one shared-data call; returns where its bytes are. */
function encodeKey(key: string, length: i32): usize {
  if (length > KEY_SCRATCH_BYTES) {
    longKey = utf8(key);
    return changetype<usize>(longKey);
  }
  String.UTF8.encodeUnsafe(changetype<usize>(key), key.length, KEY_SCRATCH);
  return KEY_SCRATCH;
}

/**
 * Reads a shared-data value (null when absent). Its CAS token, to write it back with, is then
 * casOfLastSharedDataRead() (0 when absent).
 */
export function getSharedData(key: string): Uint8Array | null {
  const n = String.UTF8.byteLength(key);
  const k = encodeKey(key, n);
  store<u32>(RET_CAS, 0);
  reclaimScratch();
  const status = proxy_get_shared_data(k, n, RET_PTR, RET_SIZE, RET_CAS);
  if (!okOrAbsent("proxy_get_shared_data", status)) {
    store<u32>(RET_CAS, 0);
    return null;
  }
  return takeHostBytes(load<usize>(RET_PTR), load<usize>(RET_SIZE));
}

export function casOfLastSharedDataRead(): u32 {
  return load<u32>(RET_CAS);
}

/** Writes a value; cas 0 writes unconditionally. Returns false on a CAS mismatch (or a surfaced failure). */
export function setSharedData(key: string, value: Uint8Array, cas: u32): bool {
  const n = String.UTF8.byteLength(key);
  const status = proxy_set_shared_data(encodeKey(key, n), n, value.dataStart, value.length, cas);
  if (status == Status.Ok) return true;
  if (status != Status.CasMismatch) surface("proxy_set_shared_data", status);
  return false;
}

// ---- time, ticks ----
export function nowNanos(): u64 {
  const status = proxy_get_current_time_nanoseconds(RET_U64);
  if (status != Status.Ok) {
    surface("proxy_get_current_time_nanoseconds", status);
    return 0;
  }
  return load<u64>(RET_U64);
}

export function setTickPeriodMs(ms: u32): void {
  const status = proxy_set_tick_period_milliseconds(ms);
  if (status != Status.Ok) surface("proxy_set_tick_period_milliseconds", status);
}

// ---- local replies ----
export function sendLocalResponse(status: u32, details: string, body: string, headers: string[][]): void {
  const d = utf8(details);
  const bd = utf8(body);
  const h = encodePairs(headers);
  const r = proxy_send_local_response(
    status,
    changetype<usize>(d),
    d.byteLength,
    changetype<usize>(bd),
    bd.byteLength,
    h.dataStart,
    h.length,
    -1,
  );
  if (r != Status.Ok) surface("proxy_send_local_response", r);
}

// ---- outgoing http calls ----
/**
 * Dispatches an HTTP call to an Envoy cluster from the effective context (its response comes back to
 * that context); returns the token, or -1 if the host refused it.
 */
export function httpCall(cluster: string, headers: string[][], timeoutMs: u32, body: string = ""): i64 {
  const c = utf8(cluster);
  const h = encodePairs(headers);
  const b = utf8(body);
  const status = proxy_http_call(
    changetype<usize>(c),
    c.byteLength,
    h.dataStart,
    h.length,
    changetype<usize>(b),
    b.byteLength,
    0,
    0,
    timeoutMs,
    RET_U32,
  );
  if (status != Status.Ok) {
    surface("proxy_http_call", status);
    return -1;
  }
  return <i64>load<u32>(RET_U32);
}

// ---- pausing and resuming streams ----
/**
 * Makes `contextId` the context later host calls act on (a paused stream, or the root). Returns false
 * when the host no longer knows it (a stream that ended while paused): expected, so not surfaced.
 */
export function setEffectiveContext(contextId: u32): bool {
  return proxy_set_effective_context(contextId) == Status.Ok;
}

/** Resumes the effective stream's request (it was paused by StopIteration from request headers). */
export function continueRequest(): void {
  const r = proxy_continue_stream(0);
  if (r != Status.Ok) surface("proxy_continue_stream", r);
}

/** Resumes the effective stream's response (it was paused by StopIteration from response headers). */
export function continueResponse(): void {
  const r = proxy_continue_stream(1);
  if (r != Status.Ok) surface("proxy_continue_stream", r);
}

// ---- metrics ----
/** Defines a metric; returns its id, or u32.MAX_VALUE if the host refused (metrics then become no-ops). */
export function defineMetric(type: MetricType, name: string): u32 {
  const n = utf8(name);
  const status = proxy_define_metric(type, changetype<usize>(n), n.byteLength, RET_U32);
  if (status != Status.Ok) {
    surface("proxy_define_metric", status);
    return u32.MAX_VALUE;
  }
  return load<u32>(RET_U32);
}
export function incrementMetric(id: u32, by: i64): void {
  if (id == u32.MAX_VALUE) return;
  const status = proxy_increment_metric(id, by);
  if (status != Status.Ok) surface("proxy_increment_metric", status);
}
export function recordMetric(id: u32, value: u64): void {
  if (id == u32.MAX_VALUE) return;
  const status = proxy_record_metric(id, value);
  if (status != Status.Ok) surface("proxy_record_metric", status);
}
