#!/usr/bin/env node
// Writes schema/deployment.schema.json from the zod schema (via the compiled dist/).
// Run `npm run build` first; test/unit/json-schema.test.ts fails when the file is stale.
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { deploymentJsonSchemaText } from '../dist/spec/json-schema.js'

const target = fileURLToPath(new URL('../schema/deployment.schema.json', import.meta.url))
writeFileSync(target, deploymentJsonSchemaText())
console.log(`wrote ${target}`)
