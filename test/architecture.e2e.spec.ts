import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'generated' ? [] : files(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The top-level folder under src/ a file belongs to ('.' for src/ itself). */
const folderOf = (path: string) => {
  const parts = relative(SRC, path).split('/');
  return parts.length > 1 ? parts[0] : '.';
};

/** A file of src/ parsed once: its path from the repository root, its syntax tree and its relative imports. */
interface SourceFile {
  path: string;
  abs: string;
  tree: ts.SourceFile;
  /** Absolute paths (as written, `.js` kept) of the src/ modules it imports, type-only imports included. */
  imports: { target: string; names: string[] }[];
}

function parse(abs: string, text = readFileSync(abs, 'utf8')): SourceFile {
  const tree = ts.createSourceFile(abs, text, ts.ScriptTarget.Latest, true);
  const imports: SourceFile['imports'] = [];
  const add = (specifier: ts.Expression | undefined, names: string[]) => {
    if (specifier && ts.isStringLiteral(specifier) && specifier.text.startsWith('.')) {
      imports.push({ target: normalize(join(dirname(abs), specifier.text)), names });
    }
  };
  const visit = (node: ts.Node) => {
    if (ts.isImportDeclaration(node)) {
      const bindings = node.importClause?.namedBindings;
      const names = bindings && ts.isNamedImports(bindings) ? bindings.elements.map((e) => e.name.text) : [];
      if (node.importClause?.name) names.push(node.importClause.name.text);
      add(node.moduleSpecifier, names);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, []);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node.arguments[0], []);
    }
    ts.forEachChild(node, visit);
  };
  visit(tree);
  return { path: relative(ROOT, abs), abs, tree, imports };
}

const SOURCES = files(SRC).map((abs) => parse(abs));

/** folder -> folders it imports from */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of SOURCES) {
    const from = folderOf(file.abs);
    for (const { target } of file.imports) {
      const to = folderOf(target);
      if (to === from) continue;
      if (!graph.has(from)) graph.set(from, new Set());
      graph.get(from)!.add(to);
    }
  }
  return graph;
}

/** The strongly connected components of more than one folder (Tarjan): each is an import cycle. */
function cycles(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const connect = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) connect(v);
  return found;
}

/**
 * Rights are compared in src/access/ only: its policy (`mayCall`, `maySee`, `mayRevoke`, `mayChange`,
 * `grantWithin`, ...) is what every other folder calls. Outside it, a file that compares rights itself
 * does one of these, each found in the syntax tree (comments and strings never count):
 * - calls one of the low-level comparisons the policy is built from, `grants`, `grantsAll`, `inScope`
 *   or `scopeWithin` (under whatever local name it was imported as);
 * - tests membership in a permission list or a project scope by hand: `.includes`, `.indexOf`, `.some`,
 *   `.every` or `.has` called on an expression that ends in `.permissions` or `.projects`
 *   (e.g. `caller.projects.includes(id)`), or builds a `new Set(x.permissions)` / `new Set(x.projects)`.
 * Reading those lists (`.length`, `.filter` to build a query, `.map`, spreading) is not a comparison.
 */
const COMPARISONS = new Set(['grants', 'grantsAll', 'inScope', 'scopeWithin']);
const MEMBERSHIP = new Set(['includes', 'indexOf', 'some', 'every', 'has']);
const RIGHTS_LISTS = new Set(['permissions', 'projects']);

const isAccess = (abs: string) => folderOf(abs) === 'access';
/** `permissions` or `projects` when the expression ends in that property (`x.projects`, `x.projects!`), else undefined. */
const rightsList = (node: ts.Expression): string | undefined => {
  while (ts.isNonNullExpression(node) || ts.isParenthesizedExpression(node)) node = node.expression;
  return ts.isPropertyAccessExpression(node) && RIGHTS_LISTS.has(node.name.text) ? node.name.text : undefined;
};

