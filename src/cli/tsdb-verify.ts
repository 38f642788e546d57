/** `strata tsdb verify BLOCK...`: a readable report; false when any block has an error. */
import { verifyBlock } from '../tsdb/verify/verify.js';
import { blockDirsOfOne } from './paths.js';

export async function runVerify(
  paths: readonly string[],
  o: { maxProblems: number },
  out: NodeJS.WritableStream,
): Promise<boolean> {
  let allOk = true;
  let n = 0;
  // Every path checked first: a typo in the last one fails before minutes of verification.
  const resolved: [string, string[]][] = [];
  for (const p of paths) resolved.push([p, await blockDirsOfOne(p)]);
  for (const [p, dirs] of resolved) {
    if (dirs.length === 0) {
      out.write(`${p}: no blocks found\n`);
      allOk = false;
      continue;
    }
    for (const dir of dirs) {
      n++;
      const v = await verifyBlock(dir, { maxProblems: o.maxProblems });
      const errors = v.problems.filter((x) => x.severity === 'error').length;
      const warnings = v.problems.length - errors;
      out.write(
        `${dir}: ${v.ok ? 'OK' : 'FAILED'} (${v.series} series, ${v.chunks} chunks, ${v.samples} samples` +
          `${errors ? `, ${errors} errors` : ''}${warnings ? `, ${warnings} warnings` : ''})\n`,
      );
      for (const pr of v.problems) out.write(`  ${pr.severity} [${pr.kind}] ${pr.message}\n`);
      if (!v.ok) allOk = false;
    }
  }
  out.write(`${n} block(s) checked: ${allOk ? 'all clean' : 'problems found'}\n`);
  return allOk;
}
