// Build target for Higress (build/higress.wasm): adds Higress's upstream-override and host-list imports.
import { install } from "../index";
import { HigressPlatform } from "../platform/higress";

export * from "../abi/exports";

install(new HigressPlatform());