/** `path: what` for each place outside src/access/ that compares rights itself. */
function rightsComparisons(sources = SOURCES): string[] {
  const found: string[] = [];
  for (const file of sources) {
    // Unit specs next to the code may compare rights to check the code.
    if (isAccess(file.abs) || file.path.endsWith('.spec.ts')) continue;
    // Local names bound to the low-level comparisons of src/access/ (aliases included).
    const local = new Map<string, string>();
    for (const node of file.tree.statements) {
      if (!ts.isImportDeclaration(node) || !ts.isStringLiteral(node.moduleSpecifier)) continue;
      if (!isAccess(normalize(join(dirname(file.abs), node.moduleSpecifier.text)))) continue;
      const bindings = node.importClause?.namedBindings;
      if (!bindings || !ts.isNamedImports(bindings)) continue;
      for (const e of bindings.elements) {
        const imported = (e.propertyName ?? e.name).text;
        if (COMPARISONS.has(imported)) local.set(e.name.text, imported);
      }
    }
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        if (ts.isIdentifier(callee) && local.has(callee.text)) found.push(`${file.path}: ${local.get(callee.text)}()`);
        const list = ts.isPropertyAccessExpression(callee) ? rightsList(callee.expression) : undefined;
        if (list && MEMBERSHIP.has((callee as ts.PropertyAccessExpression).name.text)) {
          found.push(`${file.path}: .${list}.${(callee as ts.PropertyAccessExpression).name.text}()`);
        }
      }
      if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'Set') {
        const list = node.arguments?.[0] && rightsList(node.arguments[0]);
        if (list) found.push(`${file.path}: new Set(.${list})`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file.tree);
  }
  return [...new Set(found)].sort();
}

/** Files named `*.controller.ts` and the repositories (`*.repository.ts` or `…Repository`) each imports. */
function controllersImportingRepositories(): string[] {
  const found: string[] = [];
  for (const file of SOURCES) {
    if (!file.path.endsWith('.controller.ts')) continue;
    for (const { target, names } of file.imports) {
      const repository = /\.repository(\.js)?$/.test(target) || names.some((n) => /Repository$/.test(n));
      if (repository) found.push(`${file.path} -> ${relative(ROOT, target)}`);
    }
  }
  return found;
}

/**
 * The verification cache is emptied in one place: the change listener. Outside it, no file calls
 * `.invalidate(…)` or `.clear(…)` on a TokenCache: on a name bound to one (a constructor parameter,
 * property or variable typed `TokenCache`, under whatever local name it was imported as, or a variable
 * set from `x.get(TokenCache)`), or straight on `x.get(TokenCache)`. Unit specs next to the code (which
 * test the cache itself) do not count.
 */
const CACHE_OWNER = 'src/verification/token-events.service.ts';
const CACHE_DROPS = new Set(['invalidate', 'clear']);

