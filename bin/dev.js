#!/usr/bin/env node
// Runs the TypeScript sources without a build step (needs tsx: npx tsx bin/dev.js ...).
import { execute } from '@oclif/core'

await execute({ development: true, dir: import.meta.url })
