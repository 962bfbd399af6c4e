// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Plugin configuration: one parse function, defaults in one place, every field validated.
// Errors name the field and the expected shape; on_configure logs them and fails configuration.
// Everything derived from a configuration is derived once, in instance.ts.
import { JSON } from "assemblyscript-json/assembly";
import { checkJson } from "../support/json-check";
import { RuleMatcher, MatchKind, MATCH_KEYS } from "../request/rules";

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
  export const hashHeader = "x-room-affinity-hash";
  /** Off: only a gateway whose cluster reads it (Envoy's override_host load-balancing policy) gains from it. */
  export const fallbackHeader = "";
  export const entryTtlSeconds: i32 = 86400;
  export const capacity: i32 = 1048576;
  export const bucketSize: i32 = 8;
  export const tickPeriodMs: i32 = 1000;
  /** Steady-state sweep window; a pod leaving always triggers a two-tick sweep of the whole table. */
  export const sweepBucketsPerTick: i32 = 1024;
  /** Bucket copies per worker thread: ~1.4 MB at most with full 8-entry buckets. */
  export const workerBucketCopies: i32 = 4096;
  export const adminCluster = "room_affinity_admin";
  export const websocketOnly = true;
  export const sharedDataPrefix = "room-affinity";
  export const logDecision = false;
}

/** The settings a per-route rule may change; everything else is one per plugin instance. */
export class RouteSettings {
  keyParams: string[] = Defaults.keyParams;
  keyIncludesPath: bool = Defaults.keyIncludesPath;
  onMissingKey: MissingKeyPolicy = Defaults.onMissingKey;
  maxKeyLength: i32 = Defaults.maxKeyLength;
  websocketOnly: bool = Defaults.websocketOnly;

  clone(): RouteSettings {
    const r = new RouteSettings();
    r.keyParams = this.keyParams;
    r.keyIncludesPath = this.keyIncludesPath;
    r.onMissingKey = this.onMissingKey;
    r.maxKeyLength = this.maxKeyLength;
    r.websocketOnly = this.websocketOnly;
    return r;
  }
}

/** The shared room directory (directory/): where it is and how long a join may wait for it. */
export class DirectoryConfig {
  /** The store: "etcd" (its v3 JSON gateway over HTTP), or "redis" (Higress's Redis host functions). */
  type: string = "etcd";
  /** The Envoy cluster that reaches the store's client URL. */
  cluster: string = "room_affinity_directory";
  /** The :authority of directory requests. */
  authority: string = "etcd";
  /** Longest a join waits for a directory lookup before it fails open (10 to 5000 ms; Redis: `timeout`). */
  timeoutMs: i32 = 200;
  /** Prefix of the directory's keys (rooms are "<keyPrefix><fingerprint hex>"). */
  keyPrefix: string = "room-affinity/";
  /** A replica re-validates a room it knows at most this often, and rotates its write lease. */
  refreshSeconds: i32 = 60;
  /** Lookups one worker thread keeps in flight; joins beyond fail open at once. */
  maxLookupsInFlight: i32 = 256;
  /** Sent as the Authorization header when not empty (an etcd auth token). */
  token: string = "";
  /** Redis (Higress): the service as Higress plugins name it, its port, credentials and database. */
  serviceName: string = "";
  servicePort: i32 = 6379;
  username: string = "";
  password: string = "";
  database: i32 = 0;
}

/** Fields every directory type takes. */
export const DIRECTORY_COMMON_FIELDS: string[] = ["type", "keyPrefix", "refreshSeconds", "maxLookupsInFlight"];
/** etcd: reached over HTTP through an Envoy cluster. */
export const DIRECTORY_ETCD_FIELDS: string[] = DIRECTORY_COMMON_FIELDS.concat(["cluster", "authority", "timeoutMs", "token"]);
/** Redis (Higress build): configured the way Higress plugins configure Redis. */
export const DIRECTORY_REDIS_FIELDS: string[] = DIRECTORY_COMMON_FIELDS.concat([
  "serviceName",
  "servicePort",
  "username",
  "password",
  "timeout",
  "database",
]);

/**
 * The Envoy cluster name Higress gives a Redis service: `outbound|<port>||<serviceName>` (a K8s FQDN,
 * or a `.static` / `.dns` service registered in Higress); a name that already is a cluster is kept.
 */
export function redisClusterOf(d: DirectoryConfig): string {
  return d.serviceName.startsWith("outbound|") ? d.serviceName : "outbound|" + d.servicePort.toString() + "||" + d.serviceName;
}

