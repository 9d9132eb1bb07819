import { describe, expect, it } from 'vitest'
import { IMAGE_REFERENCE_PATTERN, imageReferenceProblem } from '../../src/spec/image-reference.js'

const SHA256 = '0123456789abcdef'.repeat(4)

describe('imageReferenceProblem: what Docker accepts', () => {
  it.each([
    'nginx',
    'nginx:1.27',
    'nginx:latest',
    'demo/myapp:1',
    'library/nginx:1.27-alpine',
    'ghcr.io/org/app:v1.2.3-rc.1',
    'registry.example.com:5000/team/api:1',
    'localhost:5000/app',
    'localhost/app:1',
    '[::1]:5000/app:1',
    '10.0.0.5:5000/app',
    'a/b/c/d',
    'my_app',
    'my__app',
    'my-app',
    'my---app',
    'a.b',
    'Registry.Example.com/team/app', // upper case is allowed in the registry host
    `registry.example.com/team/api@sha256:${SHA256}`,
    `nginx:1.27@sha256:${SHA256}`,
    SHA256, // an image ID: forrest inspects the image locally, where Docker accepts IDs
    `sha256:${SHA256}`,
    `x:${'t'.repeat(128)}`,
  ])('accepts %s', (ref) => {
    expect(imageReferenceProblem(ref)).toBeUndefined()
    expect(new RegExp(IMAGE_REFERENCE_PATTERN).test(ref)).toBe(true)
  })
})

describe('imageReferenceProblem: what Docker rejects, with a hint', () => {
  it.each([
    ['', 'it is empty'],
    ['nginx:', 'it ends with ":"; add a tag (nginx:1.27) or remove the colon'],
    ['demo/MyApp:1', 'repository names are lowercase; write demo/myapp:1'],
    ['MyApp', 'repository names are lowercase; write myapp'],
    ['registry.example.com/Team/App@sha256:' + SHA256, 'repository names are lowercase; write registry.example.com/team/app@sha256:'],
    ['https://registry.example.com/team/api:1', 'drop "https://"; write registry.example.com/team/api:1'],
    ['docker://nginx', 'drop "docker://"; write nginx'],
    ['registry.example.com/api:${TAG}', '${TAG} is not expanded'],
    ['$IMAGE', '$IMAGE is not expanded'],
    ['nginx 1.27', 'it contains whitespace'],
    [' nginx', 'it contains whitespace'],
    ['nginx@', 'a digest is sha256: followed by 64 lowercase hex digits'],
    ['nginx@sha256:abc', 'a digest is sha256: followed by 64 lowercase hex digits'],
    [`nginx@sha256:${SHA256.toUpperCase()}`, 'a digest is sha256: followed by 64 lowercase hex digits'],
    [`nginx@md5:${SHA256}`, 'a digest is sha256: followed by 64 lowercase hex digits'],
    ['nginx:-1', 'a tag is at most 128 letters, digits, "_", "." and "-"'],
    ['nginx:1.2+3', 'a tag is at most 128 letters, digits, "_", "." and "-"'],
    [`x:${'t'.repeat(129)}`, 'a tag is at most 128 letters, digits, "_", "." and "-"'],
    ['/nginx', 'path components are lowercase letters and digits'],
    ['nginx/', 'path components are lowercase letters and digits'],
    ['team//app', 'path components are lowercase letters and digits'],
    ['-app', 'path components are lowercase letters and digits'],
    ['my___app', 'path components are lowercase letters and digits'],
    ['my..app', 'path components are lowercase letters and digits'],
    [`registry.example.com/${'a'.repeat(250)}`, 'the name is longer than 255 characters'],
    ['x'.repeat(2000), 'it is longer than'],
  ])('rejects %j', (ref, hint) => {
    const problem = imageReferenceProblem(ref)
    expect(problem).toContain(hint)
    expect(problem).toMatch(/^invalid image reference\b/)
    // The published pattern (JSON Schema) agrees, except on lengths it cannot express.
    if (!hint.includes('longer than')) expect(new RegExp(IMAGE_REFERENCE_PATTERN).test(ref)).toBe(false)
  })

  it('checks a long reference quickly (the grammar is applied to bounded input)', () => {
    const started = performance.now()
    imageReferenceProblem(`${'a-'.repeat(100_000)}!`)
    expect(performance.now() - started).toBeLessThan(100)
  })
})
