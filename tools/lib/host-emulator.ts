// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// A proxy-wasm ABI 0.2.1 host in TypeScript, with Higress's two upstream extensions, to run the real
// build outputs (build/envoy.wasm, build/higress.wasm) without a gateway: for tests of the Higress build
// (no Higress runs here) and for the benchmark of the plugin's own per-request cost.
//
// It emulates what the plugin relies on, as Envoy and Higress behave: shared data with
// Envoy's CAS rules (one store per process, shared by all VMs), header maps, properties, metrics,
// ticks, http calls, local replies, and the routing decision that follows a request:
//  - Higress: proxy_set_upstream_override_host is honoured only for a member of the routed cluster
//    whose health is allowed (Healthy, or Draining for pinned rooms); otherwise the service's load
//    balancer picks.
//  - stock Envoy: the stateful_session pin header (base64 ip:port) is honoured the same way.
// The load balancer only picks healthy, non-draining hosts, as Envoy's does. With `hashHeader` set
// (the deployment this project documents: MAGLEV on stock Envoy, a consistent-hash DestinationRule or
// `upstream-hash-by` on Higress) it is a consistent hash on that request header; without it, round robin.
import fs from "node:fs";
import { createHash } from "node:crypto";
import { EmulatedRedis, RedisEndpoint } from "./emulator-redis";

const OK = 0;
const NOT_FOUND = 1;
const BAD_ARGUMENT = 2;
const CAS_MISMATCH = 8;

export type HostHealth = "Healthy" | "Draining" | "Unhealthy";

/**
 * What the plugin asks of its host per request, for the benchmark's attribution and the host-call
 * budget test: host calls by name, values the host hands back (each one is a call from the host into
 * the module's allocator, as Envoy makes them), and the time spent in the module's own code (export
 * time minus the host calls nested in it), which is the part a host does not change.
 */
export class HostCallProfile {
  calls = new Map<string, number>();
  /** proxy_on_memory_allocate calls the host made to hand a value back. */
  allocations = 0;
  /** The same, by the host call that handed the value back. */
  handedBack = new Map<string, number>();
  /** The host call in progress (what a value handed back is counted against). */
  current = "";
  /** Nanoseconds inside exports (outermost), and inside the host calls they made. */
  exportNs = 0n;
  hostNs = 0n;
  depth = 0;
  /** Nanoseconds per outermost export, host calls included. */
  byExport = new Map<string, bigint>();
  /**
   * Calls from the host into the module, by export: hooks, and the allocator calls that hand values
   * back. Through Envoy each costs a VM entry, which is the dearest part of a host call that returns a value.
   */
  entries = new Map<string, number>();
  /** proxy_get_property calls by property path (segments joined by "."). */
  properties = new Map<string, number>();
  reset(): void {
    this.byExport.clear();
    this.properties.clear();
    this.entries.clear();
    this.calls.clear();
    this.allocations = 0;
    this.handedBack.clear();
    this.exportNs = 0n;
    this.hostNs = 0n;
  }
  /** Host calls made, in total. */
  get total(): number {
    let n = 0;
    for (const c of this.calls.values()) n += c;
    return n;
  }
  get moduleNs(): bigint {
    return this.exportNs - this.hostNs;
  }
}

export interface UpstreamHost {
  address: string;
  health: HostHealth;
}

/** Process-wide shared data (one per emulated Envoy), shared by every VM ("worker thread"). */
export class SharedData {
  map = new Map<string, { value: Buffer; cas: number }>();
  private nextCas = 1;
  get(key: string): { value: Buffer; cas: number } | undefined {
    return this.map.get(key);
  }
  set(key: string, value: Buffer, cas: number): number {
    const cur = this.map.get(key);
    if (cur && cas !== 0 && cur.cas !== cas) return CAS_MISMATCH;
    this.map.set(key, { value: Buffer.from(value), cas: this.nextCas++ });
    return OK;
  }
  bytes(): number {
    let n = 0;
    for (const [k, v] of this.map) n += k.length + v.value.length;
    return n;
  }
}

