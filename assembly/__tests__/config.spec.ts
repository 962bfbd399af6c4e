// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { expectContains } from "./helpers";
import { parseConfig, MissingKeyPolicy, Defaults } from "../config/config";
import { bucketCountFor } from "../table/bucket";

function parse(s: string): string {
  const r = parseConfig(Uint8Array.wrap(String.UTF8.encode(s)));
  return r.config == null ? r.error : "ok";
}

describe("plugin config", () => {
  it("uses defaults for an empty or blank config", () => {
    const r = parseConfig(new Uint8Array(0));
    expect(r.config).not.toBeNull();
    const c = r.config!;
    expect(c.route.keyParams.join(",")).toBe("appId,roomId");
    expect(c.route.keyIncludesPath).toBe(true);
    expect(c.route.onMissingKey).toBe(MissingKeyPolicy.Passthrough);
    expect(c.route.maxKeyLength).toBe(Defaults.maxKeyLength);
    expect(c.pinHeader).toBe("x-room-affinity-pin");
    expect(c.hashHeader).toBe("x-room-affinity-hash");
    expect(bucketCountFor(c.capacity, c.bucketSize)).toBe(131072);
    expect(parse("  \n")).toBe("ok");
    expect(parse("{}")).toBe("ok");
  });
  it("reads every field", () => {
    const r = parseConfig(
      Uint8Array.wrap(
        String.UTF8.encode(
          '{"keyParams":["platform","nodeName","threadId"],"keyIncludesPath":false,"onMissingKey":"reject",' +
            '"maxKeyLength":100,"pinHeader":"x-pin","hashHeader":"x-room","entryTtlSeconds":600,"capacity":1000,"bucketSize":4,' +
            '"tickPeriodMs":500,"adminCluster":"","websocketOnly":false,"sharedDataPrefix":"ra2"}',
        ),
      ),
    );
    const c = r.config!;
    expect(c.route.keyParams.join(",")).toBe("platform,nodeName,threadId");
    expect(c.route.keyIncludesPath).toBe(false);
    expect(c.route.onMissingKey).toBe(MissingKeyPolicy.Reject);
    expect(c.route.maxKeyLength).toBe(100);
    expect(c.pinHeader).toBe("x-pin");
    expect(c.hashHeader).toBe("x-room");
    expect(c.rules.length).toBe(0);
    expect(c.entryTtlSeconds).toBe(600);
    expect(c.capacity).toBe(1000);
    expect(c.bucketSize).toBe(4);
    expect(bucketCountFor(c.capacity, c.bucketSize)).toBe(250);
    expect(c.tickPeriodMs).toBe(500);
    expect(c.adminCluster).toBe("");
    expect(c.route.websocketOnly).toBe(false);
    expect(c.sharedDataPrefix).toBe("ra2");
  });
  it("names the field and the expected shape", () => {
    expect(parse('{"keyParams":"roomId"}')).toBe(
      "invalid config field 'keyParams': expected a non-empty array of up to 8 distinct, non-empty query parameter names",
    );
    expectContains(parse('{"keyParams":[]}'), "'keyParams'");
    expectContains(parse('{"keyParams":["a","a"]}'), '("a" repeats)');
    expectContains(parse('{"keyParams":["a",1]}'), "(element 1 is not)");
    expect(parse('{"keyIncludesPath":"yes"}')).toBe("invalid config field 'keyIncludesPath': expected true or false");
    expect(parse('{"onMissingKey":"drop"}')).toBe('invalid config field \'onMissingKey\': expected "passthrough" or "reject", got "drop"');
    expect(parse('{"maxKeyLength":5}')).toBe("invalid config field 'maxKeyLength': expected an integer from 8 to 4096, got 5");
    expect(parse('{"maxKeyLength":64.5}')).toBe("invalid config field 'maxKeyLength': expected an integer from 8 to 4096");
    expectContains(parse('{"pinHeader":"X-Pin"}'), "'pinHeader': expected a lower-case HTTP header name");
    expectContains(parse('{"pinHeader":"x pin"}'), "'pinHeader'");
    expectContains(parse('{"pinHeader":""}'), "'pinHeader'");
    expectContains(parse('{"hashHeader":"X-Hash"}'), "'hashHeader': expected a lower-case HTTP header name, got \"X-Hash\"");
    expectContains(parse('{"hashHeader":"x-room-affinity-pin"}'), "'hashHeader': expected a header name other than pinHeader");
    expectContains(parse('{"entryTtlSeconds":0}'), "'entryTtlSeconds': expected an integer from 10 to 31536000");
    expectContains(parse('{"capacity":0}'), "'capacity'");
    expectContains(parse('{"bucketSize":65}'), "'bucketSize': expected an integer from 1 to 64");
    expectContains(parse('{"tickPeriodMs":10}'), "'tickPeriodMs'");
    expect(parse('{"workerBucketCopies":-1}')).toBe(
      "invalid config field 'workerBucketCopies': expected an integer from 0 to 65536, got -1",
    );
    expectContains(parse('{"adminCluster":"a b"}'), "'adminCluster'");
    expectContains(parse('{"websocketOnly":1}'), "'websocketOnly'");
    expectContains(parse('{"sharedDataPrefix":""}'), "'sharedDataPrefix'");
  });
  it("reads per-route rules over the global settings (Higress _rules_)", () => {
    const r = parseConfig(
      Uint8Array.wrap(
        String.UTF8.encode(
          '{"onMissingKey":"reject","_rules_":[' +
            '{"_match_route_":["default/legacy"],"keyParams":["AppId","roomId"]},' +
            '{"_match_domain_":["*.wx.example.com"],"keyParams":["platform","nodeName","threadId"],"keyIncludesPath":false},' +
            '{"_match_service_":["chess.games.svc.cluster.local:8080"],"onMissingKey":"passthrough"},' +
            '{"_match_route_prefix_":["games/"],"websocketOnly":false}]}',
        ),
      ),
    );
    expect(r.error).toBe("");
    const c = r.config!;
    expect(c.rules.length).toBe(4);
    expect(c.rules[0].settings.keyParams.join(",")).toBe("AppId,roomId");
    expect(c.rules[0].settings.onMissingKey).toBe(MissingKeyPolicy.Reject); // inherited from the top level
    expect(c.rules[1].settings.keyParams.join(",")).toBe("platform,nodeName,threadId");
    expect(c.rules[1].settings.keyIncludesPath).toBe(false);
    expect(c.rules[2].settings.onMissingKey).toBe(MissingKeyPolicy.Passthrough);
    expect(c.rules[2].settings.keyParams.join(",")).toBe("appId,roomId");
    expect(c.rules[3].settings.websocketOnly).toBe(false);
    expect(c.route.keyParams.join(",")).toBe("appId,roomId");
  });
  it("validates every rule with the rule named", () => {
    expect(parse('{"_rules_":{}}')).toBe("invalid config field '_rules_': expected an array of rules");
    expectContains(parse('{"_rules_":[1]}'), "'_rules_[0]': expected an object with one of _match_route_");
    expect(parse('{"_rules_":[{"keyParams":["a"]}]}')).toBe(
      "invalid config field '_rules_[0]': expected one of _match_route_, _match_route_prefix_, _match_domain_, _match_service_",
    );
    expectContains(parse('{"_rules_":[{"_match_route_":["a"],"_match_domain_":["b"]}]}'), "expected exactly one of");
    expectContains(parse('{"_rules_":[{"_match_domain_":[]}]}'), "'_rules_[0]._match_domain_': expected a non-empty array of host names");
    expectContains(parse('{"_rules_":[{"_match_service_":"x"}]}'), "'_rules_[0]._match_service_': expected a non-empty array of services");
    expectContains(
      parse('{"_rules_":[{"_match_route_":["a"]},{"_match_route_":["b"],"keyParams":[]}]}'),
      "invalid config field '_rules_[1].keyParams': expected a non-empty array",
    );
    expect(parse('{"_rules_":[{"_match_route_":["a"],"capacity":5}]}')).toBe(
      "invalid config field '_rules_[0].capacity': 'capacity' applies to the whole plugin; set it at the top level",
    );
    expectContains(
      parse('{"_rules_":[{"_match_route_":["a"],"roomParams":5}]}'),
      "'_rules_[0]': unknown field 'roomParams'; a rule may set keyParams",
    );
  });
  it("rejects unknown fields, listing the known ones", () => {
    expectContains(parse('{"roomParams":["a"]}'), "unknown field 'roomParams'; known fields: keyParams,");
  });
  it("rejects non-objects and invalid JSON without trapping", () => {
    expect(parse("[]")).toBe("invalid config: expected a JSON object at the top level");
    expectContains(parse('{"keyParams": ["a",}'), "invalid config: not valid JSON: unexpected character at byte");
    expectContains(parse("{} {}"), "unexpected data after the JSON value");
  });
});
