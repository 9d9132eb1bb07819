#!/usr/bin/env node
// The shape of src/, measured from the code's own imports and calls (docs/architecture.md reads it):
// lines per room (folder), import cycles, files over 250 lines, where dockerode and etcd3 are
// imported, the layering rules test/unit/architecture.test.ts asserts, and "the deploy trip": the
// rooms a deploy passes through, in call order, from src/commands/deploy.ts.
//
//   node scripts/arch-map.mjs            the report
//   node scripts/arch-map.mjs --json     the same as JSON
//   node scripts/arch-map.mjs --no-trip  skip the trip (it needs the type checker: a few seconds)
//
// No dependency beyond the `typescript` devDependency; reads src/ and nothing else.
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const SRC = join(ROOT, 'src')
const args = new Set(process.argv.slice(2))

/**
 * Floors, highest first: a room may call and import the floors below it; a move to a higher floor
 * is a climb. commands > verbs > engine > plan/spec/report > adapters; the ground (errors, labels,
 * config, retry...) is used by every floor and left out of the trip. Today's src/rollout/ holds
 * verbs and engine together and sits on the engine floor; src/gateway/ is the gateway's own engine;
 * src/context.ts wires the adapters into the engine's context.
 */
export const FLOORS = [
  { floor: 5, name: 'commands', match: ['commands/', 'hooks/', 'base-command.ts', 'cli.ts', 'cli-loader.ts'] },
  { floor: 4, name: 'verbs', match: ['verbs/'] },
  { floor: 3, name: 'engine', match: ['engine/', 'rollout/', 'gateway/', 'context.ts'] },
  { floor: 2, name: 'plan/spec/report', match: ['plan/', 'spec/', 'report/'] },
  { floor: 1, name: 'adapters', match: ['docker/', 'registry/', 'image/', 'hosts/', 'health/', 'deploy-hooks/'] },
  { floor: 0, name: 'ground', match: ['errors.ts', 'labels.ts', 'config.ts', 'retry.ts', 'actor.ts', 'plain-table.ts', 'completion.ts', 'notices.ts'] },
]
/** Where each external library may be imported (type-only imports included). */
export const CONFINED = { dockerode: 'docker/', etcd3: 'registry/' }
/** Folders that must not import adapters (the planner is pure). */
export const PURE = ['plan/']
const ADAPTER_ROOMS = FLOORS.find((f) => f.name === 'adapters').match

export function floorOf(file) {
  for (const f of FLOORS) if (f.match.some((m) => (m.endsWith('/') ? file.startsWith(m) : file === m))) return f
  return { floor: -1, name: '?' }
}
/** A room: the folder under src/, or the file itself for files at the top of src/. */
export const roomOf = (file) => (file.includes('/') ? file.slice(0, file.indexOf('/') + 1) : file)

function listTs(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...listTs(p))
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p)
  }
  return out.sort()
}
const rel = (abs) => relative(SRC, abs).split(sep).join('/')

/** Every import of a file: static, re-export and import(), with whether it is type-only. */
function importsOf(abs) {
  const text = readFileSync(abs, 'utf8')
  const sf = ts.createSourceFile(abs, text, ts.ScriptTarget.Latest, true)
  const found = []
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const c = node.importClause
      const typeOnly = Boolean(c && (c.isTypeOnly || (!c.name && c.namedBindings && ts.isNamedImports(c.namedBindings) && c.namedBindings.elements.length > 0 && c.namedBindings.elements.every((e) => e.isTypeOnly))))
      found.push({ spec: node.moduleSpecifier.text, typeOnly, dynamic: false })
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.push({ spec: node.moduleSpecifier.text, typeOnly: node.isTypeOnly, dynamic: false })
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments[0] && ts.isStringLiteralLike(node.arguments[0])) {
      found.push({ spec: node.arguments[0].text, typeOnly: false, dynamic: true })
    }
    ts.forEachChild(node, visit)
  }
  visit(sf)
  return { lines: text.split('\n').length - (text.endsWith('\n') ? 1 : 0), imports: found }
}