/** Metrics shared by the VMs of one emulated process (as Envoy's stats store is). */
export class MetricStore {
  /** A histogram's value is its sample count; its samples are kept. */
  byName = new Map<string, { type: number; value: bigint; samples: number[] }>();
  names: string[] = [];
  define(type: number, name: string): number {
    if (!this.byName.has(name)) {
      this.byName.set(name, { type, value: 0n, samples: [] });
      this.names.push(name);
    }
    return this.names.indexOf(name);
  }
  /** A metric's value; throws for a name the plugin never defined, so a renamed metric cannot read as 0. */
  get(name: string): number {
    const m = this.byName.get(name);
    if (!m) throw new Error(`the plugin defined no metric ${name}`);
    return Number(m.value);
  }
}

export interface Process {
  shared: SharedData;
  metrics: MetricStore;
  /** Emulated wall clock in ms (shared, so all VMs agree). */
  nowMs: number;
  /** The routed cluster and its hosts. */
  cluster: string;
  /** The name of the route requests match (Higress: "namespace/ingress"), served as route_name. */
  routeName: string;
  hosts: UpstreamHost[];
  rr: number;
  /** The request header the load balancer hashes on, or undefined for round robin. */
  hashHeader?: string;
  /**
   * The request header the cluster's override_host policy reads (stock Envoy with fallbackHeader): the
   * first attempt without an honoured pin goes to its first listed member, each retry to the next.
   */
  overrideHostHeader?: string;
  /**
   * The host health an override or pin is honoured in (the cluster's override_host_status). Envoy's
   * default is Healthy and Draining here; deploy/higress adds Unhealthy.
   */
  overrideHealth: HostHealth[];
  /** Where each Redis cluster the plugin may call really is (Higress: "outbound|6379||redis.static"). */
  redisEndpoints: Map<string, RedisEndpoint>;
}

export function newProcess(hosts: UpstreamHost[] = [], cluster = "outbound|80||game.default.svc.cluster.local"): Process {
  return {
    shared: new SharedData(),
    metrics: new MetricStore(),
    nowMs: 1_700_000_000_000,
    cluster,
    routeName: "default/game",
    hosts,
    rr: 0,
    hashHeader: "x-room-affinity-hash",
    overrideHealth: ["Healthy", "Draining"],
    redisEndpoints: new Map(),
  };
}

export interface RequestInput {
  path: string;
  headers?: Record<string, string>;
  /** Raw :path bytes (to test invalid UTF-8); overrides `path`. */
  rawPath?: Buffer;
  upgrade?: boolean;
  /** What the upstream answers (default 101 for an upgrade, 200 otherwise). */
  upstreamStatus?: number;
}

export interface RequestOutcome {
  /** 0 Continue, 1 StopIteration (of the request phase; after finish(), of the response phase). */
  action: number;
  localReply?: { status: number; details: string; body: string };
  /** Request headers after the plugin ran (lower-case names). */
  headers: Map<string, string>;
  /** What the plugin asked for (Higress override or decoded pin header), if anything. */
  requested?: string;
  /** Where the emulated gateway sent the request. */
  upstream?: string;
  /** Response headers after the plugin's response phase. */
  responseHeaders: Map<string, string>;
  /** Filter state the plugin set (proxy_set_property), as Envoy names it: "wasm.<path>". */
  filterState: Map<string, string>;
}

type Stream = {
  req: Map<string, string>;
  resp: Map<string, string>;
  upstream?: string;
  override?: string;
  /** Paused by StopIteration from request headers; routed when the plugin continues it. */
  paused?: boolean;
  /** The response held by StopIteration from response headers; sent when the plugin continues or replaces it. */
  responsePaused?: boolean;
  out?: RequestOutcome;
  pinHeader?: string;
  filterState: Map<string, string>;
};

/** A host function as the module imports it: numbers in, a number (or nothing) out. */
type HostFunction = (...args: any[]) => any;

export class WasmVm {
  memory!: WebAssembly.Memory;
  exports!: Record<string, (...args: any[]) => any>;
  logs: { level: number; message: string }[] = [];
  /** The host log level the plugin reads (0 trace .. 5 critical). */
  logLevel = 1;
  tickPeriodMs = 0;
  httpCalls: { cluster: string; headers: [string, string][]; token: number; body: string }[] = [];
  /** Streams begun and not finished (what proxy_set_effective_context accepts). */
  openStreams = new Map<number, Stream>();
  /** Higress's Redis functions over real TCP (higress builds). */
  redis: EmulatedRedis;
  private redisReply: Buffer | null = null;
  /** proxy_continue_stream calls (paused requests resumed). */
  continued = 0;
  /** proxy_continue_stream calls for held responses. */
  continuedResponses = 0;
  /** Set by load(..., { profile: true }): every host call and export is counted and timed. */
  profile: HostCallProfile | null = null;
  private pluginConfig = Buffer.alloc(0);
  private stream: Stream | null = null;
  private localReply: RequestOutcome["localReply"];
  private nextContext = 2;
  private nextToken = 1;
  private callResponse: { headers: [string, string][]; body: Buffer } | null = null;
  /** The root context of the configuration in force (a new one per configure, as Envoy creates per filter config). */
  rootId = 0;
  /** Root ids come from a range stream ids never reach. */
  private nextRootId = 0x40000000;

