#!/usr/bin/env node
import { execute } from '@oclif/core'

// Users read forrest's own messages; Node's deprecation notices about dependencies (grpc-js sets
// an IP address as the TLS server name for https://IP:port etcd endpoints) are noise in CI logs.
process.noDeprecation = true
await execute({ dir: import.meta.url })
