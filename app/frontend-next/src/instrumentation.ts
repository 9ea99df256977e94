// Runs once when the server starts; the Node.js part lives in its own module so that the
// Edge build of this file does not see Node's APIs.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME === "nodejs") {
    await import("./start");
  }
}