  private constructor(
    public proc: Process,
    public higress: boolean,
  ) {
    // A Redis reply arrives later, on the root context, like Higress delivers it.
    this.redis = new EmulatedRedis(proc.redisEndpoints, (token, status, reply) => {
      const saved = this.stream;
      this.stream = null;
      this.redisReply = reply;
      this.exports.proxy_on_redis_call_response(this.rootId, token, status, reply.length);
      this.redisReply = null;
      this.stream = saved;
    });
  }

  /** Waits until every Redis call has been answered (or failed) and delivered. */
  async redisIdle(timeoutMs = 10000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.redis.inFlight > 0) {
      if (Date.now() > end) throw new Error(`${this.redis.inFlight} Redis calls still in flight`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  static async load(wasmPath: string, proc: Process, higress: boolean, opts: { profile?: boolean } = {}): Promise<WasmVm> {
    const vm = new WasmVm(proc, higress);
    const prof = opts.profile ? new HostCallProfile() : null;
    vm.profile = prof;
    const mod = await WebAssembly.compile(fs.readFileSync(wasmPath));
    const imports: Record<string, HostFunction> = vm.imports();
    // Instantiate with exactly what the module imports: a missing function fails like it would in Envoy.
    const env: Record<string, HostFunction> = {};
    for (const imp of WebAssembly.Module.imports(mod)) {
      if (imp.module !== "env" || !(imp.name in imports)) throw new Error(`host does not provide ${imp.module}.${imp.name}`);
      if (
        !higress &&
        (imp.name === "proxy_set_upstream_override_host" || imp.name === "proxy_get_upstream_hosts" || imp.name.startsWith("proxy_redis_"))
      ) {
        throw new Error(`stock Envoy does not provide ${imp.name}`);
      }
      const f = imports[imp.name];
      env[imp.name] =
        prof === null
          ? f
          : (...args: unknown[]) => {
              prof.calls.set(imp.name, (prof.calls.get(imp.name) ?? 0) + 1);
              prof.current = imp.name;
              const t0 = process.hrtime.bigint();
              try {
                return f(...args);
              } finally {
                prof.hostNs += process.hrtime.bigint() - t0;
              }
            };
    }
    const inst = await WebAssembly.instantiate(mod, { env } as WebAssembly.Imports);
    vm.exports = prof === null ? (inst.exports as any) : timedExports(inst.exports, prof);
    vm.memory = inst.exports.memory as WebAssembly.Memory;
    vm.exports._initialize();
    return vm;
  }

  // ---- memory helpers ----
  private bytes(ptr: number, len: number): Buffer {
    return Buffer.from(new Uint8Array(this.memory.buffer, ptr, len));
  }
  private str(ptr: number, len: number): string {
    return this.bytes(ptr, len).toString("utf8");
  }
  private u32(ptr: number, v: number): void {
    new DataView(this.memory.buffer).setUint32(ptr, v, true);
  }
  /**
   * Copies `data` into module memory (via proxy_on_memory_allocate) and writes ptr/size out-params.
   * An empty value is handed back as pointer 0, size 0, with no allocation, as Envoy does.
   */
  private give(data: Buffer, retPtr: number, retSize: number): number {
    if (data.length === 0) {
      this.u32(retPtr, 0);
      this.u32(retSize, 0);
      return OK;
    }
    const prof = this.profile;
    if (prof) {
      prof.allocations++;
      prof.handedBack.set(prof.current, (prof.handedBack.get(prof.current) ?? 0) + 1);
    }
    const p = this.exports.proxy_on_memory_allocate(data.length) as number;
    new Uint8Array(this.memory.buffer, p, data.length).set(data);
    this.u32(retPtr, p);
    this.u32(retSize, data.length);
    return OK;
  }

  /** `encoding`: utf8 for text; latin1 for header maps, whose values are raw bytes held as latin1 strings (as proxy_get_header_map_value hands them back). */
  static encodePairs(pairs: [string, string][], encoding: BufferEncoding = "utf8"): Buffer {
    // One buffer, written in place: the request hook reads all headers this way on most upgrades, and
    // a host that built it piece by piece would cost the emulated join more than the value is worth.
    let size = 4 + pairs.length * 8;
    for (const [k, v] of pairs) size += Buffer.byteLength(k, encoding) + Buffer.byteLength(v, encoding) + 2;
    const out = Buffer.alloc(size);
    out.writeUInt32LE(pairs.length, 0);
    let off = 4 + pairs.length * 8;
    pairs.forEach(([k, v], i) => {
      const kl = out.write(k, off, encoding);
      off += kl + 1;
      const vl = out.write(v, off, encoding);
      off += vl + 1;
      out.writeUInt32LE(kl, 4 + i * 8);
      out.writeUInt32LE(vl, 8 + i * 8);
    });
    return out;
  }

  private decodePairs(buf: Buffer): [string, string][] {
    if (buf.length < 4) return [];
    const n = buf.readUInt32LE(0);
    let off = 4 + n * 8;
    const out: [string, string][] = [];
    for (let i = 0; i < n; i++) {
      const kl = buf.readUInt32LE(4 + i * 8);
      const vl = buf.readUInt32LE(8 + i * 8);
      const k = buf.toString("utf8", off, off + kl);
      off += kl + 1;
      const v = buf.toString("utf8", off, off + vl);
      off += vl + 1;
      out.push([k, v]);
    }
    return out;
  }

  private headerMap(type: number): Map<string, string> | null {
    if (type === 0) return this.stream?.req ?? null;
    if (type === 2) return this.stream?.resp ?? null;
    if (type === 6 && this.callResponse) return new Map(this.callResponse.headers);
    return null;
  }

  private imports(): Record<string, HostFunction> {
    const vm = this;
    return {
      proxy_log(level: number, ptr: number, len: number) {
        vm.logs.push({ level, message: vm.str(ptr, len) });
        return OK;
      },
      proxy_get_log_level(retPtr: number) {
        vm.u32(retPtr, vm.logLevel);
        return OK;
      },
      proxy_get_buffer_bytes(type: number, start: number, max: number, retPtr: number, retSize: number) {
        let buf: Buffer;
        if (type === 7) buf = vm.pluginConfig;
        else if (type === 4 && vm.callResponse) buf = vm.callResponse.body;
        else if (type === 9 && vm.redisReply) buf = vm.redisReply;
        else return NOT_FOUND;
        return vm.give(buf.subarray(start, start + max), retPtr, retSize);
      },
      proxy_get_header_map_value(type: number, kp: number, kl: number, retPtr: number, retSize: number) {
        const m = vm.headerMap(type);
        const v = m?.get(vm.str(kp, kl).toLowerCase());
        if (v === undefined) return NOT_FOUND;
        return vm.give(Buffer.from(v, "latin1"), retPtr, retSize);
      },
      proxy_get_header_map_pairs(type: number, retPtr: number, retSize: number) {
        const m = vm.headerMap(type);
        if (!m) return BAD_ARGUMENT;
        return vm.give(WasmVm.encodePairs([...m], "latin1"), retPtr, retSize);
      },
      proxy_replace_header_map_value(type: number, kp: number, kl: number, vp: number, vl: number) {
        const m = vm.headerMap(type);
        if (!m) return BAD_ARGUMENT;
        m.set(vm.str(kp, kl).toLowerCase(), vm.str(vp, vl));
        return OK;
      },
      proxy_remove_header_map_value(type: number, kp: number, kl: number) {
        vm.headerMap(type)?.delete(vm.str(kp, kl).toLowerCase());
        return OK;
      },
      proxy_get_property(pp: number, pl: number, retPtr: number, retSize: number) {
        const path = vm.str(pp, pl);
        const prof = vm.profile;
        if (prof) {
          const name = path.split("\0").join(".");
          prof.properties.set(name, (prof.properties.get(name) ?? 0) + 1);
        }
        if (path === "xds\0cluster_name") return vm.give(Buffer.from(vm.proc.cluster), retPtr, retSize);
        if (path === "route_name" || path === "xds\0route_name") return vm.give(Buffer.from(vm.proc.routeName), retPtr, retSize);
        if (path === "upstream\0address" && vm.stream?.upstream) return vm.give(Buffer.from(vm.stream.upstream), retPtr, retSize);
        return NOT_FOUND;
      },
      proxy_set_property(pp: number, pl: number, vp: number, vl: number) {
        // Envoy keeps a stream's property as filter state "wasm.<path>"; outside a stream there is none.
        if (!vm.stream) return NOT_FOUND;
        vm.stream.filterState.set(`wasm.${vm.str(pp, pl).split("\0").join(".")}`, vm.str(vp, vl));
        return OK;
      },
      proxy_get_shared_data(kp: number, kl: number, retPtr: number, retSize: number, retCas: number) {
        const e = vm.proc.shared.get(vm.str(kp, kl));
        if (!e) return NOT_FOUND;
        vm.give(e.value, retPtr, retSize);
        vm.u32(retCas, e.cas);
        return OK;
      },
      proxy_set_shared_data(kp: number, kl: number, vp: number, vl: number, cas: number) {
        return vm.proc.shared.set(vm.str(kp, kl), vm.bytes(vp, vl), cas);
      },
      proxy_set_tick_period_milliseconds(ms: number) {
        vm.tickPeriodMs = ms;
        return OK;
      },
      proxy_get_current_time_nanoseconds(retPtr: number) {
        new DataView(vm.memory.buffer).setBigUint64(retPtr, BigInt(Math.floor(vm.proc.nowMs)) * 1_000_000n, true);
        return OK;
      },
      proxy_send_local_response(status: number, dp: number, dl: number, bp: number, bl: number) {
        const reply = { status, details: vm.str(dp, dl), body: vm.str(bp, bl) };
        const st = vm.stream;
        if (st?.responsePaused) {
          // A held response replaced later, from a root context (Envoy resets the upstream).
          st.out!.localReply = reply;
          st.responsePaused = false;
        } else vm.localReply = reply;
        return OK;
      },
      proxy_http_call(
        cp: number,
        cl: number,
        hp: number,
        hl: number,
        bp: number,
        bl: number,
        _tp: number,
        _tl: number,
        _timeout: number,
        retToken: number,
      ) {
        const token = vm.nextToken++;
        vm.httpCalls.push({ cluster: vm.str(cp, cl), headers: vm.decodePairs(vm.bytes(hp, hl)), token, body: vm.str(bp, bl) });
        vm.u32(retToken, token);
        return OK;
      },
      proxy_set_effective_context(id: number) {
        // The root, or a stream that is still open (paused streams stay open until they finish).
        if (id === vm.rootId) {
          vm.stream = null;
          return OK;
        }
        const st = vm.openStreams.get(id);
        if (!st) return NOT_FOUND;
        vm.stream = st;
        return OK;
      },
      proxy_continue_stream(type: number) {
        const st = vm.stream;
        if (type === 1) {
          if (!st || !st.responsePaused) return BAD_ARGUMENT;
          vm.continuedResponses++;
          st.responsePaused = false;
          return OK;
        }
        if (!st || !st.paused) return BAD_ARGUMENT;
        vm.continued++;
        st.paused = false;
        vm.routeStream(st);
        return OK;
      },
      proxy_redis_init(cp: number, cl: number, up: number, ul: number, pp: number, pl: number, timeout: number) {
        return vm.redis.init(vm.str(cp, cl), vm.str(up, ul), vm.str(pp, pl), timeout);
      },
      proxy_redis_call(cp: number, cl: number, qp: number, ql: number, retToken: number) {
        const token = vm.nextToken++;
        const status = vm.redis.call(vm.str(cp, cl), vm.bytes(qp, ql), token);
        if (status === OK) vm.u32(retToken, token);
        return status;
      },
      proxy_define_metric(type: number, np: number, nl: number, retId: number) {
        vm.u32(retId, vm.proc.metrics.define(type, vm.str(np, nl)));
        return OK;
      },
      proxy_increment_metric(id: number, offset: bigint) {
        const m = vm.proc.metrics.byName.get(vm.proc.metrics.names[id]);
        if (!m) return NOT_FOUND;
        m.value += offset;
        return OK;
      },
      proxy_record_metric(id: number, value: bigint) {
        const m = vm.proc.metrics.byName.get(vm.proc.metrics.names[id]);
        if (!m) return NOT_FOUND;
        if (m.type === 2) {
          m.samples.push(Number(value));
          m.value = BigInt(m.samples.length);
        } else m.value = value;
        return OK;
      },
      // ---- Higress extensions (higress-group proxy-wasm-cpp-host) ----
      proxy_set_upstream_override_host(ap: number, al: number) {
        if (!vm.stream) return BAD_ARGUMENT;
        vm.stream.override = vm.str(ap, al);
        return OK;
      },
      proxy_get_upstream_hosts(retPtr: number, retSize: number) {
        if (vm.proc.hosts.length === 0) return NOT_FOUND;
        const pairs: [string, string][] = vm.proc.hosts.map((h) => [h.address, JSON.stringify({ health_status: h.health, weight: 1 })]);
        return vm.give(WasmVm.encodePairs(pairs), retPtr, retSize);
      },
    };
  }

  /** on_context_create + on_vm_start + on_configure for the root context; returns on_configure's verdict. */
  /**
   * A new plugin configuration: a new root context, as Envoy creates one per filter config. If the
   * plugin rejects it, that root is dropped and the one in force keeps serving (Envoy keeps the last
   * good config).
   */
  configure(config: string | object): boolean {
    this.pluginConfig = Buffer.from(typeof config === "string" ? config : JSON.stringify(config));
    const id = this.nextRootId;
    this.nextRootId++;
    this.exports.proxy_on_context_create(id, 0);
    this.exports.proxy_on_vm_start(id, 0);
    const ok = Boolean(this.exports.proxy_on_configure(id, this.pluginConfig.length));
    if (ok) {
      if (this.rootId !== 0) this.exports.proxy_on_delete?.(this.rootId);
      this.rootId = id;
    } else {
      this.exports.proxy_on_delete?.(id);
    }
    return ok;
  }

  tick(): void {
    this.exports.proxy_on_tick(this.rootId);
  }

  /** Delivers the response to the oldest pending http call. */
  answerHttpCall(status: number, body: string | Buffer): void {
    const call = this.httpCalls.shift();
    if (!call) throw new Error("no http call pending");
    const b = Buffer.from(body);
    this.callResponse = { headers: [[":status", String(status)]], body: b };
    this.exports.proxy_on_http_call_response(this.rootId, call.token, 1, b.length, 0);
    this.callResponse = null;
  }

  /** The gateway's choice after the request phase: the honoured override/pin, else its load balancer. */
  private route(requested: string | undefined, req: Map<string, string>): string | undefined {
    const hosts = this.proc.hosts;
    if (requested) {
      const h = hosts.find((x) => x.address === requested);
      if (h && this.proc.overrideHealth.includes(h.health)) return h.address;
    }
    const listed = this.listedHosts(req);
    return listed.length > 0 ? listed[0] : pickHost(this.proc, req);
  }

  /** The override_host header's hosts that are members of the cluster, in order (Envoy checks no health). */
  private listedHosts(req: Map<string, string>): string[] {
    const header = this.proc.overrideHostHeader;
    const value = header === undefined ? undefined : req.get(header);
    if (!value) return [];
    return value
      .split(",")
      .map((a) => a.trim())
      .filter((a) => this.proc.hosts.some((h) => h.address === a));
  }

  /** A whole request: request headers, routing, response headers (101 for upgrades), done. */
  request(input: RequestInput, pinHeader = "x-room-affinity-pin"): RequestOutcome {
    return this.finish(this.begin(input, pinHeader));
  }

  /**
   * The request phase and the gateway's routing, leaving the response phase for finish(): several
   * players' requests can be decided before any of their upgrades completes, as on a busy gateway.
   */
  begin(input: RequestInput, pinHeader = "x-room-affinity-pin"): PendingRequest {
    const id = this.nextContext++;
    const req = new Map<string, string>([
      [":method", "GET"],
      [":authority", "game.example.com"],
    ]);
    req.set(":path", input.rawPath ? input.rawPath.toString("latin1") : input.path);
    if (input.upgrade !== false) {
      req.set("upgrade", "websocket");
      req.set("connection", "Upgrade");
    }
    for (const [k, v] of Object.entries(input.headers ?? {})) req.set(k.toLowerCase(), v);
    const stream: Stream = { req, resp: new Map(), pinHeader, filterState: new Map() };
    this.stream = stream;
    this.openStreams.set(id, stream);
    this.localReply = undefined;
    this.exports.proxy_on_context_create(id, this.rootId);
    const action = this.exports.proxy_on_request_headers(id, req.size, 1) as number;
    const out: RequestOutcome = { action, headers: new Map(req), responseHeaders: new Map(), filterState: stream.filterState };
    stream.out = out;
    if (this.localReply) out.localReply = this.localReply;
    else if (action === 1)
      stream.paused = true; // waits for the plugin to continue it
    else this.routeStream(stream);
    this.stream = null;
    return { id, input, pinHeader, stream, out };
  }

  /**
   * The gateway's join retries (a route retry_policy with previous_hosts) for a routed request whose pod
   * is in `dead` (a crash the gateway has not noticed: it refuses connections): each retry ignores the
   * override or pin and goes to the next host the override_host header lists, if any is left, else is
   * placed by the hash with the attempt mixed in, as MAGLEV does, skipping the hosts tried. Returns the
   * pods tried in vain; the request ends up on a live pod, or on none.
   */
  retryJoin(p: PendingRequest, dead: Set<string>, retries = 3, picksPerRetry = 16): string[] {
    const out = p.out;
    const tried: string[] = [];
    // Envoy's override_host consumes its list across attempts: the first attempt took the first entry
    // unless a pin was honoured.
    const listed = this.listedHosts(p.stream.req);
    let next = out.upstream !== undefined && out.upstream === listed[0] ? 1 : 0;
    for (let attempt = 1; out.upstream !== undefined && dead.has(out.upstream); attempt++) {
      tried.push(out.upstream);
      if (attempt > retries) {
        out.upstream = undefined;
        break;
      }
      if (next < listed.length) {
        out.upstream = listed[next++];
        continue;
      }
      let pick: string | undefined;
      for (let i = 0; i < picksPerRetry && (pick === undefined || tried.includes(pick)); i++)
        pick = pickHost(this.proc, p.stream.req, `#${attempt}.${i}`);
      out.upstream = pick !== undefined && !tried.includes(pick) ? pick : undefined;
    }
    p.stream.upstream = out.upstream;
    return tried;
  }

  /** The gateway routes a request once its request phase is over (at once, or when continued). */
  routeStream(stream: Stream): void {
    const out = stream.out!;
    out.headers = new Map(stream.req);
    const pin = stream.req.get(stream.pinHeader ?? "x-room-affinity-pin");
    out.requested = this.higress ? stream.override : pin ? Buffer.from(pin, "base64").toString() : undefined;
    out.upstream = this.route(out.requested, stream.req);
    stream.upstream = out.upstream;
  }

  /**
   * The response phase and the end of a begun request; when the plugin holds the response (action 1,
   * no local reply), waits until it continues or replaces it (a directory reply), then ends the stream.
   */
  async complete(p: PendingRequest, timeoutMs = 10000): Promise<RequestOutcome> {
    this.finish(p);
    return this.released(p, timeoutMs);
  }

  /** Waits until a finished request's held response is continued or replaced, then ends its stream. */
  async released(p: PendingRequest, timeoutMs = 10000): Promise<RequestOutcome> {
    const end = Date.now() + timeoutMs;
    while (p.stream.responsePaused) {
      if (Date.now() > end) throw new Error(`response of ${p.input.path} held for ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 2));
    }
    this.end(p.id);
    return p.out;
  }

  /**
   * The response phase of a begun request (the upstream's answer), then the stream ends, unless the
   * plugin holds the response: then it stays open until complete() (or end()) is called.
   */
  finish(p: PendingRequest): RequestOutcome {
    const { id, input, pinHeader, stream, out } = p;
    if (stream.paused) throw new Error("finish() of a request the plugin has not continued (wait for its directory reply)");
    this.stream = stream;
    if (!out.localReply) {
      const answer = input.upstreamStatus ?? (input.upgrade !== false ? 101 : 200);
      stream.resp = new Map([[":status", out.upstream ? String(answer) : "503"]]);
      if (!this.higress && out.upstream && out.upstream !== out.requested) {
        // stateful_session tells the client where it went (the plugin must strip this).
        stream.resp.set(pinHeader, Buffer.from(out.upstream).toString("base64"));
      }
      this.localReply = undefined;
      out.action = this.exports.proxy_on_response_headers(id, stream.resp.size, 0) as number;
      out.responseHeaders = new Map(stream.resp);
      // A local reply from the response phase replaces the upstream's answer (Envoy resets the upstream).
      if (this.localReply) out.localReply = this.localReply;
      else if (out.action === 1) {
        stream.responsePaused = true;
        this.stream = null;
        return out;
      }
    }
    this.end(id);
    return out;
  }

  /** The end of a stream: on_done, on_log, on_delete (also of one whose response is still held). */
  end(id: number): void {
    if (!this.openStreams.has(id)) return;
    this.stream = this.openStreams.get(id)!;
    // Like Envoy (proxy-wasm-cpp-host), a hook the module does not export is not called.
    this.exports.proxy_on_done?.(id);
    this.exports.proxy_on_log?.(id);
    this.exports.proxy_on_delete?.(id);
    this.openStreams.delete(id);
    this.stream = null;
  }
}

/** The module's exports, each timed when it is the outermost one running (host re-entries nest). */
function timedExports(exports: WebAssembly.Exports, prof: HostCallProfile): Record<string, (...args: any[]) => any> {
  const out: Record<string, any> = {};
  for (const [name, v] of Object.entries(exports)) {
    if (typeof v !== "function") {
      out[name] = v;
      continue;
    }
    const f = v as (...args: any[]) => any;
    out[name] = (...args: any[]) => {
      prof.entries.set(name, (prof.entries.get(name) ?? 0) + 1);
      if (prof.depth++ > 0) {
        try {
          return f(...args);
        } finally {
          prof.depth--;
        }
      }
      const t0 = process.hrtime.bigint();
      try {
        return f(...args);
      } finally {
        const dt = process.hrtime.bigint() - t0;
        prof.exportNs += dt;
        prof.byExport.set(name, (prof.byExport.get(name) ?? 0n) + dt);
        prof.depth--;
      }
    };
  }
  return out;
}

export interface PendingRequest {
  id: number;
  input: RequestInput;
  pinHeader: string;
  stream: Stream;
  out: RequestOutcome;
}

/**
 * The load balancer: healthy, non-draining hosts only; a consistent hash on `proc.hashHeader` when the
 * request carries it (rendezvous hashing: like MAGLEV, the same key picks the same host for a given
 * host set, and a host change moves only the keys it wins or loses), else round robin.
 */
/**
 * The load balancer: a consistent hash on the process's hash header over the healthy hosts (round robin
 * without one). `retry` mixes a retry's attempt into the hash, as MAGLEV does on a retry: the pick is
 * the same for every player of a room, but not the one the hash makes once a dead pod has left.
 */
export function pickHost(proc: Process, req: Map<string, string>, retry = ""): string | undefined {
  const healthy = proc.hosts.filter((h) => h.health === "Healthy");
  if (healthy.length === 0) return undefined;
  const header = proc.hashHeader ? req.get(proc.hashHeader) : undefined;
  const key = header === undefined ? undefined : header + retry;
  if (key === undefined) return healthy[proc.rr++ % healthy.length].address;
  let best = healthy[0].address;
  let bestScore = -1n;
  for (const h of healthy) {
    const score = BigInt(
      "0x" +
        createHash("sha256")
          .update(key + "|" + h.address)
          .digest("hex")
          .slice(0, 15),
    );
    if (score > bestScore) {
      bestScore = score;
      best = h.address;
    }
  }
  return best;
}

/** Admin /clusters?format=json for the process's hosts (what stock Envoy's admin answers). */
export function adminClustersJson(proc: Process, adminCluster = "room_affinity_admin"): string {
  const host = (h: UpstreamHost) => {
    const [ip, port] = [h.address.slice(0, h.address.lastIndexOf(":")), Number(h.address.slice(h.address.lastIndexOf(":") + 1))];
    return {
      address: { socket_address: { address: ip, port_value: port } },
      health_status:
        h.health === "Draining"
          ? { eds_health_status: "DRAINING" }
          : h.health === "Unhealthy"
            ? { eds_health_status: "HEALTHY", failed_active_health_check: true }
            : { eds_health_status: "HEALTHY" },
    };
  };
  return JSON.stringify({
    cluster_statuses: [
      { name: adminCluster, host_statuses: [host({ address: "127.0.0.1:9901", health: "Healthy" })] },
      { name: proc.cluster, host_statuses: proc.hosts.map(host) },
    ],
  });
}
