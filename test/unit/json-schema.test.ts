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

  it('refuses in the editor what the validator refuses, where a pattern can say it', () => {
    const schema = deploymentJsonSchema() as { properties: Record<string, { pattern?: string; propertyNames?: { pattern: string }; properties?: Record<string, { pattern?: string; anyOf?: Array<{ pattern?: string }> }> }> }
    const matches = (pattern: string | undefined, value: string) => new RegExp(pattern ?? '').test(value)
    const { image, env, health, update } = schema.properties
    expect(['nginx:', 'demo/MyApp:1', 'https://r.example.com/a:1', 'r.example.com/a:${TAG}'].filter((ref) => matches(image?.pattern, ref))).toEqual([])
    expect(matches(image?.pattern, 'registry.example.com:5000/team/api:1')).toBe(true)
    expect(['DB HOST', '', 'A=B'].filter((name) => matches(env?.propertyNames?.pattern, name))).toEqual([])
    expect(matches(health?.properties?.timeout?.pattern, '0s')).toBe(false)
    expect(matches(health?.properties?.timeout?.pattern, '1s')).toBe(true)
    const percent = update?.properties?.maxSurge?.anyOf?.find((option) => option.pattern)?.pattern
    expect(['100%', '0%', '25%'].every((p) => matches(percent, p))).toBe(true)
    expect(matches(percent, '101%')).toBe(false)
  })
})
