// Bundling shim: the mongodb driver parses connection strings through `whatwg-url`, a
// userland WHATWG URL implementation whose Unicode tables (tr46) are ~280 KB of every
// bundle. Node's built-in URL implements the same standard, so bundles use it instead
// (serverless.yml and bench/lib/bundle.ts alias `whatwg-url` to this file).
module.exports = { URL: globalThis.URL, URLSearchParams: globalThis.URLSearchParams };