function resolveRelative(fromAbs, spec) {
  const base = resolve(dirname(fromAbs), spec)
  for (const c of [base.replace(/\.js$/, '.ts'), base + '.ts', join(base, 'index.ts')]) if (existsSync(c)) return c
  return undefined
}

/** The import graph of src/: files, their lines, edges (internal) and external packages. */
export function graph() {
  const files = listTs(SRC)
  const nodes = new Map()
  for (const abs of files) {
    const { lines, imports } = importsOf(abs)
    const edges = []
    const external = []
    for (const i of imports) {
      if (i.spec.startsWith('.')) {
        const to = resolveRelative(abs, i.spec)
        if (to) edges.push({ to: rel(to), typeOnly: i.typeOnly, dynamic: i.dynamic })
      } else {
        const pkg = i.spec.startsWith('@') ? i.spec.split('/').slice(0, 2).join('/') : i.spec.split('/')[0]
        external.push({ pkg, typeOnly: i.typeOnly, dynamic: i.dynamic })
      }
    }
    nodes.set(rel(abs), { lines, edges, external })
  }
  return nodes
}

/** Strongly connected components of more than one file (or a file importing itself): the cycles. */
export function cycles(nodes) {
  let index = 0
  const idx = new Map()
  const low = new Map()
  const stack = []
  const on = new Set()
  const out = []
  const strong = (v) => {
    idx.set(v, index)
    low.set(v, index++)
    stack.push(v)
    on.add(v)
    for (const { to } of nodes.get(v).edges) {
      if (!idx.has(to)) {
        strong(to)
        low.set(v, Math.min(low.get(v), low.get(to)))
      } else if (on.has(to)) low.set(v, Math.min(low.get(v), idx.get(to)))
    }
    if (low.get(v) === idx.get(v)) {
      const scc = []
      let w
      do {
        w = stack.pop()
        on.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1 || nodes.get(v).edges.some((e) => e.to === v)) out.push(scc.sort())
    }
  }
  for (const v of nodes.keys()) if (!idx.has(v)) strong(v)
  return out.map((files) => ({
    files,
    edges: files.flatMap((f) => nodes.get(f).edges.filter((e) => files.includes(e.to)).map((e) => `${f} → ${e.to}${e.typeOnly ? ' (type)' : ''}${e.dynamic ? ' (import())' : ''}`)),
  }))
}

/** The rules of the house (test/unit/architecture.test.ts asserts each is empty). */
export function violations(nodes) {
  const confinement = []
  for (const [file, n] of nodes) {
    for (const e of n.external) {
      const home = CONFINED[e.pkg]
      if (home && !file.startsWith(home)) confinement.push(`${file} imports ${e.pkg}${e.typeOnly ? ' (type only)' : ''}${e.dynamic ? ' (import())' : ''}; only src/${home} may`)
    }
  }
  const impurePlanner = []
  for (const [file, n] of nodes) {
    if (!PURE.some((p) => file.startsWith(p))) continue
    for (const e of n.edges) if (ADAPTER_ROOMS.some((a) => e.to.startsWith(a))) impurePlanner.push(`${file} imports ${e.to}`)
    for (const e of n.external) if (CONFINED[e.pkg]) impurePlanner.push(`${file} imports ${e.pkg}`)
  }
  // A verb is src/verbs/<name>.ts; src/verbs/<name>-<part>.ts are its own parts. A verb (or a
  // part) may import its own parts, never another verb or another verb's parts.
  const verbOf = (file) => file.slice('verbs/'.length).replace(/\.ts$/, '').split('-')[0]
  const verbToVerb = []
  for (const [file, n] of nodes) {
    if (!file.startsWith('verbs/')) continue
    for (const e of n.edges) if (e.to.startsWith('verbs/') && verbOf(e.to) !== verbOf(file)) verbToVerb.push(`${file} imports ${e.to}${e.typeOnly ? ' (type only)' : ''}`)
  }
  // Informational: imports that run up a floor (a lower floor importing a higher one).
  const upward = []
  for (const [file, n] of nodes) {
    const f = floorOf(file).floor
    for (const e of n.edges) {
      const t = floorOf(e.to).floor
      if (f >= 0 && t > f) upward.push(`${file} (${floorOf(file).name}) → ${e.to} (${floorOf(e.to).name})${e.typeOnly ? ' (type)' : ''}`)
    }
  }
  return { cycles: cycles(nodes), confinement, impurePlanner, verbToVerb, upward }
}

