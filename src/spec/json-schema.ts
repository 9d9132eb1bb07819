/**
 * The published JSON Schema for deployment YAML (schema/deployment.schema.json), generated
 * from the zod schema so the two cannot disagree. Editors pick it up through the
 * "# yaml-language-server: $schema=..." comment. A unit test fails when the committed file is stale;
 * regenerate it with `npm run build && npm run schema`.
 */
import { z } from 'zod'
import { deploymentSchema } from './schema.js'


export function deploymentJsonSchema(): Record<string, unknown> {
  // io 'input': describe what users write (duration strings, defaults as written), not the parsed output.
  const generated = z.toJSONSchema(deploymentSchema, { io: 'input', target: 'draft-7', unrepresentable: 'any' }) as Record<string, unknown>
  const { $schema, ...rest } = generated
  // `hosts: inventory` is replaced by the inventory's hosts before validation (load.ts): the zod schema never sees it.
  const props = rest.properties as Record<string, Record<string, unknown>>
  const { description, ...list } = props.hosts!
  props.hosts = { description: `${description} Or "inventory": the hosts of the shared inventory (forrest.hosts.yml beside the file, --inventory or FORREST_INVENTORY).`, anyOf: [list, { const: 'inventory' }] }
  return {
    $schema,
    title: 'forrest deployment',
    description: 'One app deployed by forrest: image, replicas, health check and rolling update strategy.',
    ...rest,
  }
}

/** The file's exact text: two-space JSON and a trailing newline. */
export function deploymentJsonSchemaText(): string {
  return `${JSON.stringify(deploymentJsonSchema(), null, 2)}\n`
}
