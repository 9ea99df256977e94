import path from "node:path";

import type { NextConfig } from "next";

// One image serves any host: nothing here depends on where it runs, and no NEXT_PUBLIC_*
// variable is read (those would be frozen into the bundle at build time). Every setting
// that differs per deployment is read from the environment at run time (src/lib/env.ts).
const config: NextConfig = {
  // .next/standalone: server.js with only the node_modules files it uses (the image).
  output: "standalone",
  // This folder is the app, not the repository around it (which has its own lockfile):
  // server.js lands at the top of .next/standalone.
  outputFileTracingRoot: path.resolve("."),
  turbopack: { root: path.resolve(".") },
  poweredByHeader: false,
  // No image is resized at run time, so the image leaves out sharp and its libvips (19 MB).
  images: { unoptimized: true },
  outputFileTracingExcludes: { "*": ["node_modules/sharp/**", "node_modules/@img/**"] },
  // pg's optional native binding is never installed; don't let the tracer look for it.
  serverExternalPackages: ["pg"],
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ];
  },
};

export default config;