/** `path: name.method()` for each call that drops cached verification results. */
function cacheDrops(sources = SOURCES): string[] {
  const found: string[] = [];
  for (const file of sources) {
    if (file.path.endsWith('.spec.ts')) continue;
    // Local names of the TokenCache class (aliases included).
    const classNames = new Set<string>();
    for (const node of file.tree.statements) {
      if (ts.isClassDeclaration(node) && node.name?.text === 'TokenCache') classNames.add('TokenCache');
      if (!ts.isImportDeclaration(node) || !ts.isStringLiteral(node.moduleSpecifier)) continue;
      if (!/token-cache\.service(\.js)?$/.test(node.moduleSpecifier.text)) continue;
      const bindings = node.importClause?.namedBindings;
      if (!bindings || !ts.isNamedImports(bindings)) continue;
      for (const e of bindings.elements)
        if ((e.propertyName ?? e.name).text === 'TokenCache') classNames.add(e.name.text);
    }
    if (!classNames.size) continue;
    const isCacheClass = (n: ts.Node | undefined) => !!n && ts.isIdentifier(n) && classNames.has(n.text);
    const isGetOfCache = (n: ts.Node | undefined): boolean =>
      !!n && ts.isCallExpression(n) && n.arguments.length === 1 && isCacheClass(n.arguments[0]);
    // Names bound to a TokenCache instance.
    const bound = new Set<string>();
    const collect = (node: ts.Node) => {
      if (
        (ts.isParameter(node) || ts.isPropertyDeclaration(node) || ts.isVariableDeclaration(node)) &&
        ts.isIdentifier(node.name)
      ) {
        const type = node.type;
        const typed = !!type && ts.isTypeReferenceNode(type) && isCacheClass(type.typeName);
        const fromGet = !ts.isParameter(node) && isGetOfCache(node.initializer);
        if (typed || fromGet) bound.add(node.name.text);
      }
      ts.forEachChild(node, collect);
    };
    collect(file.tree);
    const visit = (node: ts.Node) => {
      if (ts.isCallExpression(node)) {
        const callee = node.expression;
        if (ts.isPropertyAccessExpression(callee) && CACHE_DROPS.has(callee.name.text)) {
          let receiver: ts.Expression = callee.expression;
          while (ts.isNonNullExpression(receiver) || ts.isParenthesizedExpression(receiver))
            receiver = receiver.expression;
          const name = ts.isIdentifier(receiver)
            ? receiver.text
            : ts.isPropertyAccessExpression(receiver)
              ? receiver.name.text
              : undefined;
          if ((name !== undefined && bound.has(name)) || isGetOfCache(receiver)) {
            found.push(`${file.path}: ${name ?? 'get(TokenCache)'}.${callee.name.text}()`);
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(file.tree);
  }
  return [...new Set(found)].sort();
}

/** `path: @Global()` for each module declared global, by decorator (under any local name) or `global: true`. */
function globalModules(sources = SOURCES): string[] {
  const found: string[] = [];
  for (const file of sources) {
    const names = new Set<string>();
    for (const node of file.tree.statements) {
      if (!ts.isImportDeclaration(node) || !ts.isStringLiteral(node.moduleSpecifier)) continue;
      if (node.moduleSpecifier.text !== '@nestjs/common') continue;
      const bindings = node.importClause?.namedBindings;
      if (bindings && ts.isNamedImports(bindings)) {
        for (const el of bindings.elements) if ((el.propertyName ?? el.name).text === 'Global') names.add(el.name.text);
      }
    }
    const visit = (node: ts.Node): void => {
      if (ts.isDecorator(node) && ts.isCallExpression(node.expression)) {
        const callee = node.expression.expression;
        if (ts.isIdentifier(callee) && names.has(callee.text)) found.push(`${file.path}: @Global()`);
      }
      if (
        ts.isPropertyAssignment(node) &&
        ts.isIdentifier(node.name) &&
        node.name.text === 'global' &&
        node.initializer.kind === ts.SyntaxKind.TrueKeyword
      ) {
        found.push(`${file.path}: global: true`);
      }
      ts.forEachChild(node, visit);
    };
    visit(file.tree);
  }
  return found.sort();
}

describe('layout', () => {
  const graph = importGraph();

  it('the folders of src/ import each other one way: no import cycle, of any length', () => {
    expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('finds a cycle of three folders (the check itself)', () => {
    const sample = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    expect(cycles(sample)).toEqual([['a', 'b', 'c']]);
  });

  it('the rights vocabulary (src/access) depends on nothing but shared code', () => {
    expect([...(graph.get('access') ?? [])].filter((d) => d !== 'common')).toEqual([]);
  });

  it('token storage does not depend on authentication', () => {
    expect(graph.get('tokens')?.has('auth') ?? false).toBe(false);
  });

  it('the verification engine depends on no feature (tokens, projects) nor on the guard', () => {
    const features = ['tokens', 'projects', 'auth', 'metrics', 'health', 'cli'];
    expect([...(graph.get('verification') ?? [])].filter((d) => features.includes(d))).toEqual([]);
  });

  it('src/auth holds the guard only', () => {
    expect(readdirSync(join(SRC, 'auth')).sort()).toEqual(['auth.guard.ts', 'auth.module.ts']);
  });

  it('controllers do not import repositories: they call services', () => {
    expect(controllersImportingRepositories()).toEqual([]);
  });

  it('rights are compared only in src/access/: everywhere else through its named rules', () => {
    expect(rightsComparisons()).toEqual([]);
  });

  it('tells a comparison of rights from a mere reading of them (the check itself)', () => {
    const sample = parse(
      join(SRC, 'sample', 'sample.service.ts'),
      `import { grants as holds, normalizePermissions } from '../access/permissions.js';
       import { scopeWithin } from '../access/scope.js';
       // caller.projects.includes(id) in a comment does not count, nor does it in a 'caller.projects.includes(id)' string
       export const a = (c: any, t: any) => holds(c.permissions, 'read:all') && scopeWithin(t.projects, c.projects);
       export const b = (c: any, id: string) => c.projects!.includes(id) || c.token.permissions.some((p: string) => p === id);
       export const d = (c: any) => new Set(c.permissions);
       export const e = (c: any) => [c.projects.length, c.projects.filter(Boolean), normalizePermissions(c.permissions)];`,
    );
    expect(rightsComparisons([sample])).toEqual([
      'src/sample/sample.service.ts: .permissions.some()',
      'src/sample/sample.service.ts: .projects.includes()',
      'src/sample/sample.service.ts: grants()',
      'src/sample/sample.service.ts: new Set(.permissions)',
      'src/sample/sample.service.ts: scopeWithin()',
    ]);
  });

  it('no module is global: each imports the modules whose providers it uses', () => {
    expect(globalModules()).toEqual([]);
  });

  it('finds a global module, by decorator or dynamic module (the check itself)', () => {
    const sample = parse(
      join(SRC, 'sample', 'sample.module.ts'),
      `import { Global as Everywhere, Module } from '@nestjs/common';
       // @Global() in a comment does not count
       @Everywhere() @Module({}) export class SampleModule {
         static forRoot() { return { module: SampleModule, global: true }; }
       }`,
    );
    expect(globalModules([sample])).toEqual([
      'src/sample/sample.module.ts: @Global()',
      'src/sample/sample.module.ts: global: true',
    ]);
  });

  it('only the change listener drops cached verification results (TokenCache.invalidate / clear)', () => {
    const found = cacheDrops();
    expect(found.filter((f) => !f.startsWith(`${CACHE_OWNER}: `))).toEqual([]);
    // The listener does (the check finds what it looks for).
    expect(found.filter((f) => f.startsWith(`${CACHE_OWNER}: `)).length).toBeGreaterThan(0);
  });

  it('finds a cache drop under any binding, and not other invalidate/clear calls (the check itself)', () => {
    const sample = parse(
      join(SRC, 'sample', 'sample.repository.ts'),
      `import { TokenCache as Verdicts } from '../verification/token-cache.service.js';
       export class SampleRepository {
         private readonly seen = new Map<string, string>();
         constructor(private readonly verdicts: Verdicts, private readonly app: any) {}
         // this.verdicts.invalidate(id) in a comment does not count
         revoke(id: string) { this.verdicts.invalidate(id); this.seen.clear(); }
         reload() { const c = this.app.get(Verdicts); c.clear(); this.app.get(Verdicts).invalidate('x'); }
       }`,
    );
    expect(cacheDrops([sample])).toEqual([
      'src/sample/sample.repository.ts: c.clear()',
      'src/sample/sample.repository.ts: get(TokenCache).invalidate()',
      'src/sample/sample.repository.ts: verdicts.invalidate()',
    ]);
  });
});
