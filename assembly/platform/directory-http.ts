// The room directory's transport to etcd, on both builds: an HTTP call to the directory's cluster, dispatched
// from the root context so its reply reaches the root (a paused stream may end before the reply), then
// the stream the hook serves is made effective again.
import { DirectoryTransport } from "../directory/directory";
import { DirectoryRequest } from "../directory/protocol";
import { DirectoryConfig } from "../config";
import { httpCall, setEffectiveContext } from "../abi/host";

export class DirectoryHttpTransport extends DirectoryTransport {
  private headers: string[][];

  constructor(public config: DirectoryConfig, public rootId: u32) {
    super();
    const h: string[][] = [[":method", "POST"], [":path", ""], [":authority", config.authority], ["content-type", "application/json"]];
    if (config.token.length > 0) h.push(["authorization", config.token]);
    this.headers = h;
  }

  send(request: DirectoryRequest): i64 {
    this.headers[1][1] = request.path;
    const body = request.body;
    if (this.currentStream != 0) setEffectiveContext(this.rootId);
    const token = httpCall(this.config.cluster, this.headers, <u32>this.config.timeoutMs, body);
    if (this.currentStream != 0) setEffectiveContext(this.currentStream);
    return token;
  }
}
