#!/usr/bin/env node
// The bundle when it was built (npm run build), else oclif over dist/: see src/cli-loader.ts.
import { runCli } from '../dist/cli-loader.js'

// Users read forrest's own messages; Node's deprecation notices about dependencies (grpc-js sets
// an IP address as the TLS server name for https://IP:port etcd endpoints) are noise in CI logs.
process.noDeprecation = true
await runCli(import.meta.url)
