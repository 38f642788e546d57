/** The part of uPlot (loaded by the shell as the global `uPlot`) the pages use. */
interface UPlotSeries {
  label?: string;
  stroke?: string;
  width?: number;
  spanGaps?: boolean;
}

interface UPlotOptions {
  width: number;
  height: number;
  series: UPlotSeries[];
  scales?: Record<
    string,
    { time?: boolean; range?: (u: uPlot, min: number, max: number) => [number, number] }
  >;
  legend?: { show?: boolean };
  /** Seconds to the Date the axes show (default: the browser's time zone). */
  tzDate?: (ts: number) => Date;
}

declare class uPlot {
  constructor(opts: UPlotOptions, data: (number | null)[][], target: HTMLElement);
  setData(data: (number | null)[][]): void;
  setSize(size: { width: number; height: number }): void;
  destroy(): void;
  readonly root: HTMLElement;
  static tzDate(date: Date, tz: string): Date;
}
