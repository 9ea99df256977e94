// Preloaded into `cdk8s import` by tools/import_bindings.py: cdk8s-cli downloads
// the Kubernetes schema from raw.githubusercontent.com, which is unreachable
// here, so requests for it are answered from ../shared/k8s-schemas instead.
// Any other https request fails loudly rather than reaching the network.
const fs = require('fs');
const https = require('https');
const path = require('path');
const { Readable } = require('stream');

const schemasDir = process.env.K8S_SCHEMAS_DIR;
const pattern = /\/kubernetes-schemas\/(v[0-9.]+)\/_definitions\.json$/;

https.get = (url, callback) => {
  const match = String(url).match(pattern);
  if (!match) {
    throw new Error(`offline import: refusing to fetch ${url}`);
  }
  const file = path.join(schemasDir, match[1], '_definitions.json');
  const response = Readable.from([fs.readFileSync(file)]);
  response.statusCode = 200;
  process.nextTick(() => callback(response));
  return { once() {}, end() {} };
};
