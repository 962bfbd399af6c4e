// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { expectContains } from "./helpers";
import { parseConfig, MissingKeyPolicy, Defaults } from "../config/config";
import { bucketCountFor } from "../table/bucket";

function parse(s: string): string {
  const r = parseConfig(Uint8Array.wrap(String.UTF8.encode(s)));
  return r.config == null ? r.error : "ok";
}

/** A configuration the parser refuses, and the error it must give (all of it, or a part). */
class BadConfig {
  constructor(
    public name: string,
    public json: string,
    public exact: bool,
    public error: string,
  ) {}
}

const BAD_CONFIGS: BadConfig[] = [
  new BadConfig(
    "keyParams as a string",
    '{"keyParams":"roomId"}',
    true,
    "invalid config field 'keyParams': expected a non-empty array of up to 8 distinct, non-empty query parameter names",
  ),
  new BadConfig("keyParams empty", '{"keyParams":[]}', false, "'keyParams'"),
  new BadConfig("keyParams repeating a name", '{"keyParams":["a","a"]}', false, '("a" repeats)'),
  new BadConfig("keyParams with a number", '{"keyParams":["a",1]}', false, "(element 1 is not)"),
  new BadConfig(
    "keyIncludesPath as a string",
    '{"keyIncludesPath":"yes"}',
    true,
    "invalid config field 'keyIncludesPath': expected true or false",
  ),
  new BadConfig(
    "onMissingKey unknown",
    '{"onMissingKey":"drop"}',
    true,
    'invalid config field \'onMissingKey\': expected "passthrough" or "reject", got "drop"',
  ),
  new BadConfig(
    "maxKeyLength too small",
    '{"maxKeyLength":5}',
    true,
    "invalid config field 'maxKeyLength': expected an integer from 8 to 4096, got 5",
  ),
  new BadConfig(
    "maxKeyLength fractional",
    '{"maxKeyLength":64.5}',
    true,
    "invalid config field 'maxKeyLength': expected an integer from 8 to 4096",
  ),
  new BadConfig("pinHeader in upper case", '{"pinHeader":"X-Pin"}', false, "'pinHeader': expected a lower-case HTTP header name"),
  new BadConfig("pinHeader with a space", '{"pinHeader":"x pin"}', false, "'pinHeader'"),
  new BadConfig("pinHeader empty", '{"pinHeader":""}', false, "'pinHeader'"),
  new BadConfig(
    "hashHeader in upper case",
    '{"hashHeader":"X-Hash"}',
    false,
    "'hashHeader': expected a lower-case HTTP header name, got \"X-Hash\"",
  ),
  new BadConfig(
    "hashHeader equal to pinHeader",
    '{"hashHeader":"x-room-affinity-pin"}',
    false,
    "'hashHeader': expected a header name other than pinHeader",
  ),
  new BadConfig(
    "fallbackHeader in upper case",
    '{"fallbackHeader":"X-Next"}',
    false,
    "'fallbackHeader': expected a lower-case HTTP header name, got \"X-Next\"",
  ),
  new BadConfig("fallbackHeader with a space", '{"fallbackHeader":"x next"}', false, "'fallbackHeader'"),
  new BadConfig(
    "fallbackHeader equal to hashHeader",
    '{"fallbackHeader":"x-room-affinity-hash"}',
    false,
    "'fallbackHeader': expected a header name other than pinHeader and hashHeader",
  ),
  new BadConfig("entryTtlSeconds zero", '{"entryTtlSeconds":0}', false, "'entryTtlSeconds': expected an integer from 10 to 31536000"),
  new BadConfig("capacity zero", '{"capacity":0}', false, "'capacity'"),
  new BadConfig("bucketSize too large", '{"bucketSize":65}', false, "'bucketSize': expected an integer from 1 to 64"),
  new BadConfig("tickPeriodMs too small", '{"tickPeriodMs":10}', false, "'tickPeriodMs'"),
  new BadConfig(
    "workerBucketCopies negative",
    '{"workerBucketCopies":-1}',
    true,
    "invalid config field 'workerBucketCopies': expected an integer from 0 to 65536, got -1",
  ),
  new BadConfig("adminCluster with a space", '{"adminCluster":"a b"}', false, "'adminCluster'"),
  new BadConfig("websocketOnly as a number", '{"websocketOnly":1}', false, "'websocketOnly'"),
  new BadConfig("sharedDataPrefix empty", '{"sharedDataPrefix":""}', false, "'sharedDataPrefix'"),
  new BadConfig("_rules_ as an object", '{"_rules_":{}}', true, "invalid config field '_rules_': expected an array of rules"),
  new BadConfig("a rule that is a number", '{"_rules_":[1]}', false, "'_rules_[0]': expected an object with one of _match_route_"),
  new BadConfig(
    "a rule without a matcher",
    '{"_rules_":[{"keyParams":["a"]}]}',
    true,
    "invalid config field '_rules_[0]': expected one of _match_route_, _match_route_prefix_, _match_domain_, _match_service_",
  ),
  new BadConfig(
    "a rule with two matchers",
    '{"_rules_":[{"_match_route_":["a"],"_match_domain_":["b"]}]}',
    false,
    "expected exactly one of",
  ),
  new BadConfig(
    "a rule with no domains",
    '{"_rules_":[{"_match_domain_":[]}]}',
    false,
    "'_rules_[0]._match_domain_': expected a non-empty array of host names",
  ),
  new BadConfig(
    "a rule with services as a string",
    '{"_rules_":[{"_match_service_":"x"}]}',
    false,
    "'_rules_[0]._match_service_': expected a non-empty array of services",
  ),
  new BadConfig(
    "a second rule with empty keyParams",
    '{"_rules_":[{"_match_route_":["a"]},{"_match_route_":["b"],"keyParams":[]}]}',
    false,
    "invalid config field '_rules_[1].keyParams': expected a non-empty array",
  ),
  new BadConfig(
    "a rule setting a plugin-wide field",
    '{"_rules_":[{"_match_route_":["a"],"capacity":5}]}',
    true,
    "invalid config field '_rules_[0].capacity': 'capacity' applies to the whole plugin; set it at the top level",
  ),
  new BadConfig(
    "a rule with an unknown field",
    '{"_rules_":[{"_match_route_":["a"],"roomParams":5}]}',
    false,
    "'_rules_[0]': unknown field 'roomParams'; a rule may set keyParams",
  ),
];

// AssemblyScript closures capture no locals, so each case's test takes the next case in order.
let nextBadConfig = 0;
function checkNextBadConfig(): void {
  const c = BAD_CONFIGS[nextBadConfig++];
  if (c.exact) expect(parse(c.json)).toBe(c.error);
  else expectContains(parse(c.json), c.error);
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
    expect(c.fallbackHeader).toBe("");
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
  it("rejects unknown fields, listing the known ones", () => {
    expectContains(parse('{"roomParams":["a"]}'), "unknown field 'roomParams'; known fields: keyParams,");
  });
  it("rejects non-objects and invalid JSON without trapping", () => {
    expect(parse("[]")).toBe("invalid config: expected a JSON object at the top level");
    expectContains(parse('{"keyParams": ["a",}'), "invalid config: not valid JSON: unexpected character at byte");
    expectContains(parse("{} {}"), "unexpected data after the JSON value");
  });
});

describe("plugin config: refused, with the field, the shape expected and the value", () => {
  for (let i = 0; i < BAD_CONFIGS.length; i++) it(BAD_CONFIGS[i].name, checkNextBadConfig);
});