export function rooms(nodes) {
  const total = [...nodes.values()].reduce((s, n) => s + n.lines, 0)
  const by = new Map()
  for (const [file, n] of nodes) {
    const r = roomOf(file)
    const e = by.get(r) ?? { room: r, files: 0, lines: 0, floor: floorOf(file).name }
    e.files++
    e.lines += n.lines
    by.set(r, e)
  }
  const list = [...by.values()].sort((a, b) => b.lines - a.lines).map((r) => ({ ...r, share: Math.round((1000 * r.lines) / total) / 10 }))
  return { total, rooms: list }
}

/**
 * The deploy trip: from Deploy.run in src/commands/deploy.ts, every call (and `new`) that the type
 * checker resolves to a function in src/ is followed into its body, in source order, each function
 * body once (a second call enters and leaves). The trip is the sequence of files control is in,
 * returns included; calls into the ground floor are left out. Rooms entered = moves from one room
 * to another; climbs = moves to a higher floor (a return from a lower floor, or a call upward).
 */
export function deployTrip({ entry = 'commands/deploy.ts', traceFrom = 0 } = {}) {
  const program = ts.createProgram(listTs(SRC), { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, skipLibCheck: true, noEmit: true })
  const checker = program.getTypeChecker()
  const fileOf = (node) => {
    const f = node.getSourceFile().fileName
    return f.startsWith(SRC + '/') || f.startsWith(SRC + sep) ? rel(f) : undefined
  }
  const trip = []
  const at = (file) => {
    if (trip[trip.length - 1] !== file) trip.push(file)
  }
  const traced = new Set()
  const targetOf = (call) => {
    let decl
    try {
      decl = checker.getResolvedSignature(call)?.getDeclaration()
    } catch {
      decl = undefined
    }
    if (decl && decl.kind !== ts.SyntaxKind.JSDocSignature) return decl
    let sym = checker.getSymbolAtLocation(call.expression)
    if (sym && sym.flags & ts.SymbolFlags.Alias) sym = checker.getAliasedSymbol(sym)
    return sym?.valueDeclaration ?? sym?.declarations?.[0]
  }
  const bodyOf = (decl) => {
    if (ts.isClassDeclaration(decl) || ts.isClassExpression(decl)) return decl.members.find((m) => ts.isConstructorDeclaration(m))?.body
    if (ts.isVariableDeclaration(decl) && decl.initializer && (ts.isArrowFunction(decl.initializer) || ts.isFunctionExpression(decl.initializer))) return decl.initializer.body
    return decl.body
  }
  const isFn = (n) => ts.isArrowFunction(n) || ts.isFunctionExpression(n)
  const walk = (node, here) => {
    if (!ts.isCallExpression(node) && !ts.isNewExpression(node)) return ts.forEachChild(node, (child) => walk(child, here))
    // The callee and plain arguments are evaluated first; callbacks run inside the call, so they
    // are walked after it is entered.
    walk(node.expression, here)
    const argv = node.arguments ?? []
    for (const a of argv) if (!isFn(a)) walk(a, here)
    const decl = node.expression.kind === ts.SyntaxKind.ImportKeyword ? undefined : targetOf(node)
    const there = decl && fileOf(decl)
    const counted = there && floorOf(there).floor !== 0
    if (counted) {
      at(there)
      const body = bodyOf(decl)
      if (body && !traced.has(decl) && floorOf(there).floor >= traceFrom) {
        traced.add(decl)
        walk(body, there)
      }
    }
    for (const a of argv) if (isFn(a)) walk(a.body, here)
    if (counted) at(here)
  }
  const sf = program.getSourceFile(join(SRC, entry))
  let run
  const find = (n) => {
    if (!run && ts.isMethodDeclaration(n) && n.name.getText() === 'run') run = n
    ts.forEachChild(n, find)
  }
  find(sf)
  at(entry)
  walk(run.body, entry)
  const roomTrip = trip.map(roomOf).filter((r, i, a) => i === 0 || a[i - 1] !== r)
  let climbs = 0
  for (let i = 1; i < roomTrip.length; i++) if (floorOf(roomFile(roomTrip[i])).floor > floorOf(roomFile(roomTrip[i - 1])).floor) climbs++
  const entries = new Map()
  for (const f of trip.slice(1)) entries.set(f, (entries.get(f) ?? 0) + 1)
  const roomEntries = new Map()
  for (const r of roomTrip.slice(1)) roomEntries.set(r, (roomEntries.get(r) ?? 0) + 1)
  return {
    entry,
    roomsEntered: roomTrip.length - 1,
    distinctRooms: new Set(roomTrip).size,
    climbs,
    files: trip.length,
    mostEnteredFiles: [...entries].sort((a, b) => b[1] - a[1]).slice(0, 6),
    roomEntries: [...roomEntries].sort((a, b) => b[1] - a[1]),
    rooms: roomTrip,
  }
}
const roomFile = (room) => (room.endsWith('/') ? room + 'x.ts' : room)

