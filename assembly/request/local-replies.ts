// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Every reply the plugin sends instead of the upstream's, worded in one place. Host-free: the hooks
// send what these return.
import { RequestDecision, Rejection } from "./decision";

/** response-details codes of local replies (visible as %RESPONSE_CODE_DETAILS% in access logs). */
export const DETAILS_MISSING_KEY = "room_affinity_missing_key";
export const DETAILS_KEY_TOO_LONG = "room_affinity_key_too_long";
/** A player reached another pod than the one its room was just recorded on; its retry reaches the room. */
export const DETAILS_ROOM_ELSEWHERE = "room_affinity_room_elsewhere";

export class LocalReply {
  constructor(
    public readonly status: u32,
    public readonly details: string,
    public readonly body: string,
    public readonly headers: string[][],
  ) {}
}

const TEXT: string[][] = [["content-type", "text/plain"]];

/** The reply to a request the decision rejected. */
export function rejectionReply(d: RequestDecision): LocalReply {
  if (d.rejection == Rejection.KeyTooLong) {
    return new LocalReply(400, DETAILS_KEY_TOO_LONG, "room key longer than " + d.rejectionDetail + " bytes\n", TEXT);
  }
  return new LocalReply(400, DETAILS_MISSING_KEY, "missing query parameter '" + d.rejectionDetail + "'\n", TEXT);
}

/** The reply to a player whose upgrade reached another pod than its room's: its retry is pinned to the room. */
export const ROOM_ELSEWHERE = new LocalReply(503, DETAILS_ROOM_ELSEWHERE, "room is on another pod; retry\n", [
  ["content-type", "text/plain"],
  ["retry-after", "0"],
]);