/** A `_rules_` entry: when its matcher applies, its settings replace the global route settings. */
export class Rule {
  constructor(
    public matcher: RuleMatcher,
    public settings: RouteSettings,
  ) {}
}

export class PluginConfig {
  /** Route settings used when no rule matches. */
  route: RouteSettings = new RouteSettings();
  rules: Rule[] = [];
  pinHeader: string = Defaults.pinHeader;
  hashHeader: string = Defaults.hashHeader;
  /** The header naming a room's pods in the order the gateway tries them ("" = not written). */
  fallbackHeader: string = Defaults.fallbackHeader;
  entryTtlSeconds: i32 = Defaults.entryTtlSeconds;
  capacity: i32 = Defaults.capacity;
  bucketSize: i32 = Defaults.bucketSize;
  tickPeriodMs: i32 = Defaults.tickPeriodMs;
  sweepBucketsPerTick: i32 = Defaults.sweepBucketsPerTick;
  workerBucketCopies: i32 = Defaults.workerBucketCopies;
  adminCluster: string = Defaults.adminCluster;
  sharedDataPrefix: string = Defaults.sharedDataPrefix;
  /** Publish each keyed request's room key and decision as filter state, for access logs. */
  logDecision: bool = Defaults.logDecision;
  /** The shared room directory, or null (each gateway process keeps its own table only). */
  directory: DirectoryConfig | null = null;
}

export class ConfigResult {
  constructor(
    public config: PluginConfig | null,
    public error: string,
  ) {}
  static ok(c: PluginConfig): ConfigResult {
    return new ConfigResult(c, "");
  }
  static fail(e: string): ConfigResult {
    return new ConfigResult(null, e);
  }
}

/** Fields a `_rules_` entry may set (and the top level too). */
export const ROUTE_FIELDS: string[] = ["keyParams", "keyIncludesPath", "onMissingKey", "maxKeyLength", "websocketOnly"];
/** Fields only the top level may set: there is one table, one tick and one pin header per plugin instance. */
export const GLOBAL_FIELDS: string[] = [
  "pinHeader",
  "hashHeader",
  "fallbackHeader",
  "entryTtlSeconds",
  "capacity",
  "bucketSize",
  "tickPeriodMs",
  "sweepBucketsPerTick",
  "workerBucketCopies",
  "adminCluster",
  "sharedDataPrefix",
  "logDecision",
  "directory",
];
export const RULES_KEY = "_rules_";
/** Every accepted top-level field. A field not listed here is rejected, so typos do not pass silently. */
export const KNOWN_FIELDS: string[] = ROUTE_FIELDS.concat(GLOBAL_FIELDS).concat([RULES_KEY]);

const MAX_KEY_PARAMS = 8;

// Collects the first error; the parser stops at it.
class Reader {
  error: string = "";
  /** Prefix for field names in messages, e.g. "_rules_[2]." inside a rule. */
  constructor(
    public obj: JSON.Obj,
    public where: string = "",
  ) {}

  fail(field: string, expected: string): void {
    if (this.error.length == 0) this.error = "invalid config field '" + this.where + field + "': expected " + expected;
  }

  bool(field: string, dflt: bool): bool {
    const v = this.obj.get(field);
    if (v == null) return dflt;
    if (!v.isBool) {
      this.fail(field, "true or false");
      return dflt;
    }
    return (<JSON.Bool>v)._bool;
  }

  int(field: string, dflt: i32, min: i32, max: i32): i32 {
    const v = this.obj.get(field);
    if (v == null) return dflt;
    const shape = "an integer from " + min.toString() + " to " + max.toString();
    if (!v.isInteger) {
      this.fail(field, shape);
      return dflt;
    }
    const n = (<JSON.Integer>v)._num;
    if (n < <i64>min || n > <i64>max) {
      this.fail(field, shape + ", got " + n.toString());
      return dflt;
    }
    return <i32>n;
  }

  str(field: string, dflt: string): string {
    const v = this.obj.get(field);
    if (v == null) return dflt;
    if (!v.isString) {
      this.fail(field, "a string");
      return dflt;
    }
    return (<JSON.Str>v)._str;
  }

