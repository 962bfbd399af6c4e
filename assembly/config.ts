// Plugin configuration: one parse function, defaults in one place, every field validated.
// Errors name the field and the expected shape; on_configure logs them and fails configuration.
import { JSON } from "assemblyscript-json/assembly";
import { checkJson } from "./json-check";

export const enum MissingKeyPolicy {
  Passthrough = 0,
  Reject = 1,
}

/** Defaults, in one place. Documented in README.md ("Configuration"). */
export namespace Defaults {
  export const keyParams: string[] = ["appId", "roomId"];
  export const keyIncludesPath = true;
  export const onMissingKey = MissingKeyPolicy.Passthrough;
  export const maxKeyLength: i32 = 512;
  export const pinHeader = "x-room-affinity-pin";
  export const entryTtlSeconds: i32 = 86400;
  export const capacity: i32 = 1048576;
  export const bucketSize: i32 = 8;
  export const tickPeriodMs: i32 = 1000;
  /** 0: visit half the buckets per tick, so a removed pod's rooms are gone within two ticks. */
  export const sweepBucketsPerTick: i32 = 0;
  export const adminCluster = "room_affinity_admin";
  export const websocketOnly = true;
  export const sharedDataPrefix = "room-affinity";
}

export class PluginConfig {
  keyParams: string[] = Defaults.keyParams;
  keyIncludesPath: bool = Defaults.keyIncludesPath;
  onMissingKey: MissingKeyPolicy = Defaults.onMissingKey;
  maxKeyLength: i32 = Defaults.maxKeyLength;
  pinHeader: string = Defaults.pinHeader;
  entryTtlSeconds: i32 = Defaults.entryTtlSeconds;
  capacity: i32 = Defaults.capacity;
  bucketSize: i32 = Defaults.bucketSize;
  tickPeriodMs: i32 = Defaults.tickPeriodMs;
  sweepBucketsPerTick: i32 = Defaults.sweepBucketsPerTick;
  adminCluster: string = Defaults.adminCluster;
  websocketOnly: bool = Defaults.websocketOnly;
  sharedDataPrefix: string = Defaults.sharedDataPrefix;

  /** Buckets in the table; derived, so capacity and bucketSize stay the only knobs. */
  get bucketCount(): i32 {
    return (this.capacity + this.bucketSize - 1) / this.bucketSize;
  }

  /** Buckets the sweeper visits per pass (sweepBucketsPerTick, or half the table when 0). */
  get sweepWindow(): i32 {
    return this.sweepBucketsPerTick > 0 ? this.sweepBucketsPerTick : (this.bucketCount + 1) / 2;
  }
}

export class ConfigResult {
  constructor(public config: PluginConfig | null, public error: string) {}
  static ok(c: PluginConfig): ConfigResult { return new ConfigResult(c, ""); }
  static fail(e: string): ConfigResult { return new ConfigResult(null, e); }
}

/** Every accepted field. A field not listed here is rejected, so typos do not pass silently. */
export const KNOWN_FIELDS: string[] = [
  "keyParams", "keyIncludesPath", "onMissingKey", "maxKeyLength", "pinHeader", "entryTtlSeconds",
  "capacity", "bucketSize", "tickPeriodMs", "sweepBucketsPerTick", "adminCluster", "websocketOnly", "sharedDataPrefix",
];

const MAX_KEY_PARAMS = 8;

// Collects the first error; the parser stops at it.
class Reader {
  error: string = "";
  constructor(public obj: JSON.Obj) {}

  fail(field: string, expected: string): void {
    if (this.error.length == 0) this.error = "invalid config field '" + field + "': expected " + expected;
  }

  bool(field: string, dflt: bool): bool {
    const v = this.obj.get(field);
    if (v == null) return dflt;
    if (!v.isBool) { this.fail(field, "true or false"); return dflt; }
    return (<JSON.Bool>v)._bool;
  }

  int(field: string, dflt: i32, min: i32, max: i32): i32 {
    const v = this.obj.get(field);
    if (v == null) return dflt;
    const shape = "an integer from " + min.toString() + " to " + max.toString();
    if (!v.isInteger) { this.fail(field, shape); return dflt; }
    const n = (<JSON.Integer>v)._num;
    if (n < <i64>min || n > <i64>max) { this.fail(field, shape + ", got " + n.toString()); return dflt; }
    return <i32>n;
  }

  str(field: string, dflt: string): string {
    const v = this.obj.get(field);
    if (v == null) return dflt;
    if (!v.isString) { this.fail(field, "a string"); return dflt; }
    return (<JSON.Str>v)._str;
  }

