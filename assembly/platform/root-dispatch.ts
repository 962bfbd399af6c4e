// Copyright 2026 The room-affinity authors. SPDX-License-Identifier: Apache-2.0
// Directory calls leave from the root context, so their replies reach the root (a paused stream may
// end before its reply comes); the stream the calling hook serves is made effective again after.
import { DirectoryTransport } from "../directory/directory";
import { DirectoryRequest } from "../directory/protocol";
import { setEffectiveContext } from "../abi/host";

export abstract class RootDispatchTransport extends DirectoryTransport {
  constructor(public rootId: u32) {
    super();
  }

  /** Sends `request` from the effective context (the root, during send). */
  protected abstract dispatch(request: DirectoryRequest): i64;

  send(request: DirectoryRequest): i64 {
    if (this.currentStream != 0) setEffectiveContext(this.rootId);
    const token = this.dispatch(request);
    if (this.currentStream != 0) setEffectiveContext(this.currentStream);
    return token;
  }
}
