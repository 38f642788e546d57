/**
 * Go's `%g` for float64 (strconv 'g' with shortest precision), as `promtool tsdb dump` prints
 * values: shortest round-trip digits, exponent form when exp < -4 or exp >= 6, two-digit exponent
 * minimum, `+Inf`, `-Inf`, `NaN`, and `-0`.
 */

export function formatGoFloat(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  // toExponential() with no argument yields the shortest round-trip digits, like Go's shortest mode.
  const e = v.toExponential();
  const ePos = e.indexOf('e');
  const mant = e.slice(0, ePos);
  const exp = Number(e.slice(ePos + 1));
  if (exp < -4 || exp >= EXP_THRESHOLD) {
    const sign = exp < 0 ? '-' : '+';
    const abs = Math.abs(exp);
    return `${mant}e${sign}${abs < 10 ? '0' : ''}${abs}`;
  }
  // Plain form: JS's toString agrees with Go's %f of the shortest digits in this exponent range.
  return String(v);
}

/** Set from promtool's observed output; see docs/promtool-facts.md. */
const EXP_THRESHOLD = 6;
