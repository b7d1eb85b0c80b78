/**
 * `npm run lint` part: keeps the source tree's units small enough to read.
 * Fails when a file under src/ is longer than kMaxLines or a class declares
 * more than kMaxMembers methods (getters and setters count; fields do not).
 * The limits are issue 11's: a file over ~600 lines or a class over ~30
 * methods is usually two concepts (../shared/STYLE.md).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const kMaxLines = 600;
const kMaxMembers = 30;
const root = new URL('../src/', import.meta.url).pathname;

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

const problems: string[] = [];
for (const file of sourceFiles(root)) {
  const text = readFileSync(file, 'utf8');
  const name = relative(process.cwd(), file);
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > kMaxLines) problems.push(`${name}: ${lines} lines (at most ${kMaxLines})`);
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const visit = (node: ts.Node): void => {
    if (ts.isClassDeclaration(node) || ts.isClassExpression(node)) {
      const methods = node.members.filter((m) => ts.isMethodDeclaration(m) || ts.isGetAccessorDeclaration(m) || ts.isSetAccessorDeclaration(m)).length;
      if (methods > kMaxMembers) {
        const { line } = source.getLineAndCharacterOfPosition(node.getStart());
        problems.push(`${name}:${line + 1}: class ${node.name?.text ?? '(anonymous)'} has ${methods} methods (at most ${kMaxMembers})`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
}
for (const problem of problems) console.error(problem);
if (problems.length > 0) {
  console.error(`\n${problems.length} structure problem(s): split the file or class by concern.`);
  process.exit(1);
}
console.log('structure: every file and class within its limits');
