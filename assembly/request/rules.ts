// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Which per-route rule applies to a request, the way Higress matches its `_rules_`: by route name
// (`_match_route_`, exact; `_match_route_prefix_`), by host (`_match_domain_`: exact, "*.suffix" or
// "prefix*", port stripped), or by service (`_match_service_`: "fqdn" or "fqdn:port" against the
// routed cluster "outbound|port||fqdn"). Rules are tried in order; the first match wins.

export const enum MatchKind {
  Route = 0,
  RoutePrefix = 1,
  Domain = 2,
  Service = 3,
}

export const MATCH_KEYS: string[] = ["_match_route_", "_match_route_prefix_", "_match_domain_", "_match_service_"];

/** Strips ":port" from a Host/:authority value (IPv6 literals keep their brackets). */
export function stripPort(host: string): string {
  const colon = host.lastIndexOf(":");
  if (colon < 0) return host;
  const v6end = host.lastIndexOf("]");
  return v6end < 0 || v6end < colon ? host.substring(0, colon) : host;
}

export function domainMatches(pattern: string, host: string): bool {
  if (pattern.startsWith("*")) return host.endsWith(pattern.substring(1));
  if (pattern.endsWith("*")) return host.startsWith(pattern.substring(0, pattern.length - 1));
  return host == pattern;
}

/** `pattern` is "fqdn" or "fqdn:port"; `cluster` is Istio/Higress's "outbound|port||fqdn". */
export function serviceMatches(pattern: string, cluster: string): bool {
  const parts = cluster.split("|");
  if (parts.length != 4) return false;
  const colon = pattern.lastIndexOf(":");
  if (colon >= 0) return parts[3] == pattern.substring(0, colon) && parts[1] == pattern.substring(colon + 1);
  return parts[3] == pattern;
}

export class RuleMatcher {
  constructor(
    public kind: MatchKind,
    public values: string[],
  ) {}

  /** on_request_headers: does this rule apply? `host` is the :authority without its port. */
  matches(routeName: string, host: string, cluster: string): bool {
    for (let i = 0; i < this.values.length; i++) {
      const v = this.values[i];
      switch (this.kind) {
        case MatchKind.Route:
          if (routeName == v) return true;
          break;
        case MatchKind.RoutePrefix:
          if (routeName.startsWith(v)) return true;
          break;
        case MatchKind.Domain:
          if (domainMatches(v, host)) return true;
          break;
        case MatchKind.Service:
          if (serviceMatches(v, cluster)) return true;
          break;
      }
    }
    return false;
  }
}