  /** A token (isToken), or "" where `allowEmpty`; `shape` says what is expected. */
  token(field: string, dflt: string, shape: string, allowEmpty: bool): string {
    const s = this.str(field, dflt);
    if (this.error.length > 0) return dflt;
    if (s.length == 0 ? !allowEmpty : !isToken(s)) {
      this.fail(field, shape + ', got "' + s + '"');
      return dflt;
    }
    return s;
  }
}

/** RFC 7230 tchar: safe for header names, cluster names and shared-data key prefixes. */
function isToken(s: string): bool {
  if (s.length == 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok =
      (c >= 0x30 && c <= 0x39) ||
      (c >= 0x41 && c <= 0x5a) ||
      (c >= 0x61 && c <= 0x7a) ||
      c == 0x21 ||
      c == 0x23 ||
      c == 0x24 ||
      c == 0x25 ||
      c == 0x26 ||
      c == 0x27 ||
      c == 0x2a ||
      c == 0x2b ||
      c == 0x2d ||
      c == 0x2e ||
      c == 0x5e ||
      c == 0x5f ||
      c == 0x60 ||
      c == 0x7c ||
      c == 0x7e;
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

function isBlank(raw: Uint8Array): bool {
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (!(b == 0x20 || b == 0x09 || b == 0x0a || b == 0x0d)) return false;
  }
  return true;
}

/** Reads the per-route fields of `r.obj` over `base` (the global settings, for a rule). */
function readRouteSettings(r: Reader, base: RouteSettings): RouteSettings {
  const s = base.clone();
  const params = r.obj.get("keyParams");
  if (params != null) {
    const shape = "a non-empty array of up to " + MAX_KEY_PARAMS.toString() + " distinct, non-empty query parameter names";
    if (!params.isArr) r.fail("keyParams", shape);
    else {
      const arr = (<JSON.Arr>params)._arr;
      const names = new Array<string>(0);
      if (arr.length == 0 || arr.length > MAX_KEY_PARAMS) r.fail("keyParams", shape);
      for (let i = 0; i < arr.length && r.error.length == 0; i++) {
        const v = arr[i];
        if (!v.isString || (<JSON.Str>v)._str.length == 0) {
          r.fail("keyParams", shape + " (element " + i.toString() + " is not)");
          break;
        }
        const name = (<JSON.Str>v)._str;
        if (names.includes(name)) {
          r.fail("keyParams", shape + ' ("' + name + '" repeats)');
          break;
        }
        names.push(name);
      }
      if (r.error.length == 0) s.keyParams = names;
    }
  }
  s.keyIncludesPath = r.bool("keyIncludesPath", base.keyIncludesPath);
  if (r.obj.has("onMissingKey")) {
    const policy = r.str("onMissingKey", "");
    if (r.error.length == 0) {
      if (policy == "passthrough") s.onMissingKey = MissingKeyPolicy.Passthrough;
      else if (policy == "reject") s.onMissingKey = MissingKeyPolicy.Reject;
      else r.fail("onMissingKey", '"passthrough" or "reject", got "' + policy + '"');
    }
  }
  s.maxKeyLength = r.int("maxKeyLength", base.maxKeyLength, 8, 4096);
  s.websocketOnly = r.bool("websocketOnly", base.websocketOnly);
  return s;
}

class DirectoryResult {
  constructor(
    public config: DirectoryConfig | null,
    public error: string,
  ) {}
}

/** Reads the `directory` object; errors name the field as "directory.<field>". */
function readDirectory(v: JSON.Value, ttlSeconds: i32): DirectoryResult {
  if (!v.isObj)
    return new DirectoryResult(
      null,
      'invalid config field \'directory\': expected an object such as {"cluster": "room_affinity_directory"}',
    );
  const o = <JSON.Obj>v;
  const r = new Reader(o, "directory.");
  const d = new DirectoryConfig();
  d.type = r.str("type", d.type);
  if (r.error.length == 0 && d.type != "etcd" && d.type != "redis") r.fail("type", '"etcd" or "redis" (Higress), got "' + d.type + '"');
  if (r.error.length > 0) return new DirectoryResult(null, r.error);
  const known = d.type == "redis" ? DIRECTORY_REDIS_FIELDS : DIRECTORY_ETCD_FIELDS;
  for (let i = 0; i < o.keys.length; i++) {
    if (!known.includes(o.keys[i])) {
      return new DirectoryResult(
        null,
        "invalid config: unknown field 'directory." + o.keys[i] + "' for type \"" + d.type + '"; known fields: ' + known.join(", "),
      );
    }
  }
  if (d.type == "redis") {
    d.serviceName = r.str("serviceName", "");
    if (r.error.length == 0 && (d.serviceName.length == 0 || d.serviceName.length > 253 || !isToken(d.serviceName.replaceAll("|", "_")))) {
      r.fail("serviceName", 'a Redis service such as "redis.default.svc.cluster.local" or "redis.static", got "' + d.serviceName + '"');
    }
    d.servicePort = r.int("servicePort", d.servicePort, 1, 65535);
    d.username = r.str("username", "");
    d.password = r.str("password", "");
    d.timeoutMs = r.int("timeout", d.timeoutMs, 10, 5000);
    d.database = r.int("database", 0, 0, 15);
    d.cluster = redisClusterOf(d);
  } else {
    d.cluster = r.token("cluster", d.cluster, "an Envoy cluster name (letters, digits, '_', '-', '.')", false);
    d.authority = r.token("authority", d.authority, "a host name for the :authority header", false);
    d.timeoutMs = r.int("timeoutMs", d.timeoutMs, 10, 5000);
    d.token = r.str("token", d.token);
    if (r.error.length == 0 && d.token.length > 0 && !isToken(d.token)) r.fail("token", "an etcd auth token (token characters)");
  }
  d.keyPrefix = r.str("keyPrefix", d.keyPrefix);
  if (r.error.length == 0 && (d.keyPrefix.length == 0 || d.keyPrefix.length > 128 || !isToken(d.keyPrefix.replaceAll("/", "_")))) {
    r.fail("keyPrefix", '1 to 128 token characters or \'/\', such as "room-affinity/", got "' + d.keyPrefix + '"');
  }
  d.refreshSeconds = r.int("refreshSeconds", d.refreshSeconds, 1, 3600);
  if (r.error.length == 0 && d.refreshSeconds > ttlSeconds)
    r.fail("refreshSeconds", "at most entryTtlSeconds (" + ttlSeconds.toString() + "), got " + d.refreshSeconds.toString());
  d.maxLookupsInFlight = r.int("maxLookupsInFlight", d.maxLookupsInFlight, 1, 65536);
  return new DirectoryResult(r.error.length == 0 ? d : null, r.error);
}

/** Reads one `_rules_` entry: exactly one match key with a non-empty list, plus per-route fields. */
class RuleResult {
  constructor(
    public rule: Rule | null,
    public error: string,
  ) {}
}

function ruleError(e: string): RuleResult {
  return new RuleResult(null, e);
}

function readRule(v: JSON.Value, index: i32, global: RouteSettings): RuleResult {
  const where = RULES_KEY + "[" + index.toString() + "]";
  if (!v.isObj) return ruleError("invalid config field '" + where + "': expected an object with one of " + MATCH_KEYS.join(", "));
  const obj = <JSON.Obj>v;
  const keys = obj.keys;
  let kind = -1;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const m = MATCH_KEYS.indexOf(k);
    if (m >= 0) {
      if (kind >= 0)
        return ruleError(
          "invalid config field '" +
            where +
            "': expected exactly one of " +
            MATCH_KEYS.join(", ") +
            ", got both '" +
            MATCH_KEYS[kind] +
            "' and '" +
            k +
            "'",
        );
      kind = m;
    } else if (GLOBAL_FIELDS.includes(k)) {
      return ruleError("invalid config field '" + where + "." + k + "': '" + k + "' applies to the whole plugin; set it at the top level");
    } else if (!ROUTE_FIELDS.includes(k)) {
      return ruleError(
        "invalid config field '" +
          where +
          "': unknown field '" +
          k +
          "'; a rule may set " +
          ROUTE_FIELDS.join(", ") +
          " and one of " +
          MATCH_KEYS.join(", "),
      );
    }
  }
  if (kind < 0) return ruleError("invalid config field '" + where + "': expected one of " + MATCH_KEYS.join(", "));
  const key = MATCH_KEYS[kind];
  const shape =
    kind == <i32>MatchKind.Domain
      ? 'a non-empty array of host names (exact, "*.suffix" or "prefix*")'
      : kind == <i32>MatchKind.Service
        ? 'a non-empty array of services ("name.namespace.svc.cluster.local" or with ":port")'
        : 'a non-empty array of route names ("namespace/ingress")';
  const list = obj.get(key)!;
  const values = new Array<string>(0);
  if (list.isArr) {
    const arr = (<JSON.Arr>list)._arr;
    for (let i = 0; i < arr.length; i++) {
      if (!arr[i].isString || (<JSON.Str>arr[i])._str.length == 0)
        return ruleError("invalid config field '" + where + "." + key + "': expected " + shape);
      values.push((<JSON.Str>arr[i])._str);
    }
  }
  if (values.length == 0) return ruleError("invalid config field '" + where + "." + key + "': expected " + shape);
  const r = new Reader(obj, where + ".");
  const settings = readRouteSettings(r, global);
  if (r.error.length > 0) return ruleError(r.error);
  return new RuleResult(new Rule(new RuleMatcher(<MatchKind>kind, values), settings), "");
}

