// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
import { RuleMatcher, MatchKind, stripPort, domainMatches, serviceMatches } from "../request/rules";

describe("per-route rule matching (Higress semantics)", () => {
  it("strips ports, keeping IPv6 literals whole", () => {
    expect(stripPort("game.example.com:8443")).toBe("game.example.com");
    expect(stripPort("game.example.com")).toBe("game.example.com");
    expect(stripPort("[::1]:80")).toBe("[::1]");
    expect(stripPort("[::1]")).toBe("[::1]");
  });
  it("matches domains exactly, by *suffix or prefix*", () => {
    expect(domainMatches("game.example.com", "game.example.com")).toBe(true);
    expect(domainMatches("game.example.com", "x.game.example.com")).toBe(false);
    expect(domainMatches("*.example.com", "a.example.com")).toBe(true);
    expect(domainMatches("*.example.com", "example.com")).toBe(false);
    expect(domainMatches("game-*", "game-eu.example.com")).toBe(true);
    expect(domainMatches("game-*", "xgame-eu")).toBe(false);
  });
  it("matches services against outbound|port||fqdn, with or without the port", () => {
    const cluster = "outbound|8080||chess.games.svc.cluster.local";
    expect(serviceMatches("chess.games.svc.cluster.local", cluster)).toBe(true);
    expect(serviceMatches("chess.games.svc.cluster.local:8080", cluster)).toBe(true);
    expect(serviceMatches("chess.games.svc.cluster.local:9090", cluster)).toBe(false);
    expect(serviceMatches("chess.games.svc.cluster.local", "game_pods")).toBe(false);
  });
  it("matches route names exactly or by prefix", () => {
    expect(new RuleMatcher(MatchKind.Route, ["default/a", "default/b"]).matches("default/b", "", "")).toBe(true);
    expect(new RuleMatcher(MatchKind.Route, ["default/a"]).matches("default/ab", "", "")).toBe(false);
    expect(new RuleMatcher(MatchKind.RoutePrefix, ["games/"]).matches("games/chess", "", "")).toBe(true);
    expect(new RuleMatcher(MatchKind.Domain, ["*.wx.example.com"]).matches("r", "m.wx.example.com", "")).toBe(true);
    expect(
      new RuleMatcher(MatchKind.Service, ["chess.games.svc.cluster.local"]).matches("r", "h", "outbound|80||chess.games.svc.cluster.local"),
    ).toBe(true);
  });
});
