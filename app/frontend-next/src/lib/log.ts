// JSON log lines on stdout (docs/contract.md); callers never pass a secret or a token.
export function log(level: "info" | "warning" | "error", message: string, extra = {}): void {
  process.stdout.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, message, ...extra })}\n`,
  );
}
