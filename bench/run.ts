/**
 * `npm run bench [-- filter...]`: runs the benchmark files, prints a table
 * with each impl's ratio against its case's first impl (microswarm), and
 * writes bench/results/latest.json.
 *
 * Files: every bench/*.bench.ts, in the order ask, tell, codec, then the rest
 * by name. A file's entry point is its `run(quick)` export, or
 * `runCodecBench(quick)` for codec.bench.ts. A filter argument keeps only the
 * files whose name contains it (`npm run bench -- ask`). A file that is
 * absent, has no entry point or throws is reported, and the others still run.
 *
 * `BENCH_QUICK=1` makes every file do a smoke run (the whole run under 90 s).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describeError, isFailed, quick, ratioBasis, speedupOfBaseline, type BenchRecord, type BenchResults } from './harness.js';

const benchDir = new URL('./', import.meta.url);
const resultsUrl = new URL('./results/latest.json', import.meta.url);

/** Files run first, in this order; any other *.bench.ts follows by name. */
const knownFiles = ['ask.bench.ts', 'tell.bench.ts', 'codec.bench.ts'];
/** Entry points, by precedence. */
const entryPoints = ['run', 'runCodecBench'] as const;

type EntryPoint = (quick: boolean) => Promise<unknown>;

// A worker that dies or a promise nobody awaited in one impl must not end the
// whole run: report it, let the impl's guard time out, and carry on.
process.on('unhandledRejection', (reason) => console.error(`unhandled rejection: ${describeError(reason)}`));
process.on('uncaughtException', (error) => console.error(`uncaught exception: ${describeError(error)}`));

async function main(): Promise<void> {
  const filters = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const present = (await readdir(benchDir)).filter((file) => file.endsWith('.bench.ts'));
  const files = [...knownFiles, ...present.filter((file) => !knownFiles.includes(file)).sort()].filter(
    (file) => filters.length === 0 || filters.some((filter) => file.includes(filter)),
  );
  if (files.length === 0) {
    console.error(`no bench file matches ${filters.join(', ')}`);
    process.exitCode = 1;
    return;
  }

  console.log(`microswarm benchmarks${quick ? ' (BENCH_QUICK=1)' : ''}: ${files.join(', ')}`);
  const records: BenchRecord[] = [];
  const problems: string[] = [];
  const started = performance.now();
  for (const file of files) {
    if (!present.includes(file)) {
      problems.push(`${file}: absent, skipped`);
      console.log(`\n${file}: absent, skipped`);
      continue;
    }
    console.log(`\n${file}`);
    const fileStarted = performance.now();
    try {
      const module = (await import(new URL(file, benchDir).href)) as Record<string, unknown>;
      const entryName = entryPoints.find((name) => typeof module[name] === 'function');
      if (entryName === undefined) {
        problems.push(`${file}: exports none of ${entryPoints.join(', ')}, skipped`);
        console.log(`  exports none of ${entryPoints.join(', ')}, skipped`);
        continue;
      }
      const result = await (module[entryName] as EntryPoint)(quick);
      const fileRecords = checkRecords(result);
      records.push(...fileRecords);
      const failed = fileRecords.filter(isFailed).length;
      console.log(`  ${fileRecords.length} records${failed ? `, ${failed} failed` : ''} in ${((performance.now() - fileStarted) / 1000).toFixed(1)} s`);
      if (failed) problems.push(`${file}: ${failed} impl(s) failed`);
    } catch (error) {
      problems.push(`${file}: failed: ${describeError(error)}`);
      console.error(`  failed: ${describeError(error)}`);
      if (error instanceof Error && error.stack) console.error(indent(error.stack, '    '));
    }
  }

  console.log(`\n${formatTable(records)}`);
  const cpuList = cpus();
  const results: BenchResults = {
    machine: {
      cpus: cpuList.length,
      model: cpuList[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
    },
    date: new Date().toISOString(),
    quick,
    records,
  };
  await mkdir(new URL('./', resultsUrl), { recursive: true });
  await writeFile(resultsUrl, `${JSON.stringify(results, null, 2)}\n`);
  console.log(
    `\nratio: how many times faster the case's first impl is than this one (>1: it wins), on p50 for latency cases,` +
      ` ops/s for throughput cases, value for whole-run cases.`,
  );
  console.log(`wrote ${fileURLToPath(resultsUrl)} in ${((performance.now() - started) / 1000).toFixed(1)} s total`);
  if (problems.length > 0) console.log(`\nproblems:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
}

/** Keeps well-formed records; a file returning something else is an error of that file. */
function checkRecords(result: unknown): BenchRecord[] {
  if (!Array.isArray(result)) throw new TypeError(`expected an array of records, got ${typeof result}`);
  for (const record of result) {
    const candidate = record as Partial<BenchRecord> | null;
    if (candidate === null || typeof candidate.case !== 'string' || typeof candidate.impl !== 'string') {
      throw new TypeError(`expected records with string case and impl, got ${JSON.stringify(record)}`);
    }
  }
  return result as BenchRecord[];
}

function formatTable(records: BenchRecord[]): string {
  const header = ['case', 'impl', 'ops/s', 'mean us', 'p50 us', 'p99 us', 'value', 'samples', 'ratio', 'note'];
  const rows: string[][] = [];
  const baselines = new Map<string, BenchRecord>();
  for (const record of records) {
    if (!baselines.has(record.case)) baselines.set(record.case, record);
    const baseline = baselines.get(record.case) as BenchRecord;
    const failed = isFailed(record);
    const ratio = record === baseline ? (failed ? '-' : `1.00 (${ratioBasis(record)})`) : formatRatio(speedupOfBaseline(baseline, record));
    rows.push([
      record.case,
      record.impl,
      failed ? '-' : formatNumber(record.opsPerSec, 0),
      failed ? '-' : formatNumber(record.meanUs),
      failed ? '-' : formatNumber(record.p50Us),
      failed ? '-' : formatNumber(record.p99Us),
      record.value === undefined ? '' : `${formatNumber(record.value)} ${record.unit ?? ''}`.trim(),
      String(record.samples),
      ratio,
      record.note ?? '',
    ]);
  }
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)));
  const numeric = new Set([2, 3, 4, 5, 6, 7]);
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

function formatRatio(ratio: number | undefined): string {
  return ratio === undefined ? 'n/a' : `${ratio.toFixed(2)}x`;
}

function formatNumber(value: number, digits = 2): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((lineText) => prefix + lineText)
    .join('\n');
}

try {
  await main();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
}
// Threads of an impl that hung (and were not torn down) must not keep the
// process alive once the results are written.
process.exit();
