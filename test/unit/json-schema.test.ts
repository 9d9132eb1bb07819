import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { deploymentJsonSchema, deploymentJsonSchemaText } from '../../src/spec/index.js'

describe('schema/deployment.schema.json', () => {
  it('is up to date with the zod schema (regenerate: npm run build && npm run schema)', () => {
    expect(readFileSync('schema/deployment.schema.json', 'utf8')).toBe(deploymentJsonSchemaText())
  })

  it('describes what users write: strict objects, duration strings, required name and image', () => {
    const schema = deploymentJsonSchema() as {
      title: string
      required: string[]
      additionalProperties: boolean
      properties: Record<string, { properties?: Record<string, { type?: string; default?: unknown }>; additionalProperties?: boolean }>
    }
    expect(schema.title).toBe('forrest deployment')
    expect(schema.required).toEqual(['name', 'image'])
    expect(schema.additionalProperties).toBe(false)
    expect(schema.properties.update?.additionalProperties).toBe(false)
    expect(schema.properties.update?.properties?.drain).toMatchObject({ type: 'string', default: '5s' })
  })
})
