/**
 * A reader for TSPLIB symmetric TSP files with `EDGE_WEIGHT_TYPE: EUC_2D`
 * (G. Reinelt, "TSPLIB — A Traveling Salesman Problem Library", ORSA Journal
 * on Computing 3(4), 1991), and the table of published optimal tour lengths.
 *
 * The format's variants seen in the wild are accepted: `KEY: value` and
 * `KEY : value`, integer or real coordinates (`1 565.0 575.0`, `2 3.5e2 12`),
 * leading, trailing and repeated spaces or tabs, CRLF line ends, blank lines,
 * and an `EOF` line that may be missing. Anything else is refused with a
 * {@link TsplibError} naming the line and the value found there.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { MicroswarmError, describeValue } from '../../src/actor.js'; // loaded by the ants' and the colony's threads (problem.ts)

/** A TSPLIB file that cannot be read, or that is not a symmetric EUC_2D TSP. */
export class TsplibError extends MicroswarmError {
  /** The file (or the name given to the parser). */
  readonly file: string;
  /** The 1-based line the problem was found on, or 0 when it is about the whole file. */
  readonly line: number;
  constructor(file: string, line: number, problem: string, options?: { cause?: unknown }) {
    super(`${file}${line > 0 ? `:${line}` : ''}: ${problem}`, options);
    this.file = file;
    this.line = line;
  }
}

/** A parsed EUC_2D instance: city i (0-based here, 1-based in the file) is at (x[i], y[i]). */
export interface Instance {
  /** The NAME field, or the file's base name without `.tsp` when there is none. */
  name: string;
  comment: string;
  x: Float64Array;
  y: Float64Array;
}

/** Fewest cities this example solves: below that every tour is the same. */
const kMinCities = 4;
/** Most cities: the distance, heuristic and pheromone matrices take 12 bytes per pair (108 MB at 3,000). */
const kMaxCities = 3000;

/**
 * Optimal tour lengths published with TSPLIB (Reinelt's STSP table) for its
 * EUC_2D instances, by NAME. The gap to the optimum is shown for these.
 */
export const knownOptima: Readonly<Record<string, number>> = {
  eil51: 426,
  berlin52: 7542,
  st70: 675,
  eil76: 538,
  pr76: 108159,
  rat99: 1211,
  kroA100: 21282,
  rd100: 7910,
  eil101: 629,
  lin105: 14379,
  ch130: 6110,
  ch150: 6528,
  d198: 15780,
  a280: 2579,
  lin318: 42029,
  pcb442: 50778,
};

/** TSPLIB's EUC_2D distance: the Euclidean distance rounded to the nearest integer (`nint`). */
export function euc2d(instance: Instance, i: number, j: number): number {
  const dx = instance.x[i] - instance.x[j];
  const dy = instance.y[i] - instance.y[j];
  return Math.round(Math.sqrt(dx * dx + dy * dy));
}

/** Reads and parses a `.tsp` file; a missing or unreadable file is a TsplibError too. */
export function readTsplib(path: string): Instance {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new TsplibError(path, 0, `cannot read the file (${code})`, { cause: error });
  }
  return parseTsplib(text, path);
}

/** Parses the text of a TSPLIB file; `file` names it in errors and gives the fallback name. */
export function parseTsplib(text: string, file = 'input'): Instance {
  const headers = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  let at = 0;
  // The specification part: KEY : value lines up to the data section.
  for (; at < lines.length; at++) {
    const line = lines[at].trim();
    if (line === '') continue;
    if (line === 'EOF') break;
    const keyword = /^([A-Z_0-9]+)\s*(?::\s*(.*))?$/.exec(line);
    if (keyword === null) throw new TsplibError(file, at + 1, `expected \`KEY : value\` or a section name, got ${describeValue(line)}`);
    const [, key, value] = keyword;
    if (key === 'NODE_COORD_SECTION') break;
    if (key.endsWith('_SECTION')) throw new TsplibError(file, at + 1, `only NODE_COORD_SECTION is read, got ${describeValue(key)}`);
    if (value === undefined) throw new TsplibError(file, at + 1, `expected a value after ${key}, got ${describeValue(line)}`);
    headers.set(key, value.trim());
  }
  const type = headers.get('TYPE');
  if (type !== 'TSP') throw new TsplibError(file, 0, `expected TYPE: TSP (a symmetric travelling salesman problem), got ${describeValue(type)}`);
  const weights = headers.get('EDGE_WEIGHT_TYPE');
  if (weights !== 'EUC_2D') throw new TsplibError(file, 0, `expected EDGE_WEIGHT_TYPE: EUC_2D, got ${describeValue(weights)}`);
  const dimension = Number(headers.get('DIMENSION'));
  if (!Number.isInteger(dimension) || dimension < kMinCities || dimension > kMaxCities) {
    throw new TsplibError(
      file,
      0,
      `expected DIMENSION to be an integer from ${kMinCities} to ${kMaxCities}, got ${describeValue(headers.get('DIMENSION'))}`,
    );
  }
  if (at >= lines.length || lines[at].trim() !== 'NODE_COORD_SECTION') throw new TsplibError(file, 0, 'no NODE_COORD_SECTION');

  const x = new Float64Array(dimension);
  const y = new Float64Array(dimension);
  const seen = new Uint8Array(dimension);
  let count = 0;
  for (at++; at < lines.length; at++) {
    const line = lines[at].trim();
    if (line === '') continue;
    if (line === 'EOF') break;
    const fields = line.split(/\s+/);
    const city = Number(fields[0]);
    if (fields.length !== 3 || !Number.isInteger(city) || !Number.isFinite(Number(fields[1])) || !Number.isFinite(Number(fields[2]))) {
      throw new TsplibError(file, at + 1, `expected \`city x y\` (a city number and two numbers), got ${describeValue(line)}`);
    }
    if (city < 1 || city > dimension) throw new TsplibError(file, at + 1, `expected a city number from 1 to ${dimension}, got ${describeValue(city)}`);
    if (seen[city - 1] === 1) throw new TsplibError(file, at + 1, `city ${city} appears twice`);
    seen[city - 1] = 1;
    x[city - 1] = Number(fields[1]);
    y[city - 1] = Number(fields[2]);
    count++;
  }
  if (count !== dimension) throw new TsplibError(file, 0, `DIMENSION is ${dimension} but NODE_COORD_SECTION has ${count} cities`);
  const name = headers.get('NAME') || basename(file).replace(/\.tsp$/i, '');
  return { name, comment: headers.get('COMMENT') ?? '', x, y };
}
