// Bundles the CLI into dist/forrest.cjs (part of npm run build): one file instead of ~1,500
// modules, so a command does not spend its start-up resolving and reading files; what commands
// import on use (etcd3, dockerode, zod, listr2) is still only evaluated on use. bin/run.js runs it
// through src/cli-loader.ts when it is there. Dependencies stay in package.json: this changes
// what is loaded, not what is installed. CommonJS rather than ESM with chunks: measured faster
// here, and it can be compiled with a V8 code cache on Node 20 (ES modules cannot).
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { build } from 'esbuild'

const require = createRequire(import.meta.url)
const out = 'dist/forrest.cjs'

/** Rewrites in dependencies that assume they are files in node_modules. */
const patch = (filter, from, to) => ({ filter, from, to })
const PATCHES = [
  // etcd3 parses its .proto files at load time, found through its __dirname; in the bundle
  // __dirname is dist/, where they are copied below.
  patch(/etcd3[\\/]lib[\\/]connection-pool\.js$/, '`${__dirname}/../proto/rpc.proto`', '`${__dirname}/etcd3-proto/rpc.proto`'),
  // docker-modem loads ssh2 (its crypto and protocol, ~40 ms) on start, for ssh:// engines only.
  patch(/docker-modem[\\/]lib[\\/]modem\.js$/, "ssh = require('./ssh'),", "ssh = (...a) => require('./ssh')(...a),"),
]
const patches = {
  name: 'forrest-patches',
  setup(b) {
    for (const p of PATCHES) {
      b.onLoad({ filter: p.filter }, (args) => {
        const src = readFileSync(args.path, 'utf8')
        if (!src.includes(p.from)) throw new Error(`${args.path} changed: update its patch in scripts/bundle.mjs`)
        return { contents: src.replace(p.from, p.to), loader: 'js' }
      })
    }
  },
}

const result = await build({
  entryPoints: ['src/cli.ts'],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Whitespace and syntax only: names stay, so --debug stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  legalComments: 'none',
  // ssh2's optional native parts (required in try/catch: missing means its JS fallback), and
  // typescript / ts-node, which oclif requires only in development mode.
  external: ['*.node', 'cpu-features', 'typescript', 'ts-node'],
  plugins: [patches],
  logLevel: 'warning',
})

const protoDir = join(dirname(require.resolve('etcd3/package.json')), 'proto')
mkdirSync('dist/etcd3-proto', { recursive: true })
for (const f of ['rpc.proto', 'kv.proto', 'auth.proto']) copyFileSync(join(protoDir, f), join('dist/etcd3-proto', f))
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0)
// On stderr: `npm pack --json` runs this (prepack) and its stdout must stay JSON.
console.error(`${out}: ${(bytes / 1e6).toFixed(2)} MB from ${Object.keys(result.metafile.inputs).length} modules`)