function main() {
  const nodes = graph()
  const r = rooms(nodes)
  const v = violations(nodes)
  const big = [...nodes].filter(([, n]) => n.lines > 250).map(([file, n]) => ({ file, lines: n.lines })).sort((a, b) => b.lines - a.lines)
  const trip = args.has('--no-trip') ? undefined : deployTrip({ traceFrom: 3 })
  const fine = args.has('--no-trip') ? undefined : deployTrip({ traceFrom: 0 })
  if (args.has('--json')) {
    process.stdout.write(JSON.stringify({ ...r, over250: big, ...v, trip, fineTrip: fine }, null, 2) + '\n')
    return
  }
  const line = (s = '') => process.stdout.write(s + '\n')
  line(`src/: ${r.total} lines in ${nodes.size} files, ${r.rooms.length} rooms; the biggest room holds ${r.rooms[0].share}%`)
  line()
  line('room                 floor              files  lines  share')
  for (const x of r.rooms) line(`${x.room.padEnd(20)} ${x.floor.padEnd(18)} ${String(x.files).padStart(5)} ${String(x.lines).padStart(6)} ${String(x.share).padStart(5)}%`)
  line()
  line(`files over 250 lines: ${big.length ? big.map((b) => `${b.file} (${b.lines})`).join(', ') : 'none'}`)
  const homeless = [...nodes.keys()].filter((f) => floorOf(f).floor < 0)
  if (homeless.length) line(`on no floor (add them to FLOORS in scripts/arch-map.mjs): ${homeless.join(', ')}`)
  line()
  const list = (title, items) => {
    line(`${title}: ${items.length ? '' : 'none'}`)
    for (const i of items) line(`  ${typeof i === 'string' ? i : i.edges.join('; ')}`)
  }
  list('import cycles', v.cycles)
  list('dockerode/etcd3 outside their adapter', v.confinement)
  list('planner (src/plan) importing adapters', v.impurePlanner)
  list('a verb importing another verb', v.verbToVerb)
  list('imports running up a floor (informational)', v.upward)
  const show = (title, t, path) => {
    line()
    line(`${title} from src/${t.entry}: ${t.roomsEntered} rooms entered (${t.distinctRooms} distinct), ${t.climbs} climbs back up a floor, ${t.files} file stops`)
    line(`  most entered files: ${t.mostEnteredFiles.map(([f, n]) => `${f} ×${n}`).join(', ')}`)
    line(`  rooms by entries: ${t.roomEntries.map(([f, n]) => `${f} ×${n}`).join(', ')}`)
    if (path) line(`  path: ${t.rooms.join(' → ')}`)
  }
  if (trip) show('the deploy trip (bodies followed on the commands/verbs/engine floors; a call below is one stop)', trip, true)
  if (fine) show('the deploy trip, every call (bodies followed on every floor)', fine, args.has('--fine-path'))
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
