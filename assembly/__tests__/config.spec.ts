import { expectContains } from "./helpers";
import { parseConfig, MissingKeyPolicy, Defaults } from "../config";

function parse(s: string): string {
  const r = parseConfig(Uint8Array.wrap(String.UTF8.encode(s)));
  return r.config == null ? r.error : "ok";
}

describe("plugin config", () => {
  it("uses defaults for an empty or blank config", () => {
    const r = parseConfig(new Uint8Array(0));
    expect(r.config).not.toBeNull();
    const c = r.config!;
    expect(c.keyParams.join(",")).toBe("appId,roomId");
    expect(c.keyIncludesPath).toBe(true);
    expect(c.onMissingKey).toBe(MissingKeyPolicy.Passthrough);
    expect(c.maxKeyLength).toBe(Defaults.maxKeyLength);
    expect(c.pinHeader).toBe("x-room-affinity-pin");
    expect(c.bucketCount).toBe(131072);
    expect(parse("  \n")).toBe("ok");
    expect(parse("{}")).toBe("ok");
  });
  it("reads every field", () => {
    const r = parseConfig(Uint8Array.wrap(String.UTF8.encode(
      "{\"keyParams\":[\"platform\",\"nodeName\",\"threadId\"],\"keyIncludesPath\":false,\"onMissingKey\":\"reject\"," +
      "\"maxKeyLength\":100,\"pinHeader\":\"x-pin\",\"entryTtlSeconds\":600,\"capacity\":1000,\"bucketSize\":4," +
      "\"tickPeriodMs\":500,\"adminCluster\":\"\",\"websocketOnly\":false,\"sharedDataPrefix\":\"ra2\"}")));
    const c = r.config!;
    expect(c.keyParams.join(",")).toBe("platform,nodeName,threadId");
    expect(c.keyIncludesPath).toBe(false);
    expect(c.onMissingKey).toBe(MissingKeyPolicy.Reject);
    expect(c.maxKeyLength).toBe(100);
    expect(c.pinHeader).toBe("x-pin");
    expect(c.entryTtlSeconds).toBe(600);
    expect(c.capacity).toBe(1000);
    expect(c.bucketSize).toBe(4);
    expect(c.bucketCount).toBe(250);
    expect(c.tickPeriodMs).toBe(500);
    expect(c.adminCluster).toBe("");
    expect(c.websocketOnly).toBe(false);
    expect(c.sharedDataPrefix).toBe("ra2");
  });
  it("names the field and the expected shape", () => {
    expect(parse("{\"keyParams\":\"roomId\"}")).toBe("invalid config field 'keyParams': expected a non-empty array of up to 8 distinct, non-empty query parameter names");
    expectContains(parse("{\"keyParams\":[]}"), "'keyParams'");
    expectContains(parse("{\"keyParams\":[\"a\",\"a\"]}"), "(\"a\" repeats)");
    expectContains(parse("{\"keyParams\":[\"a\",1]}"), "(element 1 is not)");
    expect(parse("{\"keyIncludesPath\":\"yes\"}")).toBe("invalid config field 'keyIncludesPath': expected true or false");
    expect(parse("{\"onMissingKey\":\"drop\"}")).toBe("invalid config field 'onMissingKey': expected \"passthrough\" or \"reject\", got \"drop\"");
    expect(parse("{\"maxKeyLength\":5}")).toBe("invalid config field 'maxKeyLength': expected an integer from 8 to 4096, got 5");
    expect(parse("{\"maxKeyLength\":64.5}")).toBe("invalid config field 'maxKeyLength': expected an integer from 8 to 4096");
    expectContains(parse("{\"pinHeader\":\"X-Pin\"}"), "'pinHeader': expected a lower-case HTTP header name");
    expectContains(parse("{\"pinHeader\":\"x pin\"}"), "'pinHeader'");
    expectContains(parse("{\"pinHeader\":\"\"}"), "'pinHeader'");
    expectContains(parse("{\"entryTtlSeconds\":0}"), "'entryTtlSeconds': expected an integer from 10 to 31536000");
    expectContains(parse("{\"capacity\":0}"), "'capacity'");
    expectContains(parse("{\"bucketSize\":65}"), "'bucketSize': expected an integer from 1 to 64");
    expectContains(parse("{\"tickPeriodMs\":10}"), "'tickPeriodMs'");
    expectContains(parse("{\"adminCluster\":\"a b\"}"), "'adminCluster'");
    expectContains(parse("{\"websocketOnly\":1}"), "'websocketOnly'");
    expectContains(parse("{\"sharedDataPrefix\":\"\"}"), "'sharedDataPrefix'");
  });
  it("rejects unknown fields, listing the known ones", () => {
    expectContains(parse("{\"roomParams\":[\"a\"]}"), "unknown field 'roomParams'; known fields: keyParams,");
  });
  it("rejects non-objects and invalid JSON without trapping", () => {
    expect(parse("[]")).toBe("invalid config: expected a JSON object at the top level");
    expectContains(parse("{\"keyParams\": [\"a\",}"), "invalid config: not valid JSON: unexpected character at byte");
    expectContains(parse("{} {}"), "unexpected data after the JSON value");
  });
});
