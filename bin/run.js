#!/usr/bin/env node
// The bundle when it was built (npm run build), else oclif over dist/: see src/cli-loader.ts.
import { runCli } from '../dist/cli-loader.js'

await runCli(import.meta.url)