  /** A string that must satisfy `isValid`; `shape` says what is expected. */
  token(field: string, dflt: string, shape: string, allowEmpty: bool): string {
    const s = this.str(field, dflt);
    if (this.error.length > 0) return dflt;
    if (s.length == 0 ? !allowEmpty : !isToken(s)) { this.fail(field, shape + ", got \"" + s + "\""); return dflt; }
    return s;
  }
}

/** RFC 7230 tchar: safe for header names, cluster names and shared-data key prefixes. */
function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c == 0x21 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 || c == 0x27 || c == 0x2a || c == 0x2b ||
      c == 0x2d || c == 0x2e || c == 0x5e || c == 0x5f || c == 0x60 || c == 0x7c || c == 0x7e;
    if (!ok) return false;
  }
  return true;
}

function hasUpper(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** on_configure contract: parses the plugin configuration (UTF-8 JSON; empty means all defaults). */
export function parseConfig(raw: Uint8Array): ConfigResult {
  const c = new PluginConfig();
  // Envoy passes an empty buffer when no configuration is set.
  let blank = true;
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (!(b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d)) { blank = false; break; }
  }
  if (blank) return ConfigResult.ok(c);

  const syntax = checkJson(raw);
  if (syntax.length > 0) return ConfigResult.fail("invalid config: not valid JSON: " + syntax);
  const root = JSON.parse(raw);
  if (!root.isObj) return ConfigResult.fail("invalid config: expected a JSON object at the top level");
  const obj = <JSON.Obj>root;

  const keys = obj.keys;
  for (let i = 0; i < keys.length; i++) {
    if (!KNOWN_FIELDS.includes(keys[i])) {
      return ConfigResult.fail("invalid config: unknown field '" + keys[i] + "'; known fields: " + KNOWN_FIELDS.join(", "));
    }
  }

  const r = new Reader(obj);

  const params = obj.get("keyParams");
  if (params != null) {
    const shape = "a non-empty array of up to " + MAX_KEY_PARAMS.toString() + " distinct, non-empty query parameter names";
    if (!params.isArr) r.fail("keyParams", shape);
    else {
      const arr = (<JSON.Arr>params)._arr;
      const names = new Array<string>(0);
      if (arr.length == 0 || arr.length > MAX_KEY_PARAMS) r.fail("keyParams", shape);
      for (let i = 0; i < arr.length && r.error.length == 0; i++) {
        const v = arr[i];
        if (!v.isString || (<JSON.Str>v)._str.length == 0) { r.fail("keyParams", shape + " (element " + i.toString() + " is not)"); break; }
        const name = (<JSON.Str>v)._str;
        if (names.includes(name)) { r.fail("keyParams", shape + " (\"" + name + "\" repeats)"); break; }
        names.push(name);
      }
      if (r.error.length == 0) c.keyParams = names;
    }
  }

  c.keyIncludesPath = r.bool("keyIncludesPath", Defaults.keyIncludesPath);

  const policy = r.str("onMissingKey", "passthrough");
  if (r.error.length == 0) {
    if (policy == "passthrough") c.onMissingKey = MissingKeyPolicy.Passthrough;
    else if (policy == "reject") c.onMissingKey = MissingKeyPolicy.Reject;
    else r.fail("onMissingKey", "\"passthrough\" or \"reject\", got \"" + policy + "\"");
  }

  c.maxKeyLength = r.int("maxKeyLength", Defaults.maxKeyLength, 8, 4096);

  c.pinHeader = r.token("pinHeader", Defaults.pinHeader, "a lower-case HTTP header name such as \"x-room-affinity-pin\"", false);
  if (r.error.length == 0 && hasUpper(c.pinHeader)) r.fail("pinHeader", "a lower-case HTTP header name, got \"" + c.pinHeader + "\"");

  c.entryTtlSeconds = r.int("entryTtlSeconds", Defaults.entryTtlSeconds, 10, 31536000);
  c.capacity = r.int("capacity", Defaults.capacity, 1, 16777216);
  c.bucketSize = r.int("bucketSize", Defaults.bucketSize, 1, 64);
  c.tickPeriodMs = r.int("tickPeriodMs", Defaults.tickPeriodMs, 100, 60000);
  c.sweepBucketsPerTick = r.int("sweepBucketsPerTick", Defaults.sweepBucketsPerTick, 0, 16777216);
  c.adminCluster = r.token("adminCluster", Defaults.adminCluster, "an Envoy cluster name (letters, digits, '_', '-', '.') or \"\" to disable", true);
  c.websocketOnly = r.bool("websocketOnly", Defaults.websocketOnly);
  c.sharedDataPrefix = r.token("sharedDataPrefix", Defaults.sharedDataPrefix, "a non-empty token such as \"room-affinity\"", false);

  if (r.error.length > 0) return ConfigResult.fail(r.error);
  return ConfigResult.ok(c);
}
