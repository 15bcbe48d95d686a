// Starts Sentry's local receiver (the Spotlight sidecar, standalone: it
// never initialises the Sentry SDK, so nothing leaves the machine) on
// 127.0.0.1 only, at the port given as the first argument.
import http from "node:http";

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (port, ...rest) {
  const cb = rest.find((a) => typeof a === "function");
  return listen.call(this, port, "127.0.0.1", cb);
};

const { setupSidecar } = await import("@spotlightjs/sidecar");
setupSidecar({ port: Number(process.argv[2]), isStandalone: true });

// The sidecar's own SIGTERM handler closes the server but leaves the
// process running until a second signal (the tests' WaitDelay then cost
// 5 s each): exit once it has closed.
process.on("SIGTERM", () => process.exit(0));