/** on_configure: parses the plugin configuration (UTF-8 JSON; empty means all defaults). */
export function parseConfig(raw: Uint8Array): ConfigResult {
  const c = new PluginConfig();
  // Envoy passes an empty buffer when no configuration is set.
  if (isBlank(raw)) return ConfigResult.ok(c);

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
  c.route = readRouteSettings(r, c.route);
  c.pinHeader = r.token("pinHeader", Defaults.pinHeader, 'a lower-case HTTP header name such as "x-room-affinity-pin"', false);
  if (r.error.length == 0 && hasUpper(c.pinHeader)) r.fail("pinHeader", 'a lower-case HTTP header name, got "' + c.pinHeader + '"');
  c.hashHeader = r.token("hashHeader", Defaults.hashHeader, 'a lower-case HTTP header name such as "x-room-affinity-hash"', false);
  if (r.error.length == 0 && hasUpper(c.hashHeader)) r.fail("hashHeader", 'a lower-case HTTP header name, got "' + c.hashHeader + '"');
  if (r.error.length == 0 && c.hashHeader == c.pinHeader)
    r.fail("hashHeader", 'a header name other than pinHeader ("' + c.pinHeader + '")');
  c.fallbackHeader = r.token(
    "fallbackHeader",
    Defaults.fallbackHeader,
    'a lower-case HTTP header name such as "x-room-affinity-next", or ""',
    true,
  );
  if (r.error.length == 0 && hasUpper(c.fallbackHeader))
    r.fail("fallbackHeader", 'a lower-case HTTP header name, got "' + c.fallbackHeader + '"');
  if (r.error.length == 0 && c.fallbackHeader.length > 0 && (c.fallbackHeader == c.pinHeader || c.fallbackHeader == c.hashHeader))
    r.fail("fallbackHeader", 'a header name other than pinHeader and hashHeader, got "' + c.fallbackHeader + '"');
  c.entryTtlSeconds = r.int("entryTtlSeconds", Defaults.entryTtlSeconds, 10, 31536000);
  c.capacity = r.int("capacity", Defaults.capacity, 1, 16777216);
  c.bucketSize = r.int("bucketSize", Defaults.bucketSize, 1, 64);
  c.tickPeriodMs = r.int("tickPeriodMs", Defaults.tickPeriodMs, 100, 60000);
  c.sweepBucketsPerTick = r.int("sweepBucketsPerTick", Defaults.sweepBucketsPerTick, 1, 16777216);
  c.workerBucketCopies = r.int("workerBucketCopies", Defaults.workerBucketCopies, 0, 65536);
  c.adminCluster = r.token(
    "adminCluster",
    Defaults.adminCluster,
    "an Envoy cluster name (letters, digits, '_', '-', '.') or \"\" to disable",
    true,
  );
  c.sharedDataPrefix = r.token("sharedDataPrefix", Defaults.sharedDataPrefix, 'a non-empty token such as "room-affinity"', false);
  c.logDecision = r.bool("logDecision", Defaults.logDecision);
  if (r.error.length > 0) return ConfigResult.fail(r.error);
  const dir = obj.get("directory");
  if (dir != null) {
    const res = readDirectory(dir, c.entryTtlSeconds);
    if (res.error.length > 0) return ConfigResult.fail(res.error);
    c.directory = res.config;
  }

  const rules = obj.get(RULES_KEY);
  if (rules != null) {
    if (!rules.isArr) return ConfigResult.fail("invalid config field '" + RULES_KEY + "': expected an array of rules");
    const arr = (<JSON.Arr>rules)._arr;
    for (let i = 0; i < arr.length; i++) {
      const res = readRule(arr[i], i, c.route);
      if (res.rule == null) return ConfigResult.fail(res.error);
      c.rules.push(res.rule!);
    }
  }
  return ConfigResult.ok(c);
}
